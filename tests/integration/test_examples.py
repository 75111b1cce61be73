"""The example notebooks, executed on the local platform as a user's kernel would run them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

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


def run_as(platform: Platform, user: str, path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """Execute a notebook as ``user`` would in their server (same gateway settings and token); its text output."""
    platform.api("POST", "/users", {"usernames": [user]})
    servers = json.loads((platform.state / "platform.json").read_text())["spawner"]["environment"]  # what the hub gives servers
    env = {**servers, "JUPYTERHUB_API_TOKEN": platform.user_token(user)}
    nb = execute(path, env, monkeypatch)
    return "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))


def test_dask_gateway_scaling_notebook(platform: Platform, monkeypatch):
    text = run_as(platform, "scientist", ROOT / "examples" / "dask-gateway-scaling.py", monkeypatch)
    assert "computed on 2 workers" in text
    assert "'worker_cores': '1'" in text


def test_sentinel1_insar_notebook(platform: Platform, monkeypatch):
    pytest.importorskip("xarray")
    text = run_as(platform, "radar", ROOT / "examples" / "sentinel1-insar.py", monkeypatch)
    assert "solved on 2 workers" in text
    assert "network: 84 pairs over 30 dates, 1 connected part(s): dates 0–29" in text  # the network of the stack loaded
    assert "LOS velocity in m/yr; sign: LOS: positive towards the satellite" in text and "masked: " in text
    rms = float(text.split("velocity error vs truth: RMS ")[1].split(" mm/yr")[0])
    assert rms < 3.0


def test_sentinel1_insar_notebook_on_hyp3_products_over_http(platform: Platform, monkeypatch, tmp_path):
    """The notebook's real-data branch: HyP3-named COGs (margins, per-pair offsets, coherence) read by the workers."""
    pytest.importorskip("rioxarray")

    from pangeoctl.geo import sample_data
    from tests.conftest import served

    stack = sample_data.insar_stack(shape=(64, 64), n_dates=24, seasonal_m=0, seed=9)
    files = sample_data.hyp3_products(tmp_path / "hyp3", stack, as_zip=True)
    with served(tmp_path / "hyp3") as url:
        text = (ROOT / "examples" / "sentinel1-insar.py").read_text()
        urls = [f"{url}/{f.name}" for f in files]
        text = text.replace('source = "synthetic"  # or "hyp3"', 'source = "hyp3"').replace(
            'hyp3_products: str | list[str] = ""', f"hyp3_products: str | list[str] = {urls!r}"
        )
        text = text.replace('output = "velocity.tif"', f'output = "{tmp_path / "velocity.tif"}"')
        path = tmp_path / "sentinel1-insar.py"
        path.write_text(text)
        out = run_as(platform, "geodesist", path, monkeypatch)
    assert "solved on 2 workers" in out and f"24 dates, {len(files)} interferograms of 64×64 pixels" in out
    assert "ascending pass" in out and "water mask: 0.0% of the area is water" in out
    assert "vertical-only projection of LOS" in out  # the look vectors came with the products, named for what they assume
    ry, rx = (float(v) for v in out.split("reference pixel: y=")[1].split(" (")[0].split(", x="))
    iy, ix = round((3800000.0 - 40 - ry) / 80), round((rx - 500000.0 - 40) / 80)  # pixel centres on the 80 m grid
    truth = float(stack.true_velocity.min() - stack.true_velocity[iy, ix]) * 1000
    got = float(out.split("max subsidence ")[1].split(" mm/yr")[0])
    assert abs(got - truth) < 4, (got, truth)  # the bowl's depth relative to the reference, within the noise
    import rasterio

    with rasterio.open(tmp_path / "velocity.tif") as cog:
        assert cog.crs.to_epsg() == 32611 and cog.shape == (64, 64) and cog.transform.a == 80
        assert abs(float(np.nanmin(cog.read(1))) * 1000 - got) < 0.1


def test_landsat_ndvi_notebook_reads_ranges_on_gateway_workers(platform: Platform, monkeypatch, tmp_path):
    pytest.importorskip("stackstac")
    import jupytext

    from pangeoctl.geo.serve import serve_sample

    srv, _ = serve_sample(tmp_path / "catalog", n_scenes=4, size=1024)
    try:
        w, s, e, n = srv.items[0]["bbox"]
        box = [w + 0.3 * (e - w), s + 0.3 * (n - s), w + 0.3 * (e - w) + 0.04, s + 0.3 * (n - s) + 0.025]
        path = tmp_path / "landsat-ndvi.py"
        text = (ROOT / "examples" / "landsat-ndvi.py").read_text()
        text = text.replace('stac_url = "https://planetarycomputer.microsoft.com/api/stac/v1"', f'stac_url = "{srv.url}/stac"')
        text = text.replace("bbox = [13.75, 50.35, 13.80, 50.38]", f"bbox = {box}").replace(
            'output = "ndvi-median.tif"', f'output = "{tmp_path / "ndvi.tif"}"'
        )
        path.write_text(text)
        assert jupytext.read(path).cells  # still a notebook
        out = run_as(platform, "ecologist", path, monkeypatch)
        assert "4 scenes:" in out and "series: " in out
        assert out.count("%", out.index("clear fraction per date:")) >= 4  # one clear fraction per date
        assert (tmp_path / "ndvi.tif").exists()
        total = sum(p.stat().st_size for p in (tmp_path / "catalog").glob("*.tif"))
        assert 0 < srv.bytes_sent < 0.5 * total  # range reads, by the workers
    finally:
        srv.shutdown()


def test_pangeoctl_check_passes_and_removes_its_user(platform: Platform):
    pytest.importorskip("stackstac")
    from tests.integration.conftest import cli

    r = cli("check", "-c", str(platform.config), "--json", timeout=400)
    assert r.returncode == 0, r.stdout + r.stderr
    result = json.loads(r.stdout)
    assert result["ok"] is True, result["error"]
    assert "run the NDVI notebook in the server, on gateway workers" in result["steps"]
    users = [u["name"] for u in platform.api("GET", "/users")[1]]  # type: ignore[union-attr]
    assert not any(u.startswith("check-") for u in users)
