"""`pangeoctl status`: is it up, which processes, users, servers, Dask clusters."""

from __future__ import annotations

import json

from pangeoctl.cli._common import DEFAULT_CONFIG, EXIT_USAGE, CloudOpt, ConfigOpt, JsonOpt, fail, load_config


def status(config: ConfigOpt = DEFAULT_CONFIG, cloud: CloudOpt = None, as_json: JsonOpt = False) -> None:
    """Show the platform: each process (pid, port, healthy?), users, running servers, Dask clusters and workers.

    Exit 0 when everything is healthy, 1 otherwise.
    """
    cfg = load_config(config, cloud, quiet=True)
    if cfg.cloud != "local":
        fail(
            "status of cloud platforms reads the cluster through the Kubernetes API; that part is not built yet — "
            "use `kubectl --kubeconfig <state dir>/kubeconfig -n NAME get pods`",
            EXIT_USAGE,
        )
    from pangeoctl.local import platform

    s = platform.status(cfg)
    healthy = s["up"] and all(p["healthy"] for p in s["processes"].values())
    if as_json:
        print(json.dumps(s, indent=2))
    else:
        print(f"{cfg.name} (local) — {'up' if s['up'] else 'down'} at {s['url']}")
        for name, p in s["processes"].items():
            print(f"  {name:8} pid {p['pid'] or '-':>7}  port {p['port']:>5}  {'healthy' if p['healthy'] else 'NOT healthy'}")
        print(f"  users: {', '.join(u['name'] + (' (server running)' if u['server'] else '') for u in s['users']) or 'none'}")
        for c in s["clusters"]:
            print(f"  dask cluster {c['name']} of {c['user']}: {c['status']}, {c['workers']} workers")
        print(f"  log: {s['log']}")
    if not healthy:
        raise SystemExit(1)


def _kube(cfg, as_json: bool) -> None:  # noqa: ANN001
    from pangeoctl.deploy import check_tools, deploy_dir
    from pangeoctl.kube_status import status as kube_status
    from pangeoctl.runner import MissingTool, RealRunner

    runner = RealRunner()
    try:
        check_tools(cfg, runner)
    except MissingTool as e:
        fail(str(e), EXIT_USAGE)
    s = kube_status(cfg, runner, deploy_dir(cfg))
    if as_json:
        print(json.dumps(s, indent=2))
    else:
        print(f"{cfg.name} ({cfg.cloud}) — {'up' if s['up'] else 'not up'}; hub: {s['url'] or 'no address yet'}")
        for pool, n in s["pools"].items():
            print(f"  pool {pool:8} {n['ready']}/{n['nodes']} nodes ready")
        for kind, n in s["pods"].items():
            print(f"  {kind:24} {n['running']}/{n['total']} running")
    if not s["up"]:
        raise SystemExit(1)
