"""ASF HyP3 InSAR products (``INSAR_GAMMA``) as one lazy SBAS stack.

A HyP3 interferogram is a set of GeoTIFFs named after the pair, e.g.
``S1AA_20161223T070700_20170116T070658_VVP024_INT80_G_ueF_74C2_unw_phase.tif`` (reference and secondary
acquisition times, polarisation, days between them, looks, job id), with ``…_corr.tif`` next to it for the
coherence. :func:`open_stack` takes the unwrapped-phase files — local paths, ``https://`` or ``s3://`` URLs,
or the products' ``.zip`` files as HyP3 hands them out — and returns one ``(pair, y, x)`` stack on the
products' common grid, read lazily in chunks through GDAL (HTTP range requests for URLs), with the dates
and pair indices :func:`pangeoctl.geo.insar.invert` needs.

Each interferogram is unwrapped from its own starting pixel, so their phases differ by a constant per pair;
:func:`pangeoctl.geo.insar.reference` removes it before the inversion.

Next to each product's rasters: ``<name>.txt`` (HyP3's parameter file: ``Heading``, looks…),
``<name>_water_mask.tif`` (1 over land, 0 over water: the convention MintPy's ``waterMask`` reads) and, when
the job asked for look vectors, ``<name>_lv_theta.tif`` (look-vector elevation angle, radians).
"""

from __future__ import annotations

import os
import re
import zipfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from pangeoctl.geo.remote import AssetError, RangeFile, check_range

# The day field has 3 or 4 digits (pairs ≥ 1000 days apart), as MintPy's prep_hyp3 parses it.
NAME = re.compile(
    r"(?P<stem>S1[ABCD_]{2}_(?P<ref>\d{8}T\d{6})_(?P<sec>\d{8}T\d{6})_(?P<pol>[VH]{2})[PRO](?P<days>\d{3,4})_INT(?P<looks>\d+)_[GW]_\w{3}_[0-9A-F]{4})"
)
PHASE, COHERENCE, WATER, LV_THETA = "_unw_phase.tif", "_corr.tif", "_water_mask.tif", "_lv_theta.tif"
# HyP3 multilooking by product pixel size (INSAR_GAMMA product guide): INT80 = 20×4 looks, INT40 = 10×2.
LOOKS = {80: (20, 4), 40: (10, 2)}
LOOKS_PER_INDEPENDENT_LOOK = 1.94  # Sentinel-1 IW resolution ÷ pixel size, MintPy ifgram_inversion.calc_weight_sqrt


@dataclass(frozen=True)
class Product:
    """One interferogram: its name stem, where its files are, and the two acquisition times."""

    stem: str
    location: str  # as given: a path, URL or zip
    phase: str  # GDAL path of the unwrapped phase
    reference: np.datetime64
    secondary: np.datetime64
    pixel_size: int = 80

    @property
    def coherence(self) -> str:
        return self.phase[: -len(PHASE)] + COHERENCE

    @property
    def water_mask(self) -> str:
        return self.phase[: -len(PHASE)] + WATER

    @property
    def lv_theta(self) -> str:
        return self.phase[: -len(PHASE)] + LV_THETA

    @property
    def looks(self) -> float:
        """Independent looks for phase-variance weights: range × azimuth looks ÷ 1.94 (MintPy's rule for S1)."""
        rg, az = LOOKS.get(self.pixel_size, (self.pixel_size // 4, self.pixel_size // 20 or 1))
        return rg * az / LOOKS_PER_INDEPENDENT_LOOK

    def metadata(self) -> dict[str, str] | None:
        """HyP3's ``<name>.txt`` parameter file as a dict (``Heading``, ``Range looks``…), or None when it cannot
        be read here (absent; on s3:// it would need credentials)."""
        import urllib.request

        txt = f"{self.stem}.txt"
        try:
            if self.location.endswith(".zip"):
                if self.location.startswith("s3://"):
                    return None
                src: Any = RangeFile(self.location) if self.location.startswith(("http://", "https://")) else open(self.location, "rb")  # noqa: SIM115
                with src, zipfile.ZipFile(src) as z:
                    text = z.read(f"{self.stem}/{txt}").decode()
            else:
                path = self.location[: -len(PHASE)] + ".txt"
                if path.startswith("s3://"):
                    return None
                if path.startswith(("http://", "https://")):
                    with urllib.request.urlopen(path, timeout=30) as r:
                        text = r.read().decode()
                else:
                    with open(path) as f:
                        text = f.read()
        except (OSError, KeyError, urllib.error.URLError, zipfile.BadZipFile):
            return None
        return {k.strip(): v.strip() for k, _, v in (line.partition(":") for line in text.splitlines()) if v}

    def orbit_direction(self) -> str | None:
        """``ascending``/``descending`` from the parameter file's ``Heading`` (|heading| < 90° after wrapping to
        (−360, 0], as MintPy's prep_hyp3 decides), or None without one."""
        meta = self.metadata()
        if not meta or "Heading" not in meta:
            return None
        return "ascending" if abs(float(meta["Heading"]) % 360 - 360) < 90 else "descending"


def product(location: str) -> Product:
    """Parse a HyP3 file or zip location; ``ValueError`` naming it when it is not a HyP3 InSAR name."""
    name = location.rstrip("/").rsplit("/", 1)[-1]
    m = NAME.search(name)
    if not m or not (name.endswith(PHASE) or name.endswith(".zip")):
        raise ValueError(
            f"{location!r} is not a HyP3 InSAR unwrapped-phase file: expected a name like "
            f"S1AA_20161223T070700_20170116T070658_VVP024_INT80_G_ueF_74C2{PHASE} (or the product's .zip)"
        )
    stem = m["stem"]
    if name.endswith(".zip"):  # read inside the archive, as HyP3 publishes it: <stem>.zip/<stem>/<stem>_unw_phase.tif
        # GDAL's own prefixes inside /vsizip/: rasterio translates a bare s3:// only at the outermost level.
        if location.startswith(("http://", "https://")):
            inner = f"/vsicurl/{location}"
        elif location.startswith("s3://"):
            inner = "/vsis3/" + location.removeprefix("s3://")
        else:
            inner = location
        phase = f"/vsizip/{inner}/{stem}/{stem}{PHASE}"
    else:
        phase = location
    t = [np.datetime64(f"{s[:4]}-{s[4:6]}-{s[6:8]}T{s[9:11]}:{s[11:13]}:{s[13:15]}", "s") for s in (m["ref"], m["sec"])]
    if t[1] <= t[0]:
        raise ValueError(f"{name}: the secondary acquisition is not after the reference")
    return Product(stem, location, phase, t[0], t[1], int(m["looks"]))


def acquisition_dates(products: Sequence[Product], tolerance_s: int = 600) -> np.ndarray:
    """The distinct acquisitions (a frame's scenes of one pass differ by seconds between products)."""
    times = np.sort(np.array([p.reference for p in products] + [p.secondary for p in products]))
    keep = np.concatenate([[True], np.diff(times).astype(int) > tolerance_s])
    return times[keep]


def open_stack(files: str | Sequence[str], *, coherence: bool = True, chunks: int = 512) -> Any:
    """A lazy ``xarray.Dataset`` from HyP3 unwrapped-phase files: paths, URLs or product zips, or as one
    string a glob or a folder (its ``*_unw_phase.tif``, else its ``*.zip``).

    Returns ``unwrapped`` (pair, y, x) radians (HyP3's nodata 0 → NaN), ``coherence`` (pair, y, x) when
    asked for (its ``looks`` attribute: independent looks, for variance weights), ``water_mask`` (y, x; True
    over land, as MintPy reads it) and ``lv_theta`` (y, x; radians, for :func:`insar.los_to_vertical`) when
    the products carry them, coordinates ``date`` (acquisitions),
    ``ref``/``sec`` (date indices per pair), ``product`` (name stems), ``x``/``y``, the CRS, and the attribute
    ``orbit_direction`` read from the parameter files. Ascending and descending products (different
    geometries: their LOS differ) in one stack are refused. Products are cut to the area they all cover; they must share a
    CRS and a pixel grid (HyP3 products of one frame do). ``chunks`` is the side of the image chunks: the
    inversion holds one chunk of every pair at once, ``pairs × chunks² × 4`` bytes (twice with coherence)
    — 200 MB for 100 pairs at 512.
    """
    import glob

    import rioxarray
    import xarray as xr

    paths: Any = files
    if isinstance(files, str) and not files.startswith(("http://", "https://", "s3://")):
        # A folder: the unwrapped-phase files in it, or else the product zips (as downloaded from HyP3).
        patterns = [os.path.join(files, "*" + PHASE), os.path.join(files, "*.zip")] if os.path.isdir(files) else [files]
        paths = next((hits for pattern in patterns if (hits := sorted(glob.glob(pattern)))), [])
    paths = [paths] if isinstance(paths, str) else list(paths)
    if not paths:
        raise ValueError(f"no HyP3 products found at {files!r}: pass the *{PHASE} files (or the product .zip files)")
    found = [product(p) for p in paths]
    dates = acquisition_dates(found)

    def date_index(t: np.datetime64) -> int:
        return int(np.abs((dates - t).astype(int)).argmin())

    pairs: dict[tuple[int, int], Product] = {}
    for p in found:
        key = (date_index(p.reference), date_index(p.secondary))
        if key in pairs:
            raise ValueError(f"{p.stem} and {pairs[key].stem} are the same pair of acquisitions: keep one")
        pairs[key] = p
    keys = sorted(pairs)
    products = [pairs[k] for k in keys]
    check_range(products[0].location, forbidden_hint="HyP3 download URLs expire: list the job's files again, or copy them to your bucket")
    with ThreadPoolExecutor(8) as pool:
        directions = list(pool.map(Product.orbit_direction, products))
    seen = {d: next(p.stem for p, dd in zip(products, directions, strict=True) if dd == d) for d in ("ascending", "descending") if d in directions}
    if len(seen) > 1:
        raise ValueError(
            f"the products mix ascending ({seen['ascending']}) and descending ({seen['descending']}) passes: their lines of sight differ, "
            "so one SBAS stack cannot hold both — invert each pass on its own"
        )

    def open_one(path: str, what: str) -> Any:
        try:
            # Lazily, without dask: chunked only once cut to the common area (``cut``), so every product's chunks
            # start at the same pixel and the stack needs no rechunking (per-product chunks, each offset by its
            # own margin, had made ~10 000 tiny tasks of a 66-product stack: 30 s on a cluster for 64×64 pixels).
            da = rioxarray.open_rasterio(path, masked=True, cache=False)
        except Exception as e:  # rasterio raises RasterioIOError, with GDAL's own message
            raise AssetError(f"cannot open the {what} {path}: {e}") from None
        return da.squeeze("band", drop=True)  # type: ignore[union-attr]  # one band → one DataArray

    phases = [open_one(p.phase, "unwrapped phase") for p in products]
    crs = {str(da.rio.crs) for da in phases}
    if len(crs) != 1:
        raise ValueError(f"the products are in several CRSs ({', '.join(sorted(crs))}): use products of one frame")
    res = {tuple(np.round(da.rio.resolution(), 6)) for da in phases}
    if len(res) != 1:
        raise ValueError(f"the products have different pixel sizes {sorted(res)}: order them with the same looks")
    (dx, dy) = res.pop()
    west = max(float(da.x[0]) for da in phases)
    east = min(float(da.x[-1]) for da in phases)
    north = min(float(da.y[0]) for da in phases)
    south = max(float(da.y[-1]) for da in phases)
    if west > east or south > north:
        raise ValueError("the products do not overlap: they must cover a common area")

    def cut(da: Any, name: str) -> Any:
        i0, i1 = (np.array([west, east]) - float(da.x[0])) / dx
        j0, j1 = (np.array([north, south]) - float(da.y[0])) / dy
        if max(abs(v - round(v)) for v in (i0, i1, j0, j1)) > 1e-3:
            raise ValueError(f"{name} is not on the same pixel grid as the others: resample it (or reorder the job) first")
        return da.isel(x=slice(round(i0), round(i1) + 1), y=slice(round(j0), round(j1) + 1)).chunk({"y": chunks, "x": chunks})

    cut_phases = [cut(da, p.stem) for da, p in zip(phases, products, strict=True)]
    ref = np.array([i for i, _ in keys])
    sec = np.array([j for _, j in keys])
    grid = cut_phases[0]
    variables = {"unwrapped": xr.concat([d.assign_coords(x=grid.x, y=grid.y) for d in cut_phases], dim="pair").astype("float32")}
    if coherence:
        cohs = [cut(open_one(p.coherence, "coherence"), p.stem) for p in products]
        variables["coherence"] = xr.concat([d.assign_coords(x=grid.x, y=grid.y) for d in cohs], dim="pair").astype("float32")
        variables["coherence"].attrs = {"units": "1", "looks": products[0].looks}

    def optional(path: str, what: str) -> Any:
        """A per-frame layer of the first product (the same for every pair of a frame), or None without it."""
        try:
            return cut(open_one(path, what), products[0].stem).assign_coords(x=grid.x, y=grid.y)
        except AssetError:
            return None

    if (water := optional(products[0].water_mask, "water mask")) is not None:
        variables["water_mask"] = (water == 1).assign_attrs(long_name="land (True) / water (False), HyP3's water mask")
    if (lv_theta := optional(products[0].lv_theta, "look-vector elevation")) is not None:
        variables["lv_theta"] = lv_theta.assign_attrs(units="rad", long_name="look-vector elevation angle (incidence = 90° − lv_theta)")
    ds = xr.Dataset(
        variables,
        coords={"date": dates, "ref": ("pair", ref), "sec": ("pair", sec), "product": ("pair", [p.stem for p in products])},
        attrs={"orbit_direction": next((d for d in directions if d), "unknown")},
    )
    return ds.rio.write_crs(grid.rio.crs)
