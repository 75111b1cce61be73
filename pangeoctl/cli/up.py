"""`pangeoctl up`: bring the platform up — locally, or cluster + JupyterHub + Dask Gateway on a cloud."""

from __future__ import annotations

from typing import Annotated

import typer

from pangeoctl.cli._common import DEFAULT_CONFIG, CloudOpt, ConfigOpt, DryRunOpt, edge, err, load_config, runner_for


def up(
    config: ConfigOpt = DEFAULT_CONFIG,
    cloud: CloudOpt = None,
    dry_run: DryRunOpt = False,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the local platform to be ready.")] = 120,
) -> None:
    """Bring the platform described by pangeo.yaml up. Safe to rerun: only what changed is changed.

    --cloud local (the default) starts a real JupyterHub + Dask Gateway on this
    machine, bound to 127.0.0.1. With no pangeo.yaml yet, one with local defaults
    is written first.

    On gcp/aws/azure/kind/minikube/existing it creates the cluster and node pools
    if missing, then installs or upgrades the helm/pangeo release. --dry-run prints
    every command and runs none.
    """
    if not config.exists() and not dry_run:
        from pangeoctl.templates import starter

        text = starter(cloud)
        if text is not None:
            config.write_text(text)
            err(f"no {config} yet: wrote one with local defaults (edit it and rerun `pangeoctl up` to apply changes)")
    cfg = load_config(config, cloud)
    target, site = edge(cfg, choose_ports=not dry_run)
    plan = target.plan(cfg, site)
    say = (lambda m: print(m if m.startswith("#") else f"# {m}")) if dry_run else err
    for note in plan.notes:
        say(note)
    outcome = target.apply(plan, runner_for(dry_run), say, timeout=timeout)
    if outcome.changed == "planned":
        return
    verb = {"started": "is up", "restarted": "restarted with the new config", "unchanged": "is already up; nothing changed", "applied": "is up"}
    print(f"{cfg.name} {verb[outcome.changed]}: {outcome.url or 'no public address yet — `pangeoctl status` shows it'}")
    for line in outcome.lines:
        print(line)
