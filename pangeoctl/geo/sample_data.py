"""Synthetic data with known truth, made by our own code, for tests and offline notebooks."""

from __future__ import annotations

from typing import Any

import numpy as np

from pangeoctl.geo.insar import SENTINEL1_WAVELENGTH, pair_network


def _correlated_noise(rng: np.random.Generator, shape: tuple[int, int], scale_px: float) -> np.ndarray:
    """Unit-variance noise with a Gaussian spatial correlation of ``scale_px`` pixels (FFT filtering)."""
    white = rng.standard_normal(shape)
    fy = np.fft.fftfreq(shape[0])[:, None]
    fx = np.fft.rfftfreq(shape[1])[None, :]
    kernel = np.exp(-2 * (np.pi * scale_px) ** 2 * (fx**2 + fy**2))
    field = np.fft.irfft2(np.fft.rfft2(white) * kernel, s=shape)
    return field / field.std()


def insar_stack(
    shape: tuple[int, int] = (64, 64),
    n_dates: int = 30,
    spacing_days: int = 12,
    start: str = "2024-01-05",
    method: str = "sequential",
    num_connections: int = 3,
    subsidence_m_per_yr: float = 0.03,
    seasonal_m: float = 0.005,
    atmosphere_rad: float = 0.5,
    unwrap_error_fraction: float = 0.002,
    seed: int = 0,
    wavelength: float = SENTINEL1_WAVELENGTH,
    decorrelated: tuple[slice, slice] | None = None,
    looks: float = 10.0,
) -> Any:
    """A Sentinel-1-like stack of unwrapped interferograms with the truth that made it.

    A Gaussian subsidence bowl (peak ``subsidence_m_per_yr`` away from the satellite) plus an annual
    seasonal term, spatially correlated atmospheric phase per date, and a fraction of pixels in some
    interferograms set to NaN as unwrapping errors. Dates are ``spacing_days`` apart.

    ``decorrelated`` (a (y, x) window) makes a patch like vegetation or wet snow: there, every pair longer
    than the shortest has coherence 0.15, phase noise of the variance that coherence has with ``looks``
    looks, and every other one a +2π unwrapping error; the shortest pairs keep coherence 0.8 and its noise.

    Returns an ``xarray.Dataset``: ``unwrapped`` (pair, y, x) radians, ``coherence`` (pair, y, x; 0.8 outside
    the patch), ``true_velocity`` (y, x) m/yr, ``true_displacement`` (date, y, x) m relative to the first
    date; ``pairs`` as (reference, secondary) coordinates ``ref``/``sec`` on the pair dimension.
    """
    import xarray as xr

    from pangeoctl.geo.insar import phase_variance

    rng = np.random.default_rng(seed)
    ny, nx = shape
    dates = np.datetime64(start) + np.arange(n_dates) * np.timedelta64(spacing_days, "D")
    years = np.arange(n_dates) * spacing_days / 365.25
    yy, xx = np.mgrid[0:ny, 0:nx]
    bowl = np.exp(-(((yy - ny * 0.45) / (ny * 0.18)) ** 2 + ((xx - nx * 0.55) / (nx * 0.18)) ** 2))
    velocity = -subsidence_m_per_yr * bowl  # negative: away from the satellite
    seasonal = seasonal_m * (0.5 + 0.5 * (xx / max(nx - 1, 1)))
    disp = velocity[None] * years[:, None, None] + seasonal[None] * np.sin(2 * np.pi * years)[:, None, None]
    disp -= disp[0]
    phase = disp * (-4 * np.pi / wavelength)
    atmos = np.stack([atmosphere_rad * _correlated_noise(rng, shape, scale_px=max(ny, nx) / 8) for _ in range(n_dates)])
    pairs = pair_network(dates, method=method, num_connections=num_connections)  # type: ignore[arg-type]
    ref = np.array([i for i, _ in pairs])
    sec = np.array([j for _, j in pairs])
    ifg = (phase[sec] - phase[ref]) + (atmos[sec] - atmos[ref])
    coherence = np.full(ifg.shape, 0.8, dtype=np.float32)
    if decorrelated is not None:
        short = (sec - ref) == (sec - ref).min()
        patch = ifg[:, decorrelated[0], decorrelated[1]]
        coh = np.where(short[:, None, None], 0.8, 0.15).astype(np.float32) * np.ones_like(patch, dtype=np.float32)
        patch += rng.standard_normal(patch.shape) * np.sqrt(phase_variance(coh, looks))
        patch[~short] += 2 * np.pi * (np.arange((~short).sum()) % 8 == 0)[:, None, None]
        ifg[:, decorrelated[0], decorrelated[1]] = patch
        coherence[:, decorrelated[0], decorrelated[1]] = coh
    bad = rng.random(ifg.shape) < unwrap_error_fraction
    ifg[bad] = np.nan
    return xr.Dataset(
        {
            "unwrapped": (("pair", "y", "x"), ifg.astype(np.float32)),
            "coherence": (("pair", "y", "x"), coherence),
            "true_velocity": (("y", "x"), velocity),
            "true_displacement": (("date", "y", "x"), disp),
        },
        coords={"date": dates, "ref": ("pair", ref), "sec": ("pair", sec), "y": np.arange(ny), "x": np.arange(nx)},
        attrs={"wavelength": wavelength, "atmosphere_rad": atmosphere_rad},
    )


def hyp3_products(
    directory: Any,
    stack: Any,
    *,
    epsg: int = 32611,
    origin: tuple[float, float] = (500000.0, 3800000.0),
    resolution: float = 80.0,
    offset_rad: float = 3.0,
    as_zip: bool = False,
    seed: int = 0,
    heading: float = 346.0,
    water: tuple[slice, slice] | None = None,
) -> list[Any]:
    """Write an ``insar_stack`` as ASF HyP3 ``INSAR_GAMMA`` products: ``<name>_unw_phase.tif``, ``<name>_corr.tif``,
    ``<name>_water_mask.tif`` (1 land, 0 water: the (y, x) window ``water`` of the stack),
    ``<name>_lv_theta.tif`` (look-vector elevation, radians) and the parameter file ``<name>.txt`` (``Heading`` in degrees: ~346 ascending, ~194 descending for Sentinel-1).

    Like the real ones: named after the pair (acquisition times a few seconds apart between products),
    float32 COGs on a UTM grid at ``resolution`` metres with nodata 0, each product covering the stack's
    area plus a margin of its own (so they must be cut to their common area), each unwrapped from its own
    starting pixel (a constant of up to ``offset_rad`` per pair, so they must be referenced), coherence
    falling with the time between the dates. With ``as_zip`` each product is ``<name>.zip`` holding
    ``<name>/<name>_….tif``, as HyP3 hands them out. Returns the unwrapped-phase paths (or the zips).
    """
    import zipfile
    from pathlib import Path

    import rasterio
    from rasterio.transform import from_origin

    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    times = stack.date.values.astype("datetime64[s]") + np.timedelta64(3600 + 1815, "s")
    _, ny, nx = stack.unwrapped.shape
    written = []
    for k, (i, j) in enumerate(zip(stack.ref.values, stack.sec.values, strict=True)):
        t0, t1 = (times[d] + np.timedelta64(int(rng.integers(-3, 4)), "s") for d in (i, j))
        days = int((times[j] - times[i]) / np.timedelta64(1, "D"))
        stem = f"S1AA_{_stamp(t0)}_{_stamp(t1)}_VVP{days:03d}_INT{int(resolution)}_G_ueF_{rng.integers(0, 16**4):04X}"
        top, left, bottom, right = (0, 0, 0, 0) if k == 0 else rng.integers(0, 4, 4)
        phase = np.full((ny + top + bottom, nx + left + right), np.nan, dtype=np.float32)
        phase[top : top + ny, left : left + nx] = stack.unwrapped.values[k] + rng.uniform(-offset_rad, offset_rad)
        coh = np.clip(0.85 * np.exp(-days / 90) + 0.05 * rng.standard_normal(phase.shape), 0.05, 1).astype(np.float32)
        coh[np.isnan(phase)] = 0
        transform = from_origin(origin[0] - left * resolution, origin[1] + top * resolution, resolution, resolution)
        folder = out / stem if as_zip else out
        folder.mkdir(exist_ok=True)
        land = np.ones(phase.shape, dtype=np.uint8)
        if water is not None:
            land[top : top + ny, left : left + nx][water] = 0
        # Look-vector elevation: incidence 33°…43° across the swath (lv_theta = 90° − incidence), in radians.
        lv_theta = np.broadcast_to(np.deg2rad(90 - np.linspace(33, 43, phase.shape[1], dtype=np.float32)), phase.shape).astype(np.float32)
        layers = [("_unw_phase.tif", np.nan_to_num(phase, nan=0.0)), ("_corr.tif", coh), ("_water_mask.tif", land), ("_lv_theta.tif", lv_theta)]
        for suffix, data in layers:
            profile = {"driver": "COG", "width": data.shape[1], "height": data.shape[0], "count": 1, "dtype": data.dtype.name}
            profile |= {"crs": f"EPSG:{epsg}", "transform": transform, "blocksize": 256, "compress": "deflate"}
            profile |= {"nodata": 0} if suffix in ("_unw_phase.tif", "_corr.tif") else {}
            with rasterio.open(folder / f"{stem}{suffix}", "w", **profile) as dst:
                dst.write(data, 1)
        (folder / f"{stem}.txt").write_text(
            f"Reference Granule: S1A_IW_SLC__1SDV_{_stamp(t0)}_SYNTH\nSecondary Granule: S1A_IW_SLC__1SDV_{_stamp(t1)}_SYNTH\n"
            f"Heading: {heading + rng.uniform(-0.5, 0.5):.6f}\nRange looks: 20\nAzimuth looks: 4\nBaseline: 0\n"
        )
        if as_zip:
            with zipfile.ZipFile(out / f"{stem}.zip", "w", zipfile.ZIP_DEFLATED) as zf:
                for f in sorted(folder.iterdir()):
                    zf.write(f, f"{stem}/{f.name}")
                    f.unlink()
            folder.rmdir()
            written.append(out / f"{stem}.zip")
        else:
            written.append(out / f"{stem}_unw_phase.tif")
    return written


def _stamp(t: np.datetime64) -> str:
    return str(t.astype("datetime64[s]")).replace("-", "").replace(":", "")


def landsat_scenes(
    directory: Any,
    n_scenes: int = 6,
    size: int = 1024,
    start: str = "2024-03-01",
    spacing_days: int = 32,
    epsg: int = 32633,
    origin: tuple[float, float] = (399985.0, 5600015.0),
    cloud_fraction: float = 0.15,
    base_url: str | None = None,
    seed: int = 0,
) -> list[Any]:
    """Synthetic Landsat C2 L2 scenes as tiled, compressed COGs with overviews, and their STAC items.

    Bands ``red``, ``nir08`` (uint16 DN, scale 0.0000275, offset −0.2) and ``qa_pixel`` (clouds, dilated
    cloud and shadows in their C2 bits; the rest flagged clear). NDVI follows a seasonal curve over a
    field pattern. The grid sits on Landsat's pixel centres (origin 15 m off the 30 m grid). Items look like
    earth-search's ``landsat-c2-l2``: ``proj:epsg``/``proj:code``, ``raster:bands`` scale/offset,
    ``eo:cloud_cover``. Asset hrefs are ``base_url/<file>`` when given, else local paths.
    """
    import datetime as dt
    from pathlib import Path

    import pystac
    import rasterio
    from rasterio.transform import from_origin
    from rasterio.warp import transform_bounds

    from pangeoctl.geo import landsat

    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    transform = from_origin(origin[0], origin[1], 30, 30)
    yy, xx = np.mgrid[0:size, 0:size]
    fields = 0.35 + 0.25 * np.sin(xx / 37.0) * np.cos(yy / 53.0)  # patchy vegetation
    bounds = rasterio.transform.array_bounds(size, size, transform)
    west, south, east, north = transform_bounds(f"EPSG:{epsg}", "EPSG:4326", *bounds)
    items = []
    for k in range(n_scenes):
        date = np.datetime64(start) + np.timedelta64(k * spacing_days, "D")
        doy = (date - date.astype("datetime64[Y]")).astype(int)
        season = 0.6 + 0.4 * np.sin(2 * np.pi * (doy - 80) / 365.25)
        nd = np.clip(fields * season, 0.02, 0.9)
        nir = 0.28 + 0.04 * rng.standard_normal((size, size)) * 0.1
        red = nir * (1 - nd) / (1 + nd)
        qa = np.full((size, size), 1 << 6, dtype=np.uint16)  # clear
        cloud = _correlated_noise(rng, (size, size), size / 20) > np.quantile(rng.standard_normal(10000), 1 - cloud_fraction)
        dilated = np.zeros_like(cloud)
        dilated[1:-1, 1:-1] = cloud[:-2, 1:-1] | cloud[2:, 1:-1] | cloud[1:-1, :-2] | cloud[1:-1, 2:]
        shadow = np.roll(cloud, (12, 18), axis=(0, 1)) & ~cloud
        qa[dilated & ~cloud] = 1 << 1
        qa[cloud] = (1 << 3) | (1 << 1)
        qa[shadow] = 1 << 4
        red[cloud], nir[cloud] = 0.45, 0.5
        dn = {b: np.clip(np.round((r - landsat.OFFSET) / landsat.SCALE), 1, 65535).astype(np.uint16) for b, r in (("red", red), ("nir08", nir))}
        dn["qa_pixel"] = qa
        scene = f"LC09_L2SP_SYNTH_{str(date).replace('-', '')}"
        assets = {}
        for band, data in dn.items():
            path = out / f"{scene}_{band}.tif"
            profile = {
                "driver": "COG",
                "width": size,
                "height": size,
                "count": 1,
                "dtype": "uint16",
                "crs": f"EPSG:{epsg}",
                "transform": transform,
                "nodata": 1 if band == "qa_pixel" else 0,
                "blocksize": 256,
                "compress": "deflate",
                "overviews": "auto",
            }
            with rasterio.open(path, "w", **profile) as dst:
                dst.write(data, 1)
            href = f"{base_url.rstrip('/')}/{path.name}" if base_url else str(path)
            raster = {"data_type": "uint16", "nodata": profile["nodata"], "spatial_resolution": 30}
            if band != "qa_pixel":
                raster.update(scale=landsat.SCALE, offset=landsat.OFFSET)
            assets[band] = pystac.Asset(href, media_type=pystac.MediaType.COG, roles=["data"], extra_fields={"raster:bands": [raster]})
        cover = float(100 * (cloud | shadow).mean())
        item = pystac.Item(
            id=scene,
            geometry={"type": "Polygon", "coordinates": [[[west, south], [east, south], [east, north], [west, north], [west, south]]]},
            bbox=[west, south, east, north],
            datetime=dt.datetime.fromisoformat(str(date)).replace(tzinfo=dt.UTC),
            properties={
                "eo:cloud_cover": round(cover, 2),
                "proj:epsg": epsg,
                "proj:code": f"EPSG:{epsg}",
                "proj:shape": [size, size],
                "proj:transform": list(transform)[:6],
                "platform": "landsat-9",
                "landsat:collection_category": "T1",
                "instruments": ["oli", "tirs"],
            },
            collection="landsat-c2-l2",
        )
        for name, asset in assets.items():
            item.add_asset(name, asset)
        items.append(item)
    return items
