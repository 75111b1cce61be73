"""What every command shares: the -c/--config option, loading with clean errors, exit codes, output."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from pangeoctl.config import ConfigError

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

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


def load_config(path: Path, cloud: str | None = None, *, quiet: bool = False):  # -> Config
    """Load and validate; on a bad file print every problem (``FILE:LINE field: …``) and exit 2."""
    from pangeoctl.config import CLOUDS, load_with_warnings

    if cloud is not None and cloud not in CLOUDS:
        fail(f"--cloud {cloud!r} is not one of {', '.join(CLOUDS)}", EXIT_USAGE)
    try:
        cfg, warnings = load_with_warnings(path, cloud=cloud, more_checks=_cost_checks)
    except ConfigError as e:
        for p in e.problems:
            err(p.format(e.filename))
        raise typer.Exit(EXIT_USAGE) from None
    if not quiet:
        for w in warnings:
            err(w.format(str(path)))
    return cfg


def _cost_checks(cfg):  # noqa: ANN001, ANN202
    """Budget and data-proximity warnings; imported only for clouds that bill."""
    if cfg.cloud not in ("gcp", "aws", "azure"):
        return []
    from pangeoctl.cost import warnings

    return warnings(cfg)
