"""`pangeoctl validate`: check a pangeo.yaml and what it renders, before anything is created."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from pangeoctl.cli._common import DEFAULT_CONFIG, CloudOpt, ConfigOpt, load_config


def validate(
    config: ConfigOpt = DEFAULT_CONFIG,
    cloud: CloudOpt = None,
    schema: Annotated[bool, typer.Option("--schema", help="Print the JSON schema of pangeo.yaml (for editors) and exit.")] = False,
) -> None:
    """Check pangeo.yaml: every field, then what only shows across fields.

    Exit 0 with a one-line summary, or 2 with one line per problem:
    FILE:LINE field.path: what is wrong — how to fix.
    """
    if schema:
        from pangeoctl.config import json_schema

        print(json.dumps(json_schema(), indent=2))
        return
    from pangeoctl.targets import target_for

    cfg = load_config(config, cloud)
    pools = (
        ", ".join(
            f"{n} {p.machine_type or ''} {p.min_nodes}–{p.max_nodes}{' spot' if p.spot else ''}".replace("  ", " ") for n, p in cfg.pools().items()
        )
        if target_for(cfg).kubernetes
        else "no Kubernetes"
    )
    print(f"{config}: ok — {cfg.name} on {cfg.cloud}, {cfg.hub.auth.type} login, {len(cfg.hub.profiles)} profiles; pools: {pools}")
