"""The command tree: one module per command, assembled in :func:`create_app`."""

from __future__ import annotations

import typer

HELP = """Your research group's Pangeo platform — JupyterHub + Dask Gateway next to the cloud data — from one pangeo.yaml.

Start here:  pangeoctl init --cloud local   then   pangeoctl up
"""


def create_app() -> typer.Typer:
    from pangeoctl.cli import check, cost, doctor, down, image, init, logs, render, status, up, validate

    app = typer.Typer(
        help=HELP, no_args_is_help=True, add_completion=False, rich_markup_mode=None, context_settings={"help_option_names": ["-h", "--help"]}
    )
    app.command(rich_help_panel="Configure")(init.init)
    app.command(rich_help_panel="Configure")(validate.validate)
    app.command(rich_help_panel="Configure")(render.render)
    app.command(rich_help_panel="Configure")(cost.cost)
    app.command(rich_help_panel="Run")(up.up)
    app.command(rich_help_panel="Run")(down.down)
    app.command(rich_help_panel="Run")(status.status)
    app.command(rich_help_panel="Run")(logs.logs)
    app.command(rich_help_panel="Run")(check.check)
    app.command(rich_help_panel="Run")(doctor.doctor)
    app.add_typer(image.app, name="image", rich_help_panel="Build")
    app.command(rich_help_panel="Run")(version)
    return app


def version() -> None:
    """Print pangeoctl's version and the chart versions it deploys."""
    from pangeoctl import __version__

    print(f"pangeoctl {__version__} (jupyterhub chart 4.4.0, dask-gateway chart 2026.3.0)")


def main() -> None:
    create_app()(prog_name="pangeoctl")
