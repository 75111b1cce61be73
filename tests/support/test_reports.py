"""The test harness itself: a failure stays a failure, with its cause, whatever Python's parser does."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Makes pytest's own traceback formatting fail as CPython 3.11 < 3.11.8 does when ast.parse races with a thread.
RACING_PARSER = """
import _pytest._code.code as code
import contextlib

with contextlib.suppress(ImportError):
    from tests.conftest import pytest_runtest_makereport  # the hook under test

real = code.ExceptionInfoFormatter.repr_traceback_entry

def racing(self, *args, **kwargs):
    if self.style != "native":
        raise SystemError("AST constructor recursion depth mismatch (before=144, after=165)")
    return real(self, *args, **kwargs)

code.ExceptionInfoFormatter.repr_traceback_entry = racing
"""

FAILING = """
import pytest

@pytest.fixture
def platform():
    raise RuntimeError("the platform did not come up: the real cause")

def test_needs_a_platform(platform):
    pass

def test_after_it():
    pass
"""


def test_a_failure_whose_source_python_cannot_parse_is_reported_not_an_internal_error(tmp_path):
    """Seen once in a parallel run: a fixture failed, pytest's report of it hit python/cpython#106905, and the
    run stopped with INTERNALERROR — the fixture's error never shown, the tests after it never run."""
    (tmp_path / "conftest.py").write_text(RACING_PARSER)
    (tmp_path / "test_it.py").write_text(FAILING)
    r = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    out = r.stdout + r.stderr
    assert "INTERNALERROR" not in out
    assert "RuntimeError: the platform did not come up: the real cause" in out
    assert "1 passed, 1 error" in out
