"""`pangeoctl cost`: what the platform costs per month, idle and in use, before anything is created."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from pangeoctl.cli._common import DEFAULT_CONFIG, EXIT_USAGE, CloudOpt, ConfigOpt, JsonOpt, fail, load_config

Opt = typer.Option


def cost(
    config: ConfigOpt = DEFAULT_CONFIG,
    cloud: CloudOpt = None,
    users: Annotated[int, Opt(help="Active users in a month.")] = 10,
    hours_per_week: Annotated[float, Opt(help="Hours each user's server runs per week.")] = 10,
    dask_core_hours: Annotated[float, Opt(help="Dask worker core-hours per month, all users together.")] = 500,
    as_json: JsonOpt = False,
) -> None:
    """Estimate the monthly cost: the always-on part (control plane, core pool, load balancer, disks),
    which is what the platform costs when nobody is logged in, and the usage part (user servers, Dask
    workers, home storage). List prices from the table shipped with pangeoctl (its source and date shown).
    """
    from pangeoctl.cost import estimate

    cfg = load_config(config, cloud)
    try:
        est = estimate(cfg, users=users, hours_per_week=hours_per_week, dask_core_hours=dask_core_hours)
    except ValueError as e:
        fail(str(e), EXIT_USAGE)
    if as_json:
        print(json.dumps(est.as_dict(), indent=2))
        return
    print(f"{cfg.name} on {cfg.cloud} — monthly estimate (USD, list prices)")
    for part in ("always-on", "usage"):
        print(f"  {part}:")
        for line in (x for x in est.lines if x.part == part):
            print(f"    {line.item:18} {line.monthly:10,.2f}   {line.detail}")
    print(f"  idle (nobody logged in): {est.idle:,.2f}/month")
    print(
        f"  total:                   {est.total:,.2f}/month   (per user-hour {est.per_user_hour:.3f}, per Dask core-hour {est.per_dask_core_hour:.4f})"
    )
    for note in est.notes:
        print(f"  note: {note}")
    print(f"  prices: {est.source}")
