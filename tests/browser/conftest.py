"""A real browser on the real local platform: Debian Chromium driven by Playwright, GitHub login through the stand-in.

Chromium comes from Debian (``apt-get install -y chromium``), Playwright from PyPI; ``playwright install``
(a browser download) is never used. Without either the tests skip with one line saying what is missing.
Each test keeps a screenshot per step; when it fails they are written to its output folder (pytest's
``tmp_path``, or ``$PANGEOCTL_BROWSER_OUT/<test>``) and the folder is named in the failure report.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.support import background
from tests.support.github_standin import GitHubStandin

pytestmark = pytest.mark.integration

CHROMIUM = Path(os.environ.get("PANGEOCTL_CHROMIUM", "/usr/bin/chromium"))
# FIELD-NOTES "Browser tests": without the background-networking flags Chromium floods the closed network.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1200, "height": 760}
SECRET_ENV = "PANGEOCTL_TEST_GITHUB_SECRET"
CHECKOUT = Path(__file__).parents[2]

# Who is who at the stand-in, and what pangeo.yaml allows.
ORGS = {"pangeo-lab": ["alice", "erin"], "friends": ["bob", "tom"]}
TEAMS = {"friends:ops": ["bob"]}
ALLOWED = ["pangeo-lab", "friends:ops"]
ADMINS = ["erin"]
# alice: org member · bob: team member · erin: org member and admin · tom: in "friends" but not its team "ops"
# · mallory: in no organisation


# ------------------------------------------------------------------ the browser


@pytest.fixture(scope="module")  # per module: Playwright's sync API holds an asyncio loop on this thread while it runs
def chromium() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("browser tests: playwright is not installed (pip install 'pangeoctl[dev]')")
    if not CHROMIUM.exists():
        pytest.skip(f"browser tests: no Chromium at {CHROMIUM} (apt-get install -y chromium)")
    pw = sync_playwright().start()
    browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
    yield browser
    browser.close()
    pw.stop()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    outcome = yield
    rep = outcome.get_result()
    setattr(item, f"rep_{rep.when}", rep)
    shots = getattr(item, "_shots", None)
    if rep.when == "call" and rep.failed and shots is not None:
        where = shots.dump()
        rep.sections.append(("screenshots", f"{len(shots.taken)} screenshots of the steps in {where}"))


@dataclass
class Shots:
    """One screenshot per step, kept in memory; written out only when the test fails (or for the README)."""

    folder: Path
    taken: list[tuple[str, bytes]] = field(default_factory=list)

    def take(self, page: Any, name: str) -> bytes:
        png = page.screenshot()
        self.taken.append((f"{len(self.taken) + 1:02d}-{name}.png", png))
        return bytes(png)

    @contextmanager
    def step(self, page: Any, name: str) -> Iterator[None]:
        """A named step: screenshot after it, and also when it fails half-way."""
        try:
            yield
        finally:
            if not page.is_closed():
                self.take(page, name)

    def dump(self) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        for name, png in self.taken:
            (self.folder / name).write_bytes(png)
        return self.folder


@pytest.fixture
def shots(request: pytest.FixtureRequest, tmp_path: Path) -> Shots:
    base = os.environ.get("PANGEOCTL_BROWSER_OUT")
    folder = Path(base) / re.sub(r"[^\w.-]+", "_", request.node.name) if base else tmp_path / "screenshots"
    s = Shots(folder)
    request.node._shots = s
    return s


# ------------------------------------------------------------------ GitHub and the platform


@pytest.fixture(scope="session")
def github() -> Iterator[GitHubStandin]:
    with GitHubStandin(orgs=ORGS, teams=TEAMS) as gh:
        yield gh


@dataclass
class Platform:
    config: Path
    state: Path
    url: str

    def secret(self, name: str) -> str:
        return (self.state / "secrets" / name).read_text().strip()

    def user_token(self, user: str) -> str:
        """A token for ``user`` (created if new), made with the platform's own service token."""
        headers = {"Authorization": f"token {self.secret('admin_token')}", "Content-Type": "application/json"}
        with contextlib.suppress(urllib.error.HTTPError):  # 409: the user exists already
            urllib.request.urlopen(urllib.request.Request(f"{self.url}/hub/api/users/{user}", method="POST", headers=headers), timeout=30)
        req = urllib.request.Request(f"{self.url}/hub/api/users/{user}/tokens", method="POST", data=b'{"note": "browser test"}', headers=headers)
        with urllib.request.urlopen(req, timeout=30) as r:
            return str(json.loads(r.read())["token"])

    def gateway(self, user: str) -> Any:
        """``user``'s dask-gateway client, as their notebook has it: the addresses the hub gives servers (through the
        hub's; without the proxy address the client spent 30 s trying to reach the scheduler at the hub's port)."""
        from dask_gateway import Gateway, JupyterHubAuth

        env = json.loads((self.state / "platform.json").read_text())["spawner"]["environment"]
        address, proxy = env["DASK_GATEWAY__ADDRESS"], env["DASK_GATEWAY__PROXY_ADDRESS"]
        assert address == f"{self.url}/services/dask-gateway", address
        return Gateway(address=address, proxy_address=proxy, auth=JupyterHubAuth(api_token=self.user_token(user)))


def write_config(folder: Path, github: GitHubStandin, name: str = "browser") -> Path:
    cfg = folder / "pangeo.yaml"
    cfg.write_text(
        f"name: {name}\ncloud: local\n"
        f"local: {{state_dir: {folder / 'state'}, port: 0}}\n"
        "hub:\n"
        "  auth:\n"
        "    type: github\n"
        f"    github_url: {github.url}\n"
        f"    client_id: {github.client_id}\n"
        f"    client_secret: {{env: {SECRET_ENV}}}\n"
        f"    allowed_organizations: [{', '.join(ALLOWED)}]\n"
        f"    admins: [{', '.join(ADMINS)}]\n"
        "  cull_idle: 1h\n"
        "dask:\n"
        "  options: {worker_cores: [1], worker_memory: [1G]}\n"
        "  limits: {max_cores: 8, max_memory: 16G, max_workers: 3, max_clusters_per_user: 1}\n"
        "  idle_timeout: 10m\n"
    )
    return cfg


def pangeoctl(*args: str, github: GitHubStandin, sabotage: str | None = None, timeout: float = 180) -> subprocess.CompletedProcess:
    """The CLI as a person runs it (``sabotage``: the same, with one part of the platform broken — see sabotage.py)."""
    cmd = [sys.executable, "-m", "tests.browser.sabotage", sabotage] if sabotage else [sys.executable, "-m", "pangeoctl"]
    return subprocess.run([*cmd, *args], capture_output=True, text=True, timeout=timeout, env=_env(github), cwd=CHECKOUT)


def _env(github: GitHubStandin) -> dict[str, str]:
    return {**os.environ, SECRET_ENV: github.client_secret}


@contextmanager
def running_platform(folder: Path, github: GitHubStandin, sabotage: str | None = None) -> Iterator[Platform]:
    cfg = write_config(folder, github)
    r = pangeoctl("up", "-c", str(cfg), github=github, sabotage=sabotage)
    assert r.returncode == 0, r.stdout + r.stderr
    m = re.search(r"(http://[\w.:-]+)", r.stdout)
    assert m, r.stdout
    try:
        yield Platform(cfg, folder / "state", m.group(1))
    finally:  # in the background: the session waits for it at its end, and fails if it failed
        background.run_later([sys.executable, "-m", "pangeoctl", "down", "-c", str(cfg)], env=_env(github), cwd=CHECKOUT)


@pytest.fixture(scope="session")  # one for all browser tests: each signs its people in anew, in contexts of their own
def platform(tmp_path_factory: pytest.TempPathFactory, github: GitHubStandin) -> Iterator[Platform]:
    with running_platform(tmp_path_factory.mktemp("platform"), github) as p:
        yield p


# ------------------------------------------------------------------ one person's browser


@dataclass
class Person:
    """One person in a browser context of their own (own cookies), with the websockets their pages opened."""

    login: str
    context: Any
    page: Any
    sockets: list[dict[str, Any]] = field(default_factory=list)

    def kernel_sockets(self) -> list[dict[str, Any]]:
        return [s for s in self.sockets if re.search(r"/api/kernels/[^/]+/channels", s["url"])]


def _record_sockets(page: Any, into: list[dict[str, Any]]) -> None:
    def opened(ws: Any) -> None:
        rec: dict[str, Any] = {"url": ws.url, "received": 0, "error": None, "closed": False}
        ws.on("framereceived", lambda _f: rec.__setitem__("received", rec["received"] + 1))
        ws.on("socketerror", lambda e: rec.__setitem__("error", e))
        ws.on("close", lambda _ws: rec.__setitem__("closed", True))
        into.append(rec)

    page.on("websocket", opened)


@pytest.fixture
def person(chromium: Any) -> Iterator[Callable[[str], Person]]:
    made: list[Person] = []

    def make(login: str) -> Person:
        context = chromium.new_context(viewport=VIEWPORT)
        context.set_default_timeout(30_000)
        page = context.new_page()
        p = Person(login, context, page)
        _record_sockets(page, p.sockets)
        context.on("page", lambda pg: _record_sockets(pg, p.sockets))
        made.append(p)
        return p

    yield make
    for p in made:
        p.context.close()
