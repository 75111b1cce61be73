"""`pangeoctl doctor`: which cloud CLIs are here, their versions, whether you are logged in."""

from __future__ import annotations

import json

from pangeoctl.cli._common import EXIT_FAILED, EXIT_USAGE, CloudOpt, JsonOpt, fail


def doctor(cloud: CloudOpt = None, as_json: JsonOpt = False) -> None:
    """Check the tools a cloud needs (gcloud, aws, eksctl, az, kind, minikube, kubectl, helm).

    For each: found or not, version, logged in as whom, and the install or login
    command when something is missing. Exit 1 when anything needs fixing.
    """
    from pangeoctl.clouds import CLOUDS
    from pangeoctl.doctor import doctor as run_doctor
    from pangeoctl.runner import RealRunner

    if cloud is not None and cloud not in CLOUDS:
        fail(f"--cloud {cloud!r}: doctor checks {', '.join(CLOUDS)} (local needs no cloud tools)", EXIT_USAGE)
    checks = run_doctor(RealRunner(), cloud)
    if as_json:
        print(json.dumps([c.__dict__ for c in checks], indent=2))
    else:
        for c in checks:
            state = "ok     " if c.ok else "MISSING" if not c.found else "fix    "
            detail = c.version + (f", logged in as {c.login}" if c.login else "")
            print(f"{state} {c.tool:24} {detail}" + (f"\n        → {c.fix}" if c.fix else ""))
    if not all(c.ok for c in checks):
        raise SystemExit(EXIT_FAILED)
