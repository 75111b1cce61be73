"""`pangeoctl check`: prove the platform works on real work, headless."""

from __future__ import annotations

import json

import typer

from pangeoctl.cli._common import DEFAULT_CONFIG, EXIT_FAILED, EXIT_USAGE, ConfigOpt, JsonOpt, edge, err, fail, load_config, runner_for


def check(config: ConfigOpt = DEFAULT_CONFIG, as_json: JsonOpt = False) -> None:
    """Log in as a temporary user, start a server, run the Landsat NDVI notebook on Dask Gateway
    workers (locally against the sample catalog, read with HTTP range requests; on a cloud hub against
    the notebook's default catalog), report pass/fail with timings, and remove the user.
    Exit 0 on pass, 1 on fail.
    """
    cfg = load_config(config, quiet=True)
    try:
        from pangeoctl.checks import run_on
    except ImportError as e:
        fail(f"check needs the geo stack: pip install 'pangeoctl[local,geo]' ({e.name} is missing)", EXIT_USAGE)
    target, site = edge(cfg)
    result = run_on(target, cfg, site, runner_for(False, echo_to_stderr=False), err)
    if as_json:
        print(json.dumps(result.__dict__, indent=2))
    else:
        for name, secs in result.steps.items():
            print(f"  {secs:6.2f} s  {name}")
        print("PASS" if result.ok else f"FAIL: {result.error}")
    if not result.ok:
        raise typer.Exit(EXIT_FAILED)
