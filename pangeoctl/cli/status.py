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
        _kube(cfg, as_json)
        return
    from pangeoctl.local import platform

    s = platform.status(cfg)
    lines = [f"{cfg.name} (local) — {'up' if s['up'] else 'down'} at {s['url']}"]
    lines += [
        f"  {n:8} pid {p['pid'] or '-':>7}  port {p['port']:>5}  {'healthy' if p['healthy'] else 'NOT healthy'}" for n, p in s["processes"].items()
    ]
    lines.append(f"  users: {', '.join(u['name'] + (' (server running)' if u['server'] else '') for u in s['users']) or 'none'}")
    lines += [f"  dask cluster {c['name']} of {c['user']}: {c['status']}, {c['workers']} workers" for c in s["clusters"]]
    lines.append(f"  log: {s['log']}")
    _show(s, lines, as_json, healthy=s["up"] and all(p["healthy"] for p in s["processes"].values()))


def _show(s: dict, lines: list[str], as_json: bool, *, healthy: bool) -> None:
    print(json.dumps(s, indent=2) if as_json else "\n".join(lines))
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
    lines = [f"{cfg.name} ({cfg.cloud}) — {'up' if s['up'] else 'not up'}; hub: {s['url'] or 'no address yet'}"]
    lines += [f"  pool {pool:8} {n['ready']}/{n['nodes']} nodes ready" for pool, n in s["pools"].items()]
    lines += [f"  {kind:24} {n['running']}/{n['total']} running" for kind, n in s["pods"].items()]
    _show(s, lines, as_json, healthy=s["up"])
