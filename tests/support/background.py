"""Platforms stopped in the background: a test's ``pangeoctl down`` runs while the next tests do, and the
session waits for every one at its end (tests/conftest.py), failing if one failed — a platform left running.

Only for teardowns: a test that asserts on what ``down`` did runs it itself.
"""

from __future__ import annotations

import shlex
import subprocess
from collections.abc import Sequence

_running: list[tuple[str, subprocess.Popen[str]]] = []


def run_later(argv: Sequence[str], **popen: object) -> None:
    """Start ``argv`` (``subprocess.Popen`` arguments in ``popen``) and return at once."""
    proc = subprocess.Popen(list(argv), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **popen)  # type: ignore[call-overload]
    _running.append((shlex.join(argv), proc))


def wait_all(timeout: float = 300) -> list[str]:
    """Wait for everything :func:`run_later` started; one line and the output of each that failed."""
    failed = []
    while _running:
        command, proc = _running.pop(0)
        try:
            out, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
        if proc.returncode != 0:
            failed.append(f"{command} exited {proc.returncode}:\n{out}")
    return failed
