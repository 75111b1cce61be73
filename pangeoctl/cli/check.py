"""`pangeoctl check`: prove the platform works on real work, headless."""

from __future__ import annotations

import json

from pangeoctl.cli._common import DEFAULT_CONFIG, EXIT_FAILED, EXIT_USAGE, ConfigOpt, JsonOpt, err, fail, load_config


def check(config: ConfigOpt = DEFAULT_CONFIG, as_json: JsonOpt = False) -> None:
    """Log in as a temporary user, start a server, run the Landsat NDVI notebook on Dask Gateway
    workers (against the sample catalog, read with HTTP range requests), report pass/fail with timings,
    and remove the user. Exit 0 on pass, 1 on fail.
    """
    cfg = load_config(config, quiet=True)
    if cfg.cloud != "local":
        fail("check runs against the local platform for now; for a cloud hub it needs the hub's admin token (not built yet)", EXIT_USAGE)
    try:
        from pangeoctl.checks import CheckError, run_local
    except ImportError as e:
        fail(f"check needs the geo stack: pip install 'pangeoctl[local,geo]' ({e.name} is missing)", EXIT_USAGE)
    try:
        result = run_local(cfg, err)
    except CheckError as e:
        fail(str(e), EXIT_FAILED)
    if as_json:
        print(json.dumps(result.__dict__, indent=2))
    else:
        for name, secs in result.steps.items():
            print(f"  {secs:6.2f} s  {name}")
        print("PASS" if result.ok else f"FAIL: {result.error}")
    if not result.ok:
        raise SystemExit(EXIT_FAILED)
