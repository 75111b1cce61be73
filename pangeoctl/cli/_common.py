"""What every command shares: the options, loading the config, the edge where Site and Target are made."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from pangeoctl.cli._errors import EXIT_FAILED, EXIT_OK, EXIT_USAGE

if TYPE_CHECKING:
    from pangeoctl.config import Config
    from pangeoctl.site import Site
    from pangeoctl.targets import Target

__all__ = ["EXIT_FAILED", "EXIT_OK", "EXIT_USAGE"]

ConfigOpt = Annotated[Path, typer.Option("--config", "-c", help="The platform's pangeo.yaml.", show_default=True)]
DEFAULT_CONFIG = Path("pangeo.yaml")
CloudOpt = Annotated[
    str | None,
    typer.Option("--cloud", help="Override `cloud:` of the file: gcp, aws, azure, kind, minikube, local or existing."),
]
DryRunOpt = Annotated[bool, typer.Option("--dry-run", help="Print the exact commands, shell-quoted, and run nothing.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


def err(message: str) -> None:
    print(message, file=sys.stderr)


def fail(message: str, code: int = EXIT_FAILED) -> NoReturn:
    err(message)
    raise typer.Exit(code)


def load_config(path: Path, cloud: str | None = None, *, quiet: bool = False) -> Config:
    """Load and validate (a bad file raises ConfigError: every problem as ``FILE:LINE field: …``, exit 2)."""
    from pangeoctl.config import CLOUDS, load_with_warnings

    if cloud is not None and cloud not in CLOUDS:
        fail(f"--cloud {cloud!r} is not one of {', '.join(CLOUDS)}", EXIT_USAGE)
    from pangeoctl.machines import Machine
    from pangeoctl.targets import target_for

    site = current_site()
    host = Machine("this computer", site.cpus, site.memory)
    cfg, warnings = load_with_warnings(path, cloud=cloud, more_checks=lambda c: target_for(c).warnings(c, site), host=host)
    if not quiet:
        for w in warnings:
            err(w.format(str(path)))
    return cfg


def current_site() -> Site:
    """This machine's Site — the one place the environment is read (at the edge of each command)."""
    from pangeoctl.site import Site

    return Site.current()


def edge(cfg: Config, *, choose_ports: bool = False) -> tuple[Target, Site]:
    """The target for ``cfg`` and the Site completed with the deployment's own facts (its ports)."""
    from pangeoctl.targets import target_for

    target = target_for(cfg)
    return target, target.locate(cfg, current_site(), choose_ports=choose_ports)


def runner_for(dry_run: bool, echo_to_stderr: bool = True):  # noqa: ANN201
    """The dry-run runner prints to stdout (so it can be piped into a review); the real one tells stderr."""
    from pangeoctl.runner import DryRunRunner, RealRunner

    if dry_run:
        return DryRunRunner(print)
    return RealRunner(echo=err) if echo_to_stderr else RealRunner()
