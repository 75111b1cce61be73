"""Shared fixtures: an isolated HOME, plain output, and paths to the fixtures and the charts' schemas."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from pangeoctl.config import Config
from pangeoctl.site import Site
from pangeoctl.targets import Plan, target_for
from tests.support import background

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = ROOT / "tests" / "configs"


def schemas_dir() -> Path | None:
    """The charts' reference schemas: $PANGEOCTL_SCHEMAS, else ../shared/schemas beside the checkout."""
    for candidate in (os.environ.get("PANGEOCTL_SCHEMAS"), ROOT.parent / "shared" / "schemas"):
        if candidate and Path(candidate, "z2jh-4.4.0.values.schema.json").exists():
            return Path(candidate)
    return None


# A fixed Site: plans made with it are the same on every machine and every day.
SITE = Site(data_root=Path("/data/pangeoctl"), bin_dir=Path("/opt/venv/bin"), as_root=False, today=dt.date(2026, 12, 3))
# The local platform's ports in plans the tests compare (a fixed set, as a Site found free ones).
PORTS = {
    "hub_port": 8000,
    "hub_api_port": 8081,
    "proxy_api_port": 8001,
    "gateway_http_port": 8002,
    "gateway_api_port": 8003,
    "gateway_tcp_port": 8786,
    "guard_port": 8004,
}


def plan_for(cfg: Config, where: Path | None = None, site: Site = SITE) -> Plan:
    """The plan ``up`` would carry out for ``cfg`` on the fixed Site (files go to ``where``)."""
    return target_for(cfg).plan(cfg, site, where)


# With pytest-xdist (`-n 2`) every worker has its own session, so a session- or module-scoped fixture is made
# once per worker that uses it. Tests that share an expensive one (a running platform, a browser, the charts'
# venv), or that run in order on shared state (test_faults), go to one worker as a group; the groups go out in
# this order, the longest first, then the other tests one by one. Prefixes of node ids → group.
XDIST_GROUPS = {
    "tests/browser/": "browser",  # one platform and one GitHub stand-in
    "tests/integration/test_examples.py": "platform",  # the session `platform` …
    "tests/integration/test_local_platform.py": "platform",  # … shared by these two
    "tests/integration/test_faults.py": "faults",  # its tests break and repair one platform in turn
    "tests/integration/test_wheel.py": "wheel",
    "tests/unit/geo/test_hyp3.py": "hyp3",  # module-scoped sample products
    "tests/unit/geo/test_landsat.py": "landsat",
    "tests/support/test_github_standin.py": "github-standin",
    "tests/charts/": "charts",  # one .venv-hub, built by the first test that needs it
}
_GROUP_ORDER = list(dict.fromkeys(XDIST_GROUPS.values()))


def xdist_group(nodeid: str) -> str:
    """The unit of work a test belongs to: its group, or the test alone."""
    return next((group for prefix, group in XDIST_GROUPS.items() if nodeid.startswith(prefix)), nodeid)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object:
    """`-n N` (`--dist load`) hands out the groups whole. (xdist's own `--dist loadgroup` does not work with
    pytest 9: it renames node ids through an attribute pytest no longer reads.)"""
    if config.getoption("dist") not in ("load", "loadgroup"):
        return None
    from xdist.scheduler import LoadScopeScheduling

    class Grouped(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return xdist_group(nodeid)

    config.option.loadscopereorder = False  # keep the order the workers collected in (below)
    return Grouped(config, log)  # type: ignore[arg-type]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if hasattr(config, "workerinput"):  # an xdist worker: the groups first, in their order
        rank = {group: i for i, group in enumerate(_GROUP_ORDER)}
        items.sort(key=lambda item: rank.get(xdist_group(item.nodeid), len(rank)))


AST_RACE = "AST constructor recursion depth mismatch"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[object]:
    """A failure's report even when CPython 3.11 < 3.11.8 fails to parse its source (python/cpython#106905: ast.parse
    races with another thread's, e.g. a server thread printing a traceback) — pytest would stop the whole run
    with an INTERNALERROR that hides the failure. The report is made again, as Python's own traceback."""
    try:
        return (yield)
    except SystemError as e:
        if AST_RACE not in str(e):
            raise
        from _pytest.reports import TestReport

        style, item.config.option.tbstyle = item.config.option.tbstyle, "native"
        try:
            return TestReport.from_item_and_call(item, call)
        finally:
            item.config.option.tbstyle = style


@pytest.fixture(scope="session", autouse=True)
def _stopped_in_background() -> Iterator[None]:
    """Torn down last: waits for the platforms' ``down`` that fixtures started in the background."""
    yield
    failed = background.wait_all()
    assert not failed, "\n".join(failed)


@pytest.fixture(autouse=True)
def _isolate(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.setenv("GITHUB_CLIENT_SECRET", "gh-secret-value-that-must-never-leak")


@pytest.fixture(scope="session")
def schemas() -> Path:
    found = schemas_dir()
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("the charts' schemas are missing: expected ../shared/schemas beside the checkout or $PANGEOCTL_SCHEMAS")
        pytest.skip("the charts' schemas are not beside this checkout (set PANGEOCTL_SCHEMAS)")
    return found


@contextlib.contextmanager
def served(directory: Path) -> Iterator[str]:
    """``directory`` over HTTP with Range requests from a process of its own; yields its base URL.

    Its own process because GDAL holds the GIL while it opens a URL, so a server thread in the reading
    process would never answer.
    """
    cmd = [sys.executable, "-m", "pangeoctl.geo.serve", str(directory), "--port", "0", "--files-only"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        yield proc.stdout.readline().split()[1].rstrip("/")
    finally:
        proc.terminate()
        proc.wait(10)
