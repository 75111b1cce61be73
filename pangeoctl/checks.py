"""`pangeoctl check`: a health check on real work — a temporary user runs the NDVI notebook on gateway
workers against the sample catalog, read with range requests; pass/fail with timings; the user is removed.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pangeoctl.config import Config

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "landsat-ndvi.py"


class CheckError(RuntimeError):
    pass


@dataclass
class CheckResult:
    ok: bool
    steps: dict[str, float] = field(default_factory=dict)  # step → seconds
    error: str = ""


def _api(url: str, token: str, method: str, path: str, body: dict | None = None) -> Any:
    req = urllib.request.Request(
        f"{url}/hub/api{path}",
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"token {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=30) as r:
        raw = r.read()
        return json.loads(raw) if raw else None


def notebook_text(stac_url: str, bbox: list[float], output: Path) -> str:
    text = EXAMPLE.read_text()
    for old, new in (
        ('stac_url = "https://planetarycomputer.microsoft.com/api/stac/v1"', f'stac_url = "{stac_url}"'),
        ("bbox = [13.75, 50.35, 13.80, 50.38]", f"bbox = {bbox}"),
        ('output = "ndvi-median.tif"', f'output = "{output}"'),
    ):
        if old not in text:
            raise CheckError(f"the NDVI notebook's parameters changed ({old!r} not found) — update pangeoctl.checks")
        text = text.replace(old, new)
    return text


def run_local(cfg: Config, echo: Callable[[str], None]) -> CheckResult:
    import os

    import jupytext
    from nbclient import NotebookClient

    from pangeoctl.geo.serve import serve_sample
    from pangeoctl.local import platform
    from pangeoctl.local.layout import layout_for
    from pangeoctl.render.local import user_environment

    layout = layout_for(cfg, resolve_ports=True)
    if not all(platform.health(layout).values()):
        raise CheckError("the local platform is not up — run `pangeoctl up` first")
    token, url = platform.admin_token(cfg), layout.url
    user = f"check-{secrets.token_hex(3)}"
    result = CheckResult(ok=False)

    def step(name: str, fn: Callable[[], Any]) -> Any:
        echo(f"{name} …")
        t = time.perf_counter()
        out = fn()
        result.steps[name] = round(time.perf_counter() - t, 2)
        return out

    saved = dict(os.environ)
    with tempfile.TemporaryDirectory() as tmp:
        srv = None
        try:
            step("create a temporary user", lambda: _api(url, token, "POST", "/users", {"usernames": [user]}))

            def spawn() -> None:
                _api(url, token, "POST", f"/users/{user}/server")
                deadline = time.monotonic() + 90
                while not _api(url, token, "GET", f"/users/{user}")["servers"].get("", {}).get("ready"):
                    if time.monotonic() > deadline:
                        raise CheckError("the user's server did not become ready in 90 s — see `pangeoctl logs hub`")
                    time.sleep(0.5)

            step("start the user's server", spawn)
            user_token = _api(url, token, "POST", f"/users/{user}/tokens", {"note": "pangeoctl check"})["token"]
            srv, _ = step("serve the sample catalog", lambda: serve_sample(Path(tmp) / "catalog", n_scenes=3, size=512))
            w, s, e, n = srv.items[0]["bbox"]
            box = [w + 0.3 * (e - w), s + 0.3 * (n - s), w + 0.3 * (e - w) + 0.03, s + 0.3 * (n - s) + 0.02]
            nb_path = Path(tmp) / "ndvi.py"
            nb_path.write_text(notebook_text(f"{srv.url}/stac", box, Path(tmp) / "ndvi.tif"))
            os.environ.update({**user_environment(layout), "JUPYTERHUB_API_TOKEN": user_token})
            step(
                "run the NDVI notebook on gateway workers",
                lambda: NotebookClient(jupytext.read(nb_path), timeout=300, kernel_name="python3").execute(),
            )
            if not (Path(tmp) / "ndvi.tif").exists():
                raise CheckError("the notebook ran but wrote no composite")
            result.ok = True
        except (CheckError, urllib.error.URLError, OSError) as e:
            result.error = str(e)
        except Exception as e:  # a failing notebook cell: report its error, not a traceback of ours
            result.error = f"{type(e).__name__}: {str(e).strip().splitlines()[-1] if str(e).strip() else ''}"
        finally:
            os.environ.clear()
            os.environ.update(saved)
            if srv is not None:
                srv.shutdown()
            with contextlib.suppress(urllib.error.URLError):
                _api(url, token, "DELETE", f"/users/{user}/server")
            try:
                _api(url, token, "DELETE", f"/users/{user}")
            except urllib.error.URLError as e:
                result.error = result.error or f"could not remove the temporary user {user}: {e}"
    return result
