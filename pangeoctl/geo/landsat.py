"""Landsat Collection 2 Level-2: load from STAC items, mask clouds with QA_PIXEL, reflectance, NDVI.

Reads go through GDAL, so a ``https://`` asset is read with HTTP range requests: only the tiles that
intersect the area are fetched, never the whole 60 MB band.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from pangeoctl.geo.remote import AssetError, check_range

SCALE, OFFSET = 0.0000275, -0.2  # C2 L2 surface reflectance
FILL = 0
# QA_PIXEL bits that make a pixel unusable: fill, dilated cloud, cirrus, cloud, cloud shadow.
QA_BITS = {"fill": 0, "dilated_cloud": 1, "cirrus": 2, "cloud": 3, "cloud_shadow": 4}
QA_MASK = sum(1 << b for b in QA_BITS.values())


def cloud_mask(qa: Any) -> Any:
    """True where ``qa_pixel`` flags fill, dilated cloud, cirrus, cloud or cloud shadow."""
    return (qa.astype("uint16") & QA_MASK) != 0


def reflectance(dn: Any) -> Any:
    """Surface reflectance from C2 L2 digital numbers (scale 0.0000275, offset −0.2); fill (0) → NaN."""
    if isinstance(dn, np.ndarray):
        return np.where(dn != FILL, dn * SCALE + OFFSET, np.nan)
    return (dn * SCALE + OFFSET).where(dn != FILL)


def ndvi(stack: Any) -> Any:
    """Cloud-masked NDVI (time, y, x) from a (time, band, y, x) stack holding red, nir08 and qa_pixel."""
    red = reflectance(stack.sel(band="red"))
    nir = reflectance(stack.sel(band="nir08"))
    out = (nir - red) / (nir + red)
    out = out.where(~cloud_mask(stack.sel(band="qa_pixel")))
    return out.rename("ndvi").drop_vars("band", errors="ignore")


def composite(values: Any, how: str = "median") -> Any:
    """Per-pixel composite over time of a masked series (NaN skipped): ``median``, ``mean`` or ``max``."""
    if how not in ("median", "mean", "max"):
        raise ValueError(f"unknown composite {how!r}: use median, mean or max")
    return getattr(values, how)("time", skipna=True)


def preflight(items: Sequence[Any], bands: Sequence[str]) -> None:
    """Before building a lazy plan: the first scene's assets exist and their server honours HTTP Range."""
    for band in bands:
        if band not in items[0].assets:
            raise AssetError(f"scene {items[0].id} has no asset {band!r} (it has {', '.join(items[0].assets)}) — check `bands`")
        check_range(
            items[0].assets[band].href,
            forbidden_hint="sign the URLs (Planetary Computer) or set AWS_REQUEST_PAYER=requester with credentials (Landsat on AWS)",
            missing_hint="the catalog points at a file that is not there",
        )


def load(
    items: Sequence[Any],
    bbox: Sequence[float],
    bands: Sequence[str] = ("red", "nir08", "qa_pixel"),
    resolution: float = 30,
    chunks: int = 512,
) -> Any:
    """A lazy ``xarray.DataArray`` (time, band, y, x) of digital numbers over ``bbox`` (lon/lat).

    On the scenes' own UTM grid, with no half-pixel shift (Landsat pixel centres sit 15 m off the
    30 m grid, so bounds are not snapped). Values are raw uint16; apply :func:`reflectance` and
    :func:`cloud_mask` (or :func:`ndvi`).
    """
    import math

    import stackstac
    from rasterio.warp import transform_bounds

    if not items:
        raise ValueError("no scenes to load: the search found nothing — widen the dates or the area, or raise max_cloud")
    epsgs = {it.properties.get("proj:epsg") or int(str(it.properties.get("proj:code", "EPSG:0")).split(":")[1]) for it in items}
    if len(epsgs) != 1:
        raise ValueError(f"scenes span several UTM zones {sorted(epsgs)}: load one zone at a time")
    preflight(items, bands)
    epsg = epsgs.pop()
    # The area in the scenes' CRS, grown outward to whole pixels of the scenes' own grid, so every output
    # pixel is a source pixel (no resampling, no half-pixel shift).
    x0, y0 = items[0].properties["proj:transform"][2], items[0].properties["proj:transform"][5]
    w, s, e, n = transform_bounds("EPSG:4326", f"EPSG:{epsg}", *bbox)
    bounds = (
        x0 + math.floor((w - x0) / resolution) * resolution,
        y0 + math.floor((s - y0) / resolution) * resolution,
        x0 + math.ceil((e - x0) / resolution) * resolution,
        y0 + math.ceil((n - y0) / resolution) * resolution,
    )
    return stackstac.stack(
        list(items),
        assets=list(bands),
        epsg=epsg,
        resolution=resolution,
        bounds=bounds,
        snap_bounds=False,
        rescale=False,
        dtype="uint16",
        fill_value=np.uint16(FILL),
        chunksize=chunks,
    )
