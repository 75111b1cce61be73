"""`pangeoctl up`: bring the platform up — locally, or cluster + JupyterHub + Dask Gateway on a cloud."""

from __future__ import annotations

from typing import Annotated

import typer

from pangeoctl.cli._common import DEFAULT_CONFIG, EXIT_FAILED, EXIT_USAGE, CloudOpt, ConfigOpt, DryRunOpt, err, fail, load_config


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
    if not config.exists() and cloud in (None, "local"):
        from pangeoctl.templates import init_text

        config.write_text(init_text(cloud="local", name="pangeo", github_orgs=[], github_client_id=None, domain=None, email=None))
        err(f"no {config} yet: wrote one with local defaults (edit it and rerun `pangeoctl up` to apply changes)")
    cfg = load_config(config, cloud)
    if cfg.cloud == "local":
        _up_local(cfg, dry_run, timeout)
        return
    from pangeoctl import deploy
    from pangeoctl.runner import DryRunRunner, MissingTool, RealRunner, RunError

    runner = DryRunRunner(print) if dry_run else RealRunner(echo=err)
    if cfg.cloud in ("gcp", "aws", "azure"):
        from pangeoctl.cost import estimate

        est = estimate(cfg)
        say = (lambda m: print(f"# {m}")) if dry_run else err
        say(f"cost: ~${est.idle:,.0f}/month idle, ~${est.total:,.0f}/month at 10 users × 10 h/week (details: pangeoctl cost)")
    try:
        plan = deploy.up(cfg, runner, err if not dry_run else (lambda m: print(f"# {m}")), write=not dry_run)
    except MissingTool as e:
        fail(str(e), EXIT_USAGE)
    except RunError as e:
        fail(f"up stopped: {e}", EXIT_FAILED)
    except LookupError as e:  # a secret reference that does not resolve
        fail(f"up stopped: {e.args[0]}", EXIT_USAGE)
    if not dry_run:
        from pangeoctl.kube_status import status as kube_status

        url = kube_status(cfg, runner, deploy.deploy_dir(cfg))["url"]
        print(f"{cfg.name} is up on {cfg.cloud} ({len(plan.commands)} steps). Hub: {url or 'no public address yet — `pangeoctl status` shows it'}")
        if cfg.hub.domain:
            print(f"point DNS for {cfg.hub.domain} at the proxy-public service's address; HTTPS certificates follow once it resolves")


def _up_local(cfg, dry_run: bool, timeout: float) -> None:
    from pangeoctl.local import platform

    if dry_run:
        from pangeoctl.local.layout import layout_for

        layout = layout_for(cfg, resolve_ports=False)
        print(f"would start JupyterHub (+ proxy, Dask Gateway, idle culler) from {layout.state / 'jupyterhub_config.py'} on {layout.url}")
        return
    try:
        result = platform.up(cfg, err, timeout=timeout)
    except platform.LocalError as e:
        fail(str(e), EXIT_FAILED)
    verb = {"started": "is up", "restarted": "restarted with the new config", "unchanged": "is already up; nothing changed"}[result.changed]
    print(f"{cfg.name} {verb}: {result.url}  ({result.seconds:.1f} s)")
    if result.changed != "unchanged":
        who = "any user name" if getattr(cfg.hub.auth, "allow_all", False) else f"one of {', '.join(cfg.hub.auth.users)}"
        where = f"the file {result.password_file}" if result.password_file else "the reference in pangeo.yaml"
        print(f"log in as {who} (admin: {', '.join(cfg.hub.auth.admins)}); the password is in {where}")
        print(f"state, logs and homes: {result.state}   stop with: pangeoctl down")
