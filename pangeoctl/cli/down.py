"""`pangeoctl down`: stop the platform; keep user data unless told otherwise."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from pangeoctl.cli._common import DEFAULT_CONFIG, EXIT_FAILED, EXIT_USAGE, CloudOpt, ConfigOpt, DryRunOpt, edge, err, fail, load_config, runner_for

Opt = typer.Option


def down(
    config: ConfigOpt = DEFAULT_CONFIG,
    cloud: CloudOpt = None,
    dry_run: DryRunOpt = False,
    purge: Annotated[bool, Opt("--purge", "--purge-data", help="Also delete user homes, the hub database and users' scratch bucket with its identity (local: the whole state dir).")] = False,
    delete_cluster: Annotated[bool, Opt("--delete-cluster", help="Also delete the Kubernetes cluster (never for `existing`).")] = False,
    verify: Annotated[bool, Opt("--verify", help="Afterwards, list what is still there and may bill or hold data, with prices.")] = False,
    yes: Annotated[bool, Opt("--yes", "-y", help="Do not ask before destroying data (e.g. homes deleted with an AKS cluster).")] = False,
) -> None:
    """Stop the platform. Homes and the hub database are kept unless --purge.

    Local: stops the hub and everything it started (proxy, gateway, servers,
    Dask clusters); no process or port is left. Clouds: uninstalls the release
    first (its load balancer could block cluster deletion), then --delete-cluster.
    """
    cfg = load_config(config, cloud, quiet=True)
    target, site = edge(cfg)
    runner = runner_for(dry_run)
    loss = target.destroys(cfg, delete_cluster=delete_cluster)
    if loss and not dry_run and not yes:
        err(loss)
        if not sys.stdin.isatty() or not typer.confirm("delete it anyway?", default=False):
            fail("nothing was changed — rerun with --yes to delete anyway", EXIT_USAGE)
    said = target.down(cfg, site, runner, print if dry_run else err, purge=purge, delete_cluster=delete_cluster)
    if dry_run:
        return
    print(f"{cfg.name} is down ({'; '.join(said)})." if said else f"{cfg.name} is down.")
    left = target.leftovers(cfg, site, runner) if verify else []
    for line in left:
        print(f"still there: {line}")
    if left:
        raise typer.Exit(EXIT_FAILED)
