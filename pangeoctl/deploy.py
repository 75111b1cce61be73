"""Apply a plan to a Kubernetes cloud: check the tools, then run each command through the runner.

``up`` renders into the deployment's state dir (so the files the commands name exist), and runs the
plan's commands in order; the first failure stops everything after it. ``down`` uninstalls the release
first, then (when asked) deletes the cluster, then lists what may still bill.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from pangeoctl import clouds, helm
from pangeoctl.config import Config, GitHubAuth
from pangeoctl.render import Plan, render_plan, write_plan
from pangeoctl.runner import Command, DryRunRunner, MissingTool, Runner, install_hint, read_secret

Echo = Callable[[str], None]


def deploy_dir(cfg: Config) -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir("pangeoctl")) / cfg.name / cfg.cloud


def missing_tools(cfg: Config, runner: Runner) -> list[str]:
    return [t for t in clouds.get(cfg.cloud).tools if runner.which(t) is None]


def check_tools(cfg: Config, runner: Runner) -> None:
    """Every CLI the cloud needs, found up front; the first missing one is reported with its install hint."""
    for tool in missing_tools(cfg, runner)[:1]:
        raise MissingTool(tool, install_hint(tool))


def check_secrets(cfg: Config) -> None:
    """Every secret reference resolves — checked before the first command, so a missing one changes nothing."""
    auth = cfg.hub.auth
    if isinstance(auth, GitHubAuth):
        read_secret(auth.client_secret.env, auth.client_secret.file)


def up(cfg: Config, runner: Runner, echo: Echo, *, out: Path | None = None, write: bool = True) -> Plan:
    out = out or deploy_dir(cfg)
    plan = render_plan(cfg, out)
    if isinstance(runner, DryRunRunner):
        missing = missing_tools(cfg, runner)
        if missing:
            echo(f"note: not installed here: {', '.join(missing)} (needed to run these for real)")
    else:
        check_tools(cfg, runner)
        check_secrets(cfg)
    if write:
        write_plan(plan, out)
    for i, cmd in enumerate(plan.commands, 1):
        if cmd.argv[:4] == ("helm", "upgrade", "--install", cfg.name) and not isinstance(runner, DryRunRunner):
            show_changes(cfg, runner, echo, out)
        echo(f"[{i}/{len(plan.commands)}] {cmd.why}")
        runner.run(cmd)
    return plan


def show_changes(cfg: Config, runner: Runner, echo: Echo, out: Path) -> None:
    """Before upgrading a running release, show what changes in its values (nothing on a first install)."""
    import json

    from pangeoctl.render.values import render_values

    res = runner.run(helm.get_values(cfg, clouds.get(cfg.cloud).handle(cfg, out)), check=False)
    if res.returncode != 0 or not res.stdout.strip():
        return
    diff = helm.values_diff(json.loads(res.stdout), render_values(cfg))
    echo(f"changes to the running release:\n{diff}" if diff else "release values unchanged; helm will only reconcile")


def down_commands(cfg: Config, *, delete_cluster: bool, purge_data: bool, out: Path | None = None) -> list[Command]:
    cloud = clouds.get(cfg.cloud)
    handle = cloud.handle(cfg, out or deploy_dir(cfg))
    cmds = helm.uninstall(cfg, handle, purge_data=purge_data)
    if delete_cluster:
        if not cloud.owns_cluster:
            raise ValueError(f"cloud {cfg.cloud!r} never deletes the cluster it was given — remove --delete-cluster")
        cmds += cloud.delete(cfg, handle)
    return cmds


def down(cfg: Config, runner: Runner, echo: Echo, *, delete_cluster: bool, purge_data: bool, verify: bool, out: Path | None = None) -> list[str]:
    check_tools(cfg, runner)
    cmds = down_commands(cfg, delete_cluster=delete_cluster, purge_data=purge_data, out=out)
    for i, cmd in enumerate(cmds, 1):
        echo(f"[{i}/{len(cmds)}] {cmd.why}")
        runner.run(cmd)
    leftovers: list[str] = []
    if verify:
        for cmd in clouds.get(cfg.cloud).leftovers(cfg):
            found = runner.run(cmd, check=False).stdout.strip()
            if found:
                leftovers += [f"{cmd.why}: {line}" for line in found.splitlines()]
    return leftovers
