"""`pangeoctl check`: prove the platform works on real work, headless."""

from __future__ import annotations

import json

from pangeoctl.cli._common import DEFAULT_CONFIG, EXIT_FAILED, EXIT_USAGE, ConfigOpt, JsonOpt, err, fail, load_config


def check(config: ConfigOpt = DEFAULT_CONFIG, as_json: JsonOpt = False) -> None:
    """Log in as a temporary user, start a server, run the Landsat NDVI notebook on Dask Gateway
    workers (against the sample catalog, read with HTTP range requests), report pass/fail with timings,
    and remove the user. Exit 0 on pass, 1 on fail.
    """
    cfg = load_config(config, quiet=True)
    try:
        from pangeoctl.checks import CheckError, admin_token_from_cluster, run, run_local
    except ImportError as e:
        fail(f"check needs the geo stack: pip install 'pangeoctl[local,geo]' ({e.name} is missing)", EXIT_USAGE)
    try:
        result = run_local(cfg, err) if cfg.cloud == "local" else _run_cloud(cfg, run, admin_token_from_cluster)
    except CheckError as e:
        fail(str(e), EXIT_FAILED)
    if as_json:
        print(json.dumps(result.__dict__, indent=2))
    else:
        for name, secs in result.steps.items():
            print(f"  {secs:6.2f} s  {name}")
        print("PASS" if result.ok else f"FAIL: {result.error}")
    if not result.ok:
        raise SystemExit(EXIT_FAILED)


def _run_cloud(cfg, run, admin_token_from_cluster):  # noqa: ANN001, ANN202
    """On a cloud hub: its public address and the service token from the cluster; the notebook's default catalog."""
    from pangeoctl.deploy import check_tools, deploy_dir
    from pangeoctl.kube_status import status as kube_status
    from pangeoctl.runner import MissingTool, RealRunner, RunError

    runner = RealRunner()
    try:
        check_tools(cfg, runner)
        url = kube_status(cfg, runner, deploy_dir(cfg))["url"]
        if not url:
            fail("the hub has no public address yet — see `pangeoctl status`", EXIT_FAILED)
        return run(url, admin_token_from_cluster(cfg, runner, deploy_dir(cfg)), {}, err)
    except MissingTool as e:
        fail(str(e), EXIT_USAGE)
    except RunError as e:
        fail(str(e), EXIT_FAILED)
