"""The example notebooks, executed on the local platform as a user's kernel would run them."""

from __future__ import annotations

from pathlib import Path

import pytest

from pangeoctl import config as C
from pangeoctl.local.layout import layout_for
from pangeoctl.render.local import user_environment
from tests.conftest import ROOT
from tests.integration.conftest import Platform

pytestmark = pytest.mark.integration


def execute(path: Path, env: dict[str, str], monkeypatch: pytest.MonkeyPatch, timeout: int = 300):
    import jupytext
    from nbclient import NotebookClient

    nb = jupytext.read(path)
    for k, v in env.items():
        monkeypatch.setenv(k, v)  # the kernel inherits them, as a user's server passes them on
    NotebookClient(nb, timeout=timeout, kernel_name="python3").execute()
    return nb


def test_dask_gateway_scaling_notebook(platform: Platform, monkeypatch):
    platform.api("POST", "/users", {"usernames": ["scientist"]})
    cfg = C.load(platform.config)
    env = {**user_environment(layout_for(cfg, resolve_ports=True)), "JUPYTERHUB_API_TOKEN": platform.user_token("scientist")}
    nb = execute(ROOT / "examples" / "dask-gateway-scaling.py", env, monkeypatch)
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    assert "computed on 2 workers" in text
    assert "'worker_cores': '1'" in text


def test_sentinel1_insar_notebook(platform: Platform, monkeypatch):
    pytest.importorskip("xarray")
    platform.api("POST", "/users", {"usernames": ["radar"]})
    cfg = C.load(platform.config)
    env = {**user_environment(layout_for(cfg, resolve_ports=True)), "JUPYTERHUB_API_TOKEN": platform.user_token("radar")}
    nb = execute(ROOT / "examples" / "sentinel1-insar.py", env, monkeypatch)
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    assert "solved on 2 workers" in text
    rms = float(text.split("velocity error vs truth: RMS ")[1].split(" mm/yr")[0])
    assert rms < 3.0
