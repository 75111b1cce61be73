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
        cfg, warnings = load_with_warnings(path)
        if cloud is not None and cloud != cfg.cloud:
            # Re-validate with the override so cross-field checks see the cloud that will be used.
            text = path.read_text()
            from ruamel.yaml import YAML

            doc = YAML(typ="rt").load(text) or {}
            doc["cloud"] = cloud
            import io

            buf = io.StringIO()
            YAML(typ="rt").dump(doc, buf)
            cfg, warnings = load_with_warnings(path, text=buf.getvalue())
    except ConfigError as e:
        for p in e.problems:
            err(p.format(e.filename))
        raise typer.Exit(EXIT_USAGE) from None
    if cfg.cloud in ("gcp", "aws", "azure"):
        from pangeoctl.config import locate
        from pangeoctl.cost import warnings as cost_warnings

        warnings = warnings + locate(path, cost_warnings(cfg))
    if not quiet:
        for w in warnings:
            err(w.format(str(path)))
    return cfg
