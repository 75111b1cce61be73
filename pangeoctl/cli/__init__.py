"""The command tree: one module per command, assembled in :func:`create_app`."""

from __future__ import annotations

import typer

HELP = """Your research group's Pangeo platform — JupyterHub + Dask Gateway next to the cloud data — from one pangeo.yaml.

Start here:  pangeoctl init --cloud local   then   pangeoctl up
"""


def create_app() -> typer.Typer:
    from pangeoctl.cli import check, cost, doctor, down, image, init, logs, render, status, up, validate
    from pangeoctl.cli._errors import guarded

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
    for group in (app, image.app):  # one error boundary for every command (cli/_errors.py)
        for info in group.registered_commands:
            if info.callback is not None:
                info.callback = guarded(info.callback)
    return app


def version() -> None:
    """Print pangeoctl's version and the chart versions it deploys."""
    from pangeoctl import __version__
    from pangeoctl.resources import chart_versions

    charts = ", ".join(f"{name} chart {v}" for name, v in chart_versions().items())
    print(f"pangeoctl {__version__} ({charts})")


def main() -> None:
    import sys

    hint = _config_as_argument(sys.argv[1:])
    if hint:
        print(hint, file=sys.stderr)
        raise SystemExit(2)
    create_app()(prog_name="pangeoctl")


def _config_as_argument(args: list[str]) -> str | None:
    """`pangeoctl validate my.yaml` is the natural guess, and no command takes a file as an argument:
    say where the file goes instead of click's bare 'unexpected extra argument'."""
    for k, a in enumerate(args):
        if a.endswith((".yaml", ".yml")) and not a.startswith("-") and (k == 0 or not args[k - 1].startswith("-")):
            fixed = " ".join(["pangeoctl", *args[:k], "-c", *args[k:]])
            return f"pangeoctl: {a} is the config file — it goes after -c/--config: {fixed}"
    return None
