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
        x0, y0 = src.transform.c, src.transform.f  # corner of the file; the stack's coordinates are pixel centres
        col = int(round((float(da.x[0]) - 15 - x0) / 30))
        row = int(round((y0 - float(da.y[0]) - 15) / 30))
        return src.read(1, window=((row, row + da.sizes["y"]), (col, col + da.sizes["x"])))


def test_masking_and_reflectance_maths():
    qa = np.array([1 << 6, 1, 1 << 1, 1 << 2, 1 << 3, 1 << 4, 1 << 5, 1 << 7], dtype=np.uint16)
    assert landsat.cloud_mask(qa).tolist() == [False, True, True, True, True, True, True, False]  # snow (bit 5) too
    assert landsat.cloud_mask(qa, snow=False).tolist() == [False, True, True, True, True, True, False, False]
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
        want = np.where((bands["qa_pixel"] & 0b111111) != 0, np.nan, (nir - red) / (nir + red))
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


# ------------------------------------------------------------------ issue 16


def test_the_written_composite_lies_on_the_source_grid_pixel_for_pixel(catalog, tmp_path):
    pytest.importorskip("rioxarray")
    srv, d = catalog
    box = _box(srv, 0.3, 0.3, 0.03, 0.02)
    items = stac.search(f"{srv.url}/stac", "landsat-c2-l2", box, "2024-01-01/2024-12-31")
    stack = landsat.load(items, box)
    median = landsat.composite(landsat.ndvi(stack)).compute()
    median.rio.write_crs(stack.attrs["crs"]).rio.to_raster(tmp_path / "ndvi.tif")
    with rasterio.open(tmp_path / "ndvi.tif") as out, rasterio.open(d / Path(items[0].assets["red"].href).name) as src:
        col, row = (out.transform.c - src.transform.c) / 30, (src.transform.f - out.transform.f) / 30
        assert col == int(col) and row == int(row) and (out.transform.a, out.transform.e) == (30, -30)  # whole source pixels, no 15 m shift
        window = ((int(row), int(row) + out.height), (int(col), int(col) + out.width))
        per_date = []
        for it in items:
            bands = {b: rasterio.open(d / Path(it.assets[b].href).name).read(1, window=window) for b in ("red", "nir08", "qa_pixel")}
            r, n = (np.where((bands[b] >= 7273) & (bands[b] <= 43636), bands[b] * 0.0000275 - 0.2, np.nan) for b in ("red", "nir08"))
            per_date.append(np.where((bands["qa_pixel"] & 0b111111) != 0, np.nan, (n - r) / (n + r)))
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            want = np.nanmedian(np.stack(per_date), axis=0)
        np.testing.assert_allclose(out.read(1), want, rtol=1e-6, equal_nan=True)


def test_dn_outside_the_valid_range_and_snow_are_masked():
    import xarray as xr

    dn = np.array([[[[20000, 100, 20000, 20000]], [[25000, 25000, 50000, 25000]], [[1 << 6, 1 << 6, 1 << 6, (1 << 6) | (1 << 5)]]]], dtype=np.uint16)
    stack = xr.DataArray(dn, dims=("time", "band", "y", "x"), coords={"band": ["red", "nir08", "qa_pixel"]})
    got = landsat.ndvi(stack).values[0, 0]
    assert np.isfinite(got[0]) and np.isnan(got[1:]).all()  # dark red (NDVI 1.2 before), saturated NIR, snow
    assert np.isfinite(landsat.ndvi(stack, snow=False).values[0, 0, 3])


def test_area_mean_leaves_out_mostly_cloudy_dates():
    import xarray as xr

    v = np.full((2, 10, 10), 0.5)
    v[1, :, :9] = np.nan  # 10 % valid
    v[1, :, 9] = 0.9
    series = landsat.area_mean(xr.DataArray(v, dims=("time", "y", "x")))
    assert series.values[0] == 0.5 and np.isnan(series.values[1])
    assert landsat.area_mean(xr.DataArray(v, dims=("time", "y", "x")), min_valid_fraction=0.05).values[1] == pytest.approx(0.9)


def test_platform_and_tier_filters_leave_out_etm_and_tier2(catalog):
    import pystac

    srv, _ = catalog
    items = [pystac.Item.from_dict(i) for i in srv.items]
    items[1].properties["platform"] = "landsat-7"
    items[2].properties["landsat:collection_category"] = "T2"
    with pytest.warns(UserWarning, match=r"left out 2 of 4 scenes .*landsat-7.*T2.* pass platforms=None / categories=None"):
        kept = landsat.select(items)
    assert [it.id for it in kept] == [items[0].id, items[3].id]
    items[3].properties["platform"] = "LANDSAT_9"  # as USGS's own STAC spells it
    assert items[3] in landsat.select(items, categories=None)
    assert landsat.select(items, platforms=None, categories=None) == items


def _as(items, prefix):
    import pystac

    out = []
    for d in items:
        it = pystac.Item.from_dict(d)
        for a in it.assets.values():
            a.href = prefix + Path(a.href).name
        out.append(it)
    return out


def test_requester_pays_s3_is_preflighted_with_the_fix_and_its_settings_reach_the_readers(catalog, monkeypatch):
    srv, _ = catalog
    host = srv.url.removeprefix("http://")
    for k, v in {
        "AWS_S3_ENDPOINT": host,
        "AWS_HTTPS": "NO",
        "AWS_VIRTUAL_HOSTING": "FALSE",
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
    }.items():
        monkeypatch.setenv(k, v)
    box = _box(srv, 0.4, 0.4, 0.02, 0.015)
    items = _as(srv.items, "s3://usgs-landsat/")
    with pytest.raises(landsat.AssetError, match=r"s3://usgs-landsat/.* requester-pays .* pass requester_pays=True to load\(\)"):
        landsat.load(items, box)
    stack = landsat.load(items, box, requester_pays=True)
    envs = [v for v in _walk(dict(stack.data.__dask_graph__())) if type(v).__name__ == "LayeredEnv"]
    assert envs and all(e._always["AWS_REQUEST_PAYER"] == "requester" and e._always["GDAL_HTTP_MAX_RETRY"] == "5" for e in envs)
    over_http = landsat.load(_as(srv.items, f"{srv.url}/"), box)
    np.testing.assert_array_equal(stack.values, over_http.values)


def _walk(obj):
    """Every object inside a dask graph's tasks (tuples, lists, dicts, task objects' args)."""
    stack = [obj]
    while stack:
        o = stack.pop()
        yield o
        if isinstance(o, dict):
            stack.extend(o.values())
        elif isinstance(o, (list, tuple)):
            stack.extend(o)
        elif hasattr(o, "args") and hasattr(o, "kwargs"):  # dask Task
            stack.extend([*o.args, *o.kwargs.values()])
        elif hasattr(o, "value") and type(o).__name__ in ("DataNode", "Alias"):
            stack.append(o.value)


def test_planetary_computer_assets_are_signed_on_the_readers_not_in_the_graph(catalog):
    from pangeoctl.geo import remote

    srv, _ = catalog
    box = _box(srv, 0.6, 0.6, 0.02, 0.015)
    items = _as(srv.items, f"{srv.url}/landsat-c2/")
    with pytest.raises(landsat.AssetError, match="answered 403 — sign the URLs"):
        landsat.load(items, box, sign=False)
    token_url = f"{srv.url}/api/sas/v1/token"
    stack = landsat.load(items, box, sign=True, gdal_env={landsat.SAS_TOKEN_OPTION: token_url})
    assert not any("sig=" in str(v) for v in _walk(dict(stack.data.__dask_graph__())) if isinstance(v, str))  # unsigned in the graph
    want = landsat.load(_as(srv.items, f"{srv.url}/"), box)
    np.testing.assert_array_equal(stack.compute(scheduler="threads").values, want.values)
    # A token close to its end is replaced before use: long jobs do not 403 midway.
    issued = srv.tokens_issued
    remote.sas_sign(f"{srv.url}/landsat-c2/x.tif", token_url)
    assert srv.tokens_issued == issued  # cached
    key = next(k for k in remote._TOKENS if k[0] == token_url)
    remote._TOKENS[key] = (remote._TOKENS[key][0], 0.0)  # expired
    assert "sig=" in remote.sas_sign(f"{srv.url}/landsat-c2/x.tif", token_url) and srv.tokens_issued == issued + 1


def test_a_bbox_across_two_utm_zones_is_put_on_the_zone_of_its_centre(tmp_path):
    import pystac
    from rasterio.warp import transform

    from pangeoctl.geo import sample_data

    (xa,), (ya,) = transform("EPSG:4326", "EPSG:32633", [17.9], [50.5])
    (xb,), (yb,) = transform("EPSG:4326", "EPSG:32634", [17.98], [50.5])
    west = sample_data.landsat_scenes(tmp_path / "a", n_scenes=1, size=512, epsg=32633, origin=(round(xa / 30) * 30 - 15, round(ya / 30) * 30 + 15))
    east = sample_data.landsat_scenes(tmp_path / "b", n_scenes=1, size=512, epsg=32634, origin=(round(xb / 30) * 30 - 15, round(yb / 30) * 30 + 15))
    items = [west[0], pystac.Item.from_dict({**east[0].to_dict(), "id": "east"})]
    box = [17.93, 50.40, 18.03, 50.45]  # centre 17.98°E: zone 33
    stack = landsat.load(items, box)
    assert stack.attrs["crs"].upper() == "EPSG:32633" and stack.sizes["time"] == 2
    nd = landsat.ndvi(stack).compute()
    assert bool(nd.isel(time=0).notnull().any()) and bool(nd.isel(time=1).notnull().any())  # the zone-34 scene, resampled
