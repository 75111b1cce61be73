"""The local platform, for real: started through the CLI on free loopback ports, stopped at the end."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support import background

pytestmark = pytest.mark.integration
PANGEOCTL = [sys.executable, "-m", "pangeoctl"]


def cli(*args: str, env: dict | None = None, timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run([*PANGEOCTL, *args], capture_output=True, text=True, timeout=timeout, env={**os.environ, **(env or {})})


@dataclass
class Platform:
    config: Path
    state: Path
    url: str
    admin_token: str

    def api(self, method: str, path: str, body: dict | None = None, token: str | None = None) -> tuple[int, object]:
        req = urllib.request.Request(
            f"{self.url}/hub/api{path}",
            method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Authorization": f"token {token or self.admin_token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                raw = r.read()
                return r.status, json.loads(raw) if raw else None
        except urllib.error.HTTPError as e:
            return e.code, None

    def user_token(self, user: str, **body) -> str:
        code, tok = self.api("POST", f"/users/{user}/tokens", {"note": "test", **body})
        assert code == 201, code
        return tok["token"]  # type: ignore[index]

    def ports(self) -> dict[str, int]:
        return json.loads((self.state / "run" / "ports.json").read_text())

    def gateway_address(self) -> str:
        return f"{self.url}/services/dask-gateway"

    def proxy_address(self) -> str:
        return f"gateway://127.0.0.1:{self.ports()['gateway_tcp_port']}"


def write_config(tmp: Path, **limits) -> Path:
    state = tmp / "state"
    lim = {"max_cores": 8, "max_memory": "16G", "max_workers": 3, "max_clusters_per_user": 1, **limits}
    cfg = tmp / "pangeo.yaml"
    cfg.write_text(
        "name: itest\ncloud: local\n"
        f"local: {{state_dir: {state}, port: 0}}\n"
        "hub:\n  auth: {type: shared-password, admins: [admin]}\n  cull_idle: 1h\n"
        "dask:\n  options: {worker_cores: [1], worker_memory: [1G, 2G]}\n"
        f"  limits: {json.dumps(lim)}\n  idle_timeout: 10m\n"
    )
    return cfg


@contextlib.contextmanager
def running(tmp: Path) -> Iterator[Platform]:
    """A platform of its own in ``tmp``, started with `pangeoctl up` and stopped with `down` whatever happens
    (in the background: the session waits for it at its end, and fails if it failed)."""
    cfg = write_config(tmp)
    r = cli("up", "-c", str(cfg))
    assert r.returncode == 0, r.stdout + r.stderr
    state = tmp / "state"
    url = r.stdout.split(": ", 1)[1].split()[0]
    try:
        yield Platform(cfg, state, url, (state / "secrets" / "admin_token").read_text().strip())
    finally:
        background.run_later([*PANGEOCTL, "down", "-c", str(cfg)])


@pytest.fixture(scope="session")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    with running(tmp_path_factory.mktemp("platform")) as p:
        yield p


def wait_for(pred, timeout: float = 60, every: float = 0.25, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = pred()
        if got:
            return got
        time.sleep(every)
    raise AssertionError(f"timed out waiting for {what}")
