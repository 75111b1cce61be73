"""Landsat NDVI against direct numpy on generated COGs, read over HTTP with range requests from a STAC API."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

rasterio = pytest.importorskip("rasterio")
pytest.importorskip("stackstac")

from pangeoctl.geo import landsat, stac  # noqa: E402
from pangeoctl.geo.serve import serve_sample  # noqa: E402


@pytest.fixture(scope="module")
def catalog(tmp_path_factory):
    d = tmp_path_factory.mktemp("landsat")
    srv, _ = serve_sample(d, n_scenes=4, size=1024)
    yield srv, d
    srv.shutdown()


def _box(srv, fx, fy, dlon, dlat):
    w, s, e, n = srv.items[0]["bbox"]
    x, y = w + fx * (e - w), s + fy * (n - s)
    return [x, y, x + dlon, y + dlat]


def _direct(href_path: Path, da):
    """The same pixels read straight from the file with rasterio (a window on the scene's grid)."""
    with rasterio.open(href_path) as src:
        x0, y0 = src.transform.c, src.transform.f
        col = int(round((float(da.x[0]) - x0) / 30))
        row = int(round((y0 - float(da.y[0])) / 30))
        return src.read(1, window=((row, row + da.sizes["y"]), (col, col + da.sizes["x"])))


def test_masking_and_reflectance_maths():
    qa = np.array([1 << 6, 1, 1 << 1, 1 << 2, 1 << 3, 1 << 4, 1 << 5, 1 << 7], dtype=np.uint16)
    assert landsat.cloud_mask(qa).tolist() == [False, True, True, True, True, True, False, False]
    dn = np.array([0, 7273, 43636], dtype=np.uint16)
    np.testing.assert_allclose(landsat.reflectance(dn), [np.nan, 7273 * 0.0000275 - 0.2, 43636 * 0.0000275 - 0.2])


def test_ndvi_over_http_equals_numpy_on_the_files(catalog):
    srv, d = catalog
    box = _box(srv, 0.3, 0.3, 0.05, 0.03)
    items = stac.search(f"{srv.url}/stac", "landsat-c2-l2", box, "2024-01-01/2024-12-31")
    assert len(items) == 4 and all(it.assets["red"].href.startswith("http://127.0.0.1") for it in items)
    stack = landsat.load(items, box)
    got = landsat.ndvi(stack).compute()
    for t, item in enumerate(items):
        bands = {b: _direct(d / Path(item.assets[b].href).name, stack.isel(time=t)) for b in ("red", "nir08", "qa_pixel")}
        red, nir = (bands[b] * 0.0000275 - 0.2 for b in ("red", "nir08"))
        want = np.where((bands["qa_pixel"] & 0b11111) != 0, np.nan, (nir - red) / (nir + red))
        np.testing.assert_array_equal(got.isel(time=t).values, want)  # exact: the same maths on the same pixels
    assert np.isnan(got.values).any() and np.isfinite(got.values).any()


def test_bbox_crossing_the_scene_edge_is_fill_outside(catalog):
    srv, _ = catalog
    w, s, e, n = srv.items[0]["bbox"]
    box = [e - 0.02, s + 0.1, e + 0.02, s + 0.12]
    items = stac.search(f"{srv.url}/stac", "landsat-c2-l2", box, "2024-01-01/2024-12-31")
    nd = landsat.ndvi(landsat.load(items, box)).compute()
    x0, size = items[0].properties["proj:transform"][2], items[0].properties["proj:shape"][1]
    outside = nd.x > x0 + size * 30
    assert bool(outside.any()) and bool(nd.where(outside).isnull().all())  # past the scene: fill, not invented
    assert bool(np.isfinite(nd.where(~outside)).any())


def test_fully_cloudy_scene_gives_all_nan():
    stack_qa = np.full((1, 4, 4), (1 << 3) | (1 << 1), dtype=np.uint16)
    import xarray as xr

    dn = np.full((1, 4, 4), 20000, dtype=np.uint16)
    stack = xr.DataArray(np.stack([dn, dn + 5000, stack_qa], axis=1), dims=("time", "band", "y", "x"), coords={"band": ["red", "nir08", "qa_pixel"]})
    assert bool(np.isnan(landsat.ndvi(stack)).all())
    assert bool(np.isnan(landsat.composite(landsat.ndvi(stack))).all())


def test_a_small_box_moves_a_small_fraction_of_the_files(catalog):
    srv, d = catalog
    box = _box(srv, 0.5, 0.5, 0.02, 0.015)
    items = stac.search(f"{srv.url}/stac", "landsat-c2-l2", box, "2024-01-01/2024-12-31")
    before = srv.bytes_sent
    landsat.ndvi(landsat.load(items, box)).compute()
    moved = srv.bytes_sent - before
    total = sum(p.stat().st_size for p in d.glob("*.tif"))
    assert 0 < moved < 0.35 * total


def test_search_errors_are_clear(catalog):
    srv, _ = catalog
    assert stac.search(f"{srv.url}/stac", "landsat-c2-l2", [0, 0, 1, 1], "2024-01-01/2024-12-31") == []
    with pytest.raises(ValueError, match="no scenes to load"):
        landsat.load([], [0, 0, 1, 1])
    with pytest.raises(stac.STACError, match="cannot reach a STAC API|is a static catalog|refused"):
        stac.search("http://127.0.0.1:9/stac", "landsat-c2-l2", [0, 0, 1, 1], "2024")


def test_missing_asset_and_no_range_server_are_named_up_front(catalog, tmp_path):
    import threading
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    import pystac

    srv, d = catalog
    item = pystac.Item.from_dict(srv.items[0])
    gone = item.clone()
    gone.assets["red"].href = f"{srv.url}/nothing-here.tif"
    with pytest.raises(landsat.AssetError, match="nothing-here.tif answered 404 — the catalog points at a file that is not there"):
        landsat.load([gone], item.bbox)
    # Python's own http.server ignores Range: the preflight says so instead of letting GDAL fetch whole files.
    plain = ThreadingHTTPServer(("127.0.0.1", 0), lambda *a: SimpleHTTPRequestHandler(*a, directory=str(d)))
    threading.Thread(target=plain.serve_forever, daemon=True).start()
    try:
        noranges = item.clone()
        noranges.assets["red"].href = f"http://127.0.0.1:{plain.server_address[1]}/{Path(item.assets['red'].href).name}"
        with pytest.raises(landsat.AssetError, match="ignores HTTP Range requests \\(answered 200\\)"):
            landsat.load([noranges], item.bbox)
    finally:
        plain.shutdown()
