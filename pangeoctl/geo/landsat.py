"""Landsat Collection 2 Level-2: load from STAC items, mask with QA_PIXEL and the valid range, reflectance, NDVI.

Reads go through GDAL, so a ``https://`` asset is read with HTTP range requests: only the tiles that
intersect the area are fetched, never the whole 60 MB band. The reading happens on the Dask workers, so
everything they need to read travels in the graph: the GDAL/AWS settings (``gdal_env``) and, for Planetary
Computer, the signing itself (:class:`SigningReader` signs each asset on the worker just before opening it,
so a job longer than a token's ~45 minutes does not fail midway).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from pangeoctl.geo.remote import PC_TOKEN_URL, AssetError, check_range, sas_sign

SCALE, OFFSET = 0.0000275, -0.2  # C2 L2 surface reflectance
FILL = 0
# USGS Landsat 8-9 C2 L2 Science Product Guide (LSDS-1619), table "Surface reflectance": valid range
# 7273–43636 (reflectance −0.0000075 … 1.0). Outside it the retrieval failed (or saturated).
VALID_RANGE = (7273, 43636)
# QA_PIXEL bits that make a pixel unusable: fill, dilated cloud, cirrus, cloud, cloud shadow, snow.
QA_BITS = {"fill": 0, "dilated_cloud": 1, "cirrus": 2, "cloud": 3, "cloud_shadow": 4, "snow": 5}
QA_MASK = sum(1 << b for b in QA_BITS.values())
# What a composite mixes by default: OLI (Landsat 8 and 9) Tier 1 only. Landsat 7 after 2003 has SLC-off
# stripes and ETM+ bands of their own; Tier 2 fails the geometric tolerance (USGS C2 tier definitions).
PLATFORMS = ("landsat-8", "landsat-9")
CATEGORIES = ("T1",)
# GDAL settings for reading COGs from object storage, carried to the workers in the graph (no secrets):
# retries for throttling, and no directory listings or sidecar probes (USGS/GDAL COG guidance).
GDAL_ENV = {
    "GDAL_HTTP_MAX_RETRY": "5",
    "GDAL_HTTP_RETRY_DELAY": "1",
    "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",
    "CPL_VSIL_CURL_ALLOWED_EXTENSIONS": ".tif,.TIF,.tiff",
    "GDAL_HTTP_MULTIRANGE": "YES",
    "GDAL_HTTP_MERGE_CONSECUTIVE_RANGES": "YES",
}
SAS_TOKEN_OPTION = "PANGEOCTL_SAS_TOKEN_URL"  # carried in gdal_env: the workers' readers sign with it


def cloud_mask(qa: Any, snow: bool = True) -> Any:
    """True where ``qa_pixel`` flags fill, dilated cloud, cirrus, cloud, cloud shadow — or snow (bit 5) when
    ``snow`` (the default: snow is bright in red and NIR and gives NDVI near 0, not vegetation)."""
    bits = QA_MASK if snow else QA_MASK & ~(1 << QA_BITS["snow"])
    return (qa.astype("uint16") & bits) != 0


def reflectance(dn: Any) -> Any:
    """Surface reflectance from C2 L2 digital numbers (scale 0.0000275, offset −0.2); fill (0) and values
    outside USGS's valid range 7273–43636 → NaN."""
    lo, hi = VALID_RANGE
    if isinstance(dn, np.ndarray):
        return np.where((dn >= lo) & (dn <= hi), dn * SCALE + OFFSET, np.nan)
    return (dn * SCALE + OFFSET).where((dn >= lo) & (dn <= hi))


def ndvi(stack: Any, snow: bool = True) -> Any:
    """Masked NDVI (time, y, x) from a (time, band, y, x) stack holding red, nir08 and qa_pixel: clouds,
    shadows, snow (unless ``snow=False``) and out-of-range reflectance are NaN."""
    red = reflectance(stack.sel(band="red"))
    nir = reflectance(stack.sel(band="nir08"))
    out = (nir - red) / (nir + red)
    out = out.where(~cloud_mask(stack.sel(band="qa_pixel"), snow=snow))
    return out.rename("ndvi").drop_vars("band", errors="ignore")


def composite(values: Any, how: str = "median") -> Any:
    """Per-pixel composite over time of a masked series (NaN skipped): ``median``, ``mean`` or ``max``."""
    if how not in ("median", "mean", "max"):
        raise ValueError(f"unknown composite {how!r}: use median, mean or max")
    return getattr(values, how)("time", skipna=True)


def area_mean(values: Any, min_valid_fraction: float = 0.5) -> Any:
    """Mean over the area per date, NaN for dates where fewer than ``min_valid_fraction`` of the pixels are
    valid — so a mostly cloudy date does not become a point of the series made of a few pixels."""
    valid = values.notnull().mean(["y", "x"])
    return values.mean(["y", "x"]).where(valid >= min_valid_fraction)


def select(items: Sequence[Any], platforms: Sequence[str] | None = PLATFORMS, categories: Sequence[str] | None = CATEGORIES) -> list[Any]:
    """The items whose ``platform`` and ``landsat:collection_category`` are among those given (None: any);
    a warning says how many were left out and why. Items without the property are kept."""
    kept, dropped = [], []
    for it in items:
        p, c = it.properties.get("platform"), it.properties.get("landsat:collection_category")
        p = p.lower().replace("_", "-") if isinstance(p, str) else p  # USGS's own STAC writes LANDSAT_9
        if (platforms is not None and p is not None and p not in platforms) or (categories is not None and c is not None and c not in categories):
            dropped.append(f"{it.id} ({p}, {c})")
        else:
            kept.append(it)
    if dropped:
        warnings.warn(
            f"left out {len(dropped)} of {len(items)} scenes not in platforms={list(platforms or [])} / categories={list(categories or [])}: "
            f"{', '.join(dropped[:3])}{' …' if len(dropped) > 3 else ''} — pass platforms=None / categories=None to keep them",
            UserWarning,
            stacklevel=2,
        )
    return kept


def preflight(items: Sequence[Any], bands: Sequence[str], gdal_env: dict[str, str] | None = None) -> None:
    """Before building a lazy plan: the first scene's assets exist and can be read — HTTP Range honoured,
    an ``s3://`` object opened with the settings the workers will use (requester pays, credentials)."""
    import rasterio

    env = dict(gdal_env or {})
    for band in bands:
        if band not in items[0].assets:
            raise AssetError(f"scene {items[0].id} has no asset {band!r} (it has {', '.join(items[0].assets)}) — check `bands`")
        href = items[0].assets[band].href
        if env.get(SAS_TOKEN_OPTION) and "sig=" not in href:
            href = sas_sign(href, env[SAS_TOKEN_OPTION])
        if href.startswith("s3://"):
            # Not cached: GDAL would otherwise remember a refusal, and a retry with the fix would fail the same way.
            probe = {k: v for k, v in env.items() if k != SAS_TOKEN_OPTION} | {"CPL_VSIL_CURL_NON_CACHED": "/vsis3/" + href[5:].split("/")[0] + "/"}
            try:
                with rasterio.Env(**probe), rasterio.open(href):
                    pass
            except rasterio.errors.RasterioIOError as e:
                msg = str(e)
                if "AWS_SECRET_ACCESS_KEY" in msg or "credentials" in msg.lower():
                    fix = "it needs AWS credentials (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or a role) on this machine and on the workers"
                elif env.get("AWS_REQUEST_PAYER") != "requester":
                    fix = (
                        "the bucket is requester-pays (usgs-landsat is): pass requester_pays=True to load() — your AWS account then pays "
                        "the transfer — or use Planetary Computer's landsat-c2-l2"
                    )
                else:
                    fix = "check the credentials' permissions and the region (usgs-landsat is in us-west-2)"
                raise AssetError(f"cannot read {href}: {msg.splitlines()[0][:200]} — {fix}") from None
            continue
        check_range(
            href,
            forbidden_hint="sign the URLs (Planetary Computer) or read the s3:// assets with requester_pays=True (Landsat on AWS)",
            missing_hint="the catalog points at a file that is not there",
        )


try:  # a module-level class, so the graph pickles it by reference
    from stackstac.rio_reader import AutoParallelRioReader as _Base
except ImportError:  # pragma: no cover — stackstac is in the geo extra
    _Base = object  # type: ignore[misc,assignment]


class SigningReader(_Base):  # type: ignore[misc,valid-type]
    """stackstac's reader, with the URL signed on the worker when ``gdal_env`` carries a SAS token URL."""

    def _open(self) -> Any:
        token_url = dict(getattr(self.gdal_env, "_always", {})).get(SAS_TOKEN_OPTION)
        url: str = self.url  # type: ignore[has-type]
        if token_url and "sig=" not in url:
            self.url = sas_sign(url, token_url)
        return super()._open()


def utm_epsg(lon: float, lat: float) -> int:
    """The WGS 84 / UTM zone EPSG code of a point (326xx north, 327xx south)."""
    return (32600 if lat >= 0 else 32700) + min(60, int(math.floor((lon + 180) / 6)) + 1)


def load(
    items: Sequence[Any],
    bbox: Sequence[float],
    bands: Sequence[str] = ("red", "nir08", "qa_pixel"),
    resolution: float = 30,
    chunks: int = 512,
    *,
    platforms: Sequence[str] | None = PLATFORMS,
    categories: Sequence[str] | None = CATEGORIES,
    requester_pays: bool = False,
    gdal_env: dict[str, str] | None = None,
    sign: bool | None = None,
) -> Any:
    """A lazy ``xarray.DataArray`` (time, band, y, x) of digital numbers over ``bbox`` (lon/lat).

    On the scenes' own UTM grid with pixel-centre coordinates (``xy_coords="center"``: what ``rio.to_raster``
    and every GIS reads; stackstac's default "topleft" shifts a written GeoTIFF by half a pixel, stackstac
    #168/#207). A bbox whose scenes span two UTM zones is put on the zone of the bbox's centre (the other
    zone's scenes are resampled, nearest neighbour). Values are raw uint16; apply :func:`ndvi`.

    ``platforms``/``categories`` filter the items (default OLI Tier 1, :func:`select`). ``requester_pays``
    lets GDAL read requester-pays buckets (Earth Search's ``s3://usgs-landsat``: your account pays).
    ``gdal_env`` adds GDAL options to :data:`GDAL_ENV`; they go to the workers with the graph (never put
    secrets there: workers take credentials from their own environment). ``sign`` signs Planetary
    Computer assets on the workers (default: when the assets are on ``*.blob.core.windows.net``).
    """
    import stackstac
    from rasterio.warp import transform_bounds
    from stackstac.rio_env import LayeredEnv

    if not items:
        raise ValueError("no scenes to load: the search found nothing — widen the dates or the area, or raise max_cloud")
    items = select(items, platforms, categories)
    if not items:
        raise ValueError(f"no scenes left after the platform/category filter ({list(platforms or [])}, {list(categories or [])})")
    env = {**GDAL_ENV, **({"AWS_REQUEST_PAYER": "requester"} if requester_pays else {}), **(gdal_env or {})}
    hrefs = [a.href for a in items[0].assets.values()]
    if sign if sign is not None else any(".blob.core.windows.net" in h for h in hrefs):
        env.setdefault(SAS_TOKEN_OPTION, PC_TOKEN_URL)
    epsgs = {it.properties.get("proj:epsg") or int(str(it.properties.get("proj:code", "EPSG:0")).split(":")[1]) for it in items}
    epsg = epsgs.pop() if len(epsgs) == 1 else utm_epsg((bbox[0] + bbox[2]) / 2, (bbox[1] + bbox[3]) / 2)
    preflight(items, bands, env)
    # The area in the output CRS, grown outward to whole pixels of the scenes' own grid, so every output
    # pixel is a source pixel (no resampling, no half-pixel shift) where the scenes are in that CRS.
    on_grid = next((it for it in items if (it.properties.get("proj:epsg") or 0) == epsg and "proj:transform" in it.properties), None)
    x0, y0 = (on_grid.properties["proj:transform"][2], on_grid.properties["proj:transform"][5]) if on_grid else (resolution / 2, resolution / 2)
    w, s, e, n = transform_bounds("EPSG:4326", f"EPSG:{epsg}", *bbox)
    bounds = (
        x0 + math.floor((w - x0) / resolution) * resolution,
        y0 + math.floor((s - y0) / resolution) * resolution,
        x0 + math.ceil((e - x0) / resolution) * resolution,
        y0 + math.ceil((n - y0) / resolution) * resolution,
    )
    layered = LayeredEnv(always=env, open={"GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR", "VSI_CACHE": True}, read={"VSI_CACHE": False})
    return stackstac.stack(
        list(items),
        assets=list(bands),
        epsg=epsg,
        resolution=resolution,
        bounds=bounds,
        snap_bounds=False,
        xy_coords="center",
        rescale=False,
        dtype="uint16",
        fill_value=np.uint16(FILL),
        chunksize=chunks,
        gdal_env=layered,
        reader=SigningReader,
    )
