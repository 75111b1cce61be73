"""`pangeoctl check`: a health check on real work. A temporary user logs in, gets a server, and the Landsat
NDVI notebook runs *inside that server* (its kernel, its gateway settings) on Dask Gateway workers; the
result is pass/fail with timings, and the user is removed whatever happens.

Against the local platform the notebook reads the synthetic sample catalog served from here (range
requests over loopback); against a cloud hub it reads its default public catalog, next to the data.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


def example() -> Path:
    from pangeoctl.resources import examples_dir

    return examples_dir() / "landsat-ndvi.py"


class CheckError(RuntimeError):
    pass


@dataclass
class CheckResult:
    ok: bool
    user: str = ""
    steps: dict[str, float] = field(default_factory=dict)  # step → seconds
    error: str = ""


def _request(url: str, token: str, method: str = "GET", body: dict | None = None) -> Any:
    req = urllib.request.Request(
        url,
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"token {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=60) as r:
        raw = r.read()
        return json.loads(raw) if raw else None


def notebook_cells(parameters: dict[str, Any]) -> list[str]:
    """The NDVI notebook's code cells, with its parameters cell overridden by ``parameters``."""
    import jupytext

    cells = [c for c in jupytext.read(example()).cells if c.cell_type == "code"]
    if "parameters" not in cells[0].metadata.get("tags", []):
        raise CheckError("the NDVI notebook's first code cell is no longer its parameters cell — update pangeoctl.checks")
    overrides = "\n".join(f"{k} = {v!r}" for k, v in parameters.items())
    return [cells[0].source + "\n" + overrides, *(c.source for c in cells[1:])]


def execute_in_server(server_url: str, token: str, cells: list[str], timeout: float = 600) -> list[str]:
    """Run ``cells`` in a new kernel of a running Jupyter server (REST + kernel websocket); their text output.

    Raises CheckError with the cell's exception name and value when a cell fails.
    """
    import websocket

    kernel = _request(f"{server_url}/api/kernels", token, "POST", {"name": "python3"})
    ws = websocket.create_connection(
        f"{server_url.replace('http', 'ws', 1)}/api/kernels/{kernel['id']}/channels", header=[f"Authorization: token {token}"], timeout=timeout
    )
    outputs: list[str] = []
    try:
        session = uuid.uuid4().hex
        for code in cells:
            msg_id = uuid.uuid4().hex
            ws.send(
                json.dumps(
                    {
                        "header": {"msg_id": msg_id, "msg_type": "execute_request", "session": session, "username": "check", "version": "5.3"},
                        "parent_header": {},
                        "metadata": {},
                        "channel": "shell",
                        "content": {"code": code, "silent": False, "store_history": False, "user_expressions": {}, "allow_stdin": False},
                    }
                )
            )
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                msg = json.loads(ws.recv())
                if msg.get("parent_header", {}).get("msg_id") != msg_id:
                    continue
                kind, content = msg["msg_type"], msg["content"]
                if kind == "stream":
                    outputs.append(content["text"])
                elif kind == "error":
                    raise CheckError(f"notebook cell failed: {content['ename']}: {content['evalue']}")
                elif kind == "status" and content["execution_state"] == "idle":
                    break
            else:
                raise CheckError(f"a notebook cell ran longer than {timeout:.0f} s")
    finally:
        ws.close()
        with contextlib.suppress(urllib.error.URLError):
            _request(f"{server_url}/api/kernels/{kernel['id']}", token, "DELETE")
    return outputs


def run(hub_url: str, admin_token: str, parameters: dict[str, Any], echo: Callable[[str], None]) -> CheckResult:
    """The check against any hub: ``admin_token`` needs admin:users, admin:servers and tokens scopes."""
    api = f"{hub_url}/hub/api"
    user = f"check-{secrets.token_hex(3)}"
    result = CheckResult(ok=False, user=user)

    def step(name: str, fn: Callable[[], Any]) -> Any:
        echo(f"{name} …")
        t = time.perf_counter()
        out = fn()
        result.steps[name] = round(time.perf_counter() - t, 2)
        return out

    def spawn() -> None:
        _request(f"{api}/users/{user}/server", admin_token, "POST")
        deadline = time.monotonic() + 300
        while not _request(f"{api}/users/{user}", admin_token)["servers"].get("", {}).get("ready"):
            if time.monotonic() > deadline:
                raise CheckError("the user's server did not become ready in 300 s — see the hub's log")
            time.sleep(0.5)

    try:
        step("create a temporary user", lambda: _request(f"{api}/users", admin_token, "POST", {"usernames": [user]}))
        step("start the user's server", spawn)
        token = _request(f"{api}/users/{user}/tokens", admin_token, "POST", {"note": "pangeoctl check", "expires_in": 3600})["token"]
        out = step(
            "run the NDVI notebook in the server, on gateway workers",
            lambda: execute_in_server(f"{hub_url}/user/{user}", token, notebook_cells(parameters)),
        )
        if not any(line.startswith("wrote ") for line in "".join(out).splitlines()):
            raise CheckError("the notebook ran but wrote no composite")
        result.ok = True
    except (CheckError, urllib.error.URLError, OSError) as e:
        result.error = str(e)
    finally:
        with contextlib.suppress(urllib.error.URLError):
            _request(f"{api}/users/{user}/server", admin_token, "DELETE")
        try:
            _request(f"{api}/users/{user}", admin_token, "DELETE")
        except urllib.error.URLError as e:
            result.error = result.error or f"could not remove the temporary user {user}: {e}"
    return result


def run_on(target: Any, cfg: Any, site: Any, runner: Any, echo: Callable[[str], None]) -> CheckResult:
    """The check on ``target``: a Kubernetes hub reads the notebook's default public catalog, next to the
    data; the local platform reads the synthetic sample catalog served from this process."""
    url, token = target.admin_access(cfg, site, runner)
    if target.kubernetes:
        return run(url, token, {}, echo)
    from pangeoctl.geo.serve import serve_sample

    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        srv, _ = serve_sample(Path(tmp) / "catalog", n_scenes=3, size=512)
        echo(f"sample catalog ready ({time.perf_counter() - t:.1f} s)")
        try:
            w, s, e, n = srv.items[0]["bbox"]
            box = [w + 0.3 * (e - w), s + 0.3 * (n - s), w + 0.3 * (e - w) + 0.03, s + 0.3 * (n - s) + 0.02]
            result = run(url, token, {"stac_url": f"{srv.url}/stac", "bbox": box, "output": "ndvi-check.tif"}, echo)
        finally:
            srv.shutdown()
    target.forget_home(cfg, site, result.user)  # the hub keeps homes; this one is ours
    return result


def admin_token_from_cluster(cfg: Any, runner: Any, handle: Any) -> str:
    """The `pangeoctl` service token the jupyterhub chart generated, read from its Secret (never printed)."""
    import base64

    from pangeoctl.runner import Command

    res = runner.run(
        Command(
            (
                "kubectl",
                *handle.kubectl(),
                "get",
                "secret",
                "hub",
                "--namespace",
                cfg.name,
                "--output",
                "jsonpath={.data.hub\\.services\\.pangeoctl\\.apiToken}",
            ),
            why="the check service's token",
        )
    )
    if not res.stdout.strip():
        raise CheckError("no `pangeoctl` service token in the hub Secret — run `pangeoctl up` to upgrade the release")
    return base64.b64decode(res.stdout.strip()).decode()
