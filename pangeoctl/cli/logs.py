"""`pangeoctl logs`: the local platform's log, whole or one component's lines."""

from __future__ import annotations

from typing import Annotated

import typer

from pangeoctl.cli._common import DEFAULT_CONFIG, EXIT_USAGE, ConfigOpt, edge, fail, load_config

# the logger names each component prints with
MARKS = {
    "hub": ("JupyterHub",),
    "gateway": ("DaskGateway", "dask_gateway", "Proxy"),
    "proxy": ("ConfigProxy", "configurable-http-proxy", "configurable_http_proxy"),
}


def logs(
    component: Annotated[str, typer.Argument(help="all, hub, gateway or proxy.")] = "all",
    config: ConfigOpt = DEFAULT_CONFIG,
    lines: Annotated[int, typer.Option("--lines", "-n", help="How many of the last lines.")] = 50,
) -> None:
    """Print the last lines of the local platform's log (hub, proxy and gateway write one log)."""
    if component not in ("all", *MARKS):
        fail(f"unknown component {component!r}: use all, hub, gateway or proxy", EXIT_USAGE)
    cfg = load_config(config, quiet=True)
    target, site = edge(cfg)
    log = target.log(cfg, site)
    if not log.exists():
        fail(f"no log at {log} — has `pangeoctl up` run?", 1)
    text = log.read_text(errors="replace").splitlines()
    if component != "all":
        text = [t for t in text if any(m in t for m in MARKS[component])]
    print(f"# {log}")
    print("\n".join(text[-lines:]))
