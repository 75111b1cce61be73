"""`pangeoctl down`: stop the platform; keep user data unless told otherwise."""

from __future__ import annotations

from typing import Annotated

import typer

from pangeoctl.cli._common import DEFAULT_CONFIG, EXIT_FAILED, EXIT_USAGE, CloudOpt, ConfigOpt, DryRunOpt, err, fail, load_config

Opt = typer.Option


def down(
    config: ConfigOpt = DEFAULT_CONFIG,
    cloud: CloudOpt = None,
    dry_run: DryRunOpt = False,
    purge: Annotated[bool, Opt("--purge", "--purge-data", help="Also delete user homes and the hub database (local: the whole state dir).")] = False,
    delete_cluster: Annotated[bool, Opt("--delete-cluster", help="Also delete the Kubernetes cluster (never for `existing`).")] = False,
    verify: Annotated[bool, Opt("--verify", help="Afterwards, list cloud resources still tagged for this platform.")] = False,
) -> None:
    """Stop the platform. Homes and the hub database are kept unless --purge.

    Local: stops the hub and everything it started (proxy, gateway, servers,
    Dask clusters); no process or port is left. Clouds: uninstalls the release
    first (its load balancer could block cluster deletion), then --delete-cluster.
    """
    cfg = load_config(config, cloud, quiet=True)
    if cfg.cloud == "local":
        from pangeoctl.local import platform

        if dry_run:
            print("would stop the hub and every process it started; " + ("and delete the state dir" if purge else "state is kept"))
            return
        try:
            stopped = platform.down(cfg, err, purge=purge)
        except platform.LocalError as e:
            fail(str(e), EXIT_FAILED)
        print(f"{cfg.name} is down ({len(stopped)} processes stopped)." if stopped else f"{cfg.name} was not running.")
        return
    from pangeoctl import deploy
    from pangeoctl.runner import DryRunRunner, MissingTool, RealRunner, RunError

    runner = DryRunRunner(print) if dry_run else RealRunner(echo=err)
    try:
        left = deploy.down(cfg, runner, err, delete_cluster=delete_cluster, purge_data=purge, verify=verify and not dry_run)
    except ValueError as e:
        fail(str(e), EXIT_USAGE)
    except MissingTool as e:
        fail(str(e), EXIT_USAGE)
    except RunError as e:
        fail(f"down stopped: {e}", EXIT_FAILED)
    for line in left:
        print(f"still there: {line}")
    if left:
        raise typer.Exit(EXIT_FAILED)
