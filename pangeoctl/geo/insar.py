"""Small-baseline (SBAS) time series from unwrapped interferograms: pair networks and a vectorised inversion.

The model is the *displacement form*: for a pair (reference i, secondary j) the unwrapped phase is
``phi_ij = phase(j) - phase(i)``, with the first date's phase fixed at 0. The design matrix ``A`` has one row
per pair and one column per date after the first, +1 at the secondary, -1 at the reference. Phase
converts to line-of-sight displacement with ``d = -wavelength / (4 pi) * phase`` (the convention of
MintPy's ``range2phase = -4 pi / wavelength``), so positive is motion towards the satellite.

The solve (``solve_block``) is compiled (numba, in ``_sbas_kernel``) and works on blocks of pixels with
the pixel index innermost, without a per-pixel Python loop:

- every pair valid, no weights: all pixels share one banded Cholesky factor of ``AᵀA``; a pixel costs
  ``Aᵀy`` (two adds per pair) and two banded substitutions — as fast as a bare ``pinv(A) @ Y``;
- some interferograms NaN at some pixels, or per-pair per-pixel weights: the masked, weighted normal
  equations ``(Aᵀ W A) x = Aᵀ W y`` built and factored per pixel (NaN gets weight 0); the matrix is banded
  (half-bandwidth = the longest pair in dates), so the cost stays ``m·b²`` per pixel;
- a network split in disconnected parts (by design or by NaN) shows as a zero pivot: those pixels get the
  minimum-norm solution, as MintPy and SBAS codes do, and are flagged ``connected = False``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal

import numpy as np

SENTINEL1_WAVELENGTH = 0.05546576  # metres, C band
DAYS_PER_YEAR = 365.25


class InSARInputError(ValueError):
    """The stack, the pairs and the dates do not fit together; the message says how."""


# ------------------------------------------------------------------ networks


def pair_network(
    dates: Sequence[Any],
    method: Literal["sequential", "all", "max-baseline"] = "sequential",
    num_connections: int = 3,
    max_days: float | None = None,
) -> list[tuple[int, int]]:
    """Interferogram pairs as ``(reference, secondary)`` date indices, reference first, sorted, unique.

    ``sequential`` links each date to its next ``num_connections`` dates (n·k − k(k+1)/2 pairs: 2n−3 for
    k=2, 3n−6 for k=3); ``all`` every pair (n(n−1)/2); ``max-baseline`` every pair at most ``max_days``
    apart. ``max_days`` also caps the other two methods.
    """
    t = _days(dates)
    n = len(t)
    if n < 2:
        raise InSARInputError(f"a network needs at least 2 dates, got {n}")
    if method == "sequential":
        if num_connections < 1:
            raise InSARInputError("num_connections must be ≥ 1")
        pairs = [(i, j) for i in range(n) for j in range(i + 1, min(n, i + 1 + num_connections))]
    elif method == "all":
        pairs = [(i, j) for i in range(n) for j in range(i + 1, n)]
    elif method == "max-baseline":
        if max_days is None:
            raise InSARInputError("method 'max-baseline' needs max_days")
        pairs = [(i, j) for i in range(n) for j in range(i + 1, n)]
    else:
        raise InSARInputError(f"unknown method {method!r}: use 'sequential', 'all' or 'max-baseline'")
    if max_days is not None:
        pairs = [(i, j) for i, j in pairs if t[j] - t[i] <= max_days]
    return pairs


def connected_components(pairs: Sequence[tuple[int, int]], n_dates: int) -> list[list[int]]:
    """Groups of dates linked by the pairs (union-find). One group means the network is connected."""
    parent = list(range(n_dates))

    def find(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    for i, j in pairs:
        parent[find(i)] = find(j)
    groups: dict[int, list[int]] = {}
    for d in range(n_dates):
        groups.setdefault(find(d), []).append(d)
    return sorted(groups.values())


def design_matrix(pairs: Sequence[tuple[int, int]], n_dates: int) -> np.ndarray:
    """``A`` (pairs × dates−1) of the displacement form: +1 at the secondary, −1 at the reference."""
    a = np.zeros((len(pairs), n_dates - 1))
    for k, (i, j) in enumerate(pairs):
        if not (0 <= i < n_dates and 0 <= j < n_dates) or i == j:
            raise InSARInputError(f"pair {k} = ({i}, {j}) references a date outside 0…{n_dates - 1} (or itself)")
        if j > 0:
            a[k, j - 1] += 1
        if i > 0:
            a[k, i - 1] -= 1
    return a


# ------------------------------------------------------------------ inversion


def _days(dates: Any) -> np.ndarray:
    d = np.asarray(dates)
    if np.issubdtype(d.dtype, np.datetime64):
        return (d - d[0]).astype("timedelta64[s]").astype(float) / 86400.0
    if np.issubdtype(d.dtype, np.number):
        return d.astype(float) - float(d[0])
    return _days(np.asarray(d, dtype="datetime64[s]"))


def _incidence(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Reference and secondary date of each row of a displacement-form design matrix (0 = first date)."""
    a = np.asarray(a)
    plus, minus = a == 1, a == -1
    if not (plus.sum(axis=1) == 1).all() or (minus.sum(axis=1) > 1).any() or ((a != 0).sum(axis=1) != plus.sum(axis=1) + minus.sum(axis=1)).any():
        raise InSARInputError("the design matrix must have the displacement form of design_matrix(): one +1 and at most one −1 per row")
    sec = plus.argmax(axis=1) + 1
    ref = np.where(minus.any(axis=1), minus.argmax(axis=1) + 1, 0)
    return ref.astype(np.int64), sec.astype(np.int64)


def _threaded(npix: int, threads: int | None, fn: Callable[[int, int], None]) -> None:
    """``fn(start, stop)`` over ``npix`` pixels split in ``threads`` ranges (default: one per core, each with
    at least 16 384 pixels). The kernels release the GIL, so the ranges run in parallel."""
    n = threads or max(1, min(len(os.sched_getaffinity(0)), npix // 16384))
    bounds = np.linspace(0, npix, n + 1).astype(int)
    if n == 1:
        fn(0, npix)
        return
    with ThreadPoolExecutor(n) as pool:
        list(pool.map(fn, bounds[:-1], bounds[1:]))


def _min_norm(a: np.ndarray, y: np.ndarray, w: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Minimum-norm least squares ``pinv(W½A) W½y`` per pixel, for systems the Cholesky found singular.

    Returns ``x`` (m, pixels; NaN where no pair is valid) and the unweighted RMS residual over valid pairs.
    """
    valid = np.isfinite(y) if w is None else np.isfinite(y) & (w > 0)
    y0 = np.where(valid, y, 0.0)
    if valid.all() and w is None:
        x = np.linalg.pinv(a) @ y0
    else:
        ww = valid.astype(np.float64) if w is None else np.where(valid, w, 0.0)
        x = np.empty((a.shape[1], y.shape[1]))
        for s in range(0, y.shape[1], 4096):  # (pixels, m, m) normal matrices in slices that stay small
            sl = slice(s, s + 4096)
            n_mat = np.einsum("pk,pn,pl->nkl", a, ww[:, sl], a)
            x[:, sl] = np.einsum("nkl,nl->kn", np.linalg.pinv(n_mat, hermitian=True), (ww[:, sl] * y0[:, sl]).T @ a)
    resid = np.where(valid, a @ x - y0, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        rms = np.sqrt((resid**2).sum(axis=0) / valid.sum(axis=0))
    x[:, ~valid.any(axis=0)] = np.nan
    return x, rms


def solve_block(
    a: np.ndarray, y: np.ndarray, w: np.ndarray | None = None, *, threads: int | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Phase time series for a block of pixels.

    Parameters
    ----------
    a : (pairs, m) design matrix of the displacement form (``design_matrix``).
    y : (pairs, pixels) unwrapped phase; NaN where an interferogram has no value.
    w : (pairs, pixels) non-negative weights (e.g. coherence), or None; 0 or NaN drops the pair there.
    threads : how many threads share the pixels (default: one per core for large blocks).

    Returns
    -------
    x : (m, pixels) phase of each date after the first (NaN where no pair is valid).
    rms : (pixels,) RMS phase residual over the valid pairs.
    connected : (pixels,) False where the valid pairs leave the network in several parts; the solution
        there is the minimum-norm one, as MintPy and other SBAS codes give.
    """
    from pangeoctl.geo import _sbas_kernel as K

    ref, sec = _incidence(a)
    y = np.ascontiguousarray(y if np.issubdtype(np.asarray(y).dtype, np.floating) else np.asarray(y, dtype=np.float64))
    dtype = y.dtype
    p, m = a.shape
    npix = y.shape[1]
    wk = None if w is None else np.ascontiguousarray(w, dtype=dtype)
    pairs = list(zip(ref.tolist(), sec.tolist(), strict=True))
    network_connected = len(connected_components(pairs, m + 1)) == 1
    bw = int((sec - ref)[ref > 0].max(initial=0))
    block = max(16, min(128, 2**15 // (m * (bw + 1))))  # pixels per vector step: a block's band stays ≤ 256 KiB, in L2
    x = np.empty((m, npix), dtype)
    rms = np.empty(npix, dtype)
    singular = np.zeros(npix, dtype=bool)
    connected = np.ones(npix, dtype=bool)

    def general(cols: np.ndarray | None) -> None:
        """``solve_general`` on all pixels or on the columns ``cols``; results land in place."""
        n = npix if cols is None else cols.size
        _threaded(n, threads, lambda s, e: K.solve_general(y, wk, cols, ref, sec, bw, block, s, e, network_connected, x, rms, singular, connected))

    if w is None and network_connected:
        # One factor for every pixel; the pixels with a NaN among their pairs go on to the general solve.
        chol = np.linalg.cholesky(a.T @ a)
        lband = np.zeros((m, bw + 1))
        for d in range(bw + 1):
            lband[d:, d] = np.diagonal(chol, -d)
        incomplete = np.empty(npix, dtype=bool)
        _threaded(npix, threads, lambda s, e: K.solve_shared(y, ref, sec, lband, 1 / np.diagonal(chol), block, s, e, x, rms, incomplete))
        if incomplete.any():
            general(np.flatnonzero(incomplete))
    else:
        general(None)
    bad = np.flatnonzero(singular)
    if bad.size:
        x[:, bad], rms[bad] = _min_norm(a, y[:, bad], None if wk is None else wk[:, bad])
    return x, rms, connected


def reference(unwrapped: Any, *, y: float | None = None, x: float | None = None, coherence: Any = None) -> tuple[Any, tuple[float, float]]:
    """Interferograms relative to one reference pixel: each minus its own phase there.

    Each interferogram is unwrapped from a starting pixel of its own, so its phase carries an unknown
    constant; subtracting the value at a common pixel removes it (displacements are then relative to
    that pixel). ``unwrapped`` is an ``xarray.DataArray`` (pair, y, x). The pixel is the one nearest to
    the coordinates ``y``/``x``, or — without them — the pixel valid in every interferogram with the
    highest mean ``coherence`` (MintPy's default choice). Returns the referenced array and the pixel's
    ``(y, x)`` coordinates.
    """
    if y is None or x is None:
        if coherence is None:
            raise InSARInputError("give the reference pixel (y=…, x=…) or the coherence to choose one")
        score = coherence.mean("pair").where(unwrapped.notnull().all("pair")).fillna(-1.0).compute()
        if float(score.max()) < 0:
            raise InSARInputError("no pixel has a value in every interferogram: choose the reference pixel yourself (y=…, x=…)")
        iy, ix = np.unravel_index(int(np.argmax(score.values)), score.shape)
        y, x = float(score.y[iy]), float(score.x[ix])
    at = unwrapped.sel(y=y, x=x, method="nearest")
    values = at.compute()
    missing = int(values.isnull().sum())
    if missing:
        raise InSARInputError(f"the reference pixel (y={y}, x={x}) has no value in {missing} interferograms: choose one valid in all of them")
    return unwrapped - values.drop_vars(["y", "x"]), (float(at.y), float(at.x))


def invert(
    unwrapped: Any,
    pairs: Sequence[tuple[int, int]],
    dates: Sequence[Any],
    *,
    wavelength: float = SENTINEL1_WAVELENGTH,
    weights: Any = None,
    mask: Any = None,
    seasonal: bool = True,
):
    """Displacement time series and velocity from unwrapped interferograms.

    Parameters
    ----------
    unwrapped : (pair, y, x) unwrapped phase in radians — numpy, dask or xarray. NaN marks missing values.
        With dask, chunk over y/x only (one chunk along pairs); each chunk is solved on a worker.
    pairs : (reference, secondary) date indices, one per interferogram.
    dates : acquisition dates (datetime64 or day numbers), at least 4.
    weights : optional (pair, y, x) non-negative weights, e.g. coherence.
    mask : optional (y, x) boolean, True where pixels are to be solved.
    seasonal : fit an annual sine/cosine next to the trend when estimating ``velocity`` (needs ≥ 9 months).

    Returns
    -------
    xarray.Dataset with ``displacement`` (date, y, x) metres relative to the first date, ``velocity``
    (y, x) metres/year (least-squares trend through the displacements), ``residual`` (y, x) RMS phase
    residual in radians, and ``connected`` (y, x) False where the network was split (minimum-norm there).
    """
    import xarray as xr

    coords: dict[Any, Any] = {}
    if isinstance(unwrapped, xr.DataArray):
        coords = {k: unwrapped.coords[k] for k in unwrapped.dims[1:] if k in unwrapped.coords}
        unwrapped = unwrapped.data
    if isinstance(weights, xr.DataArray):
        weights = weights.data
    if isinstance(mask, xr.DataArray):
        mask = mask.data
    t = _days(dates)
    n = len(t)
    if n < 4:
        raise InSARInputError(f"an SBAS inversion needs at least 4 dates, got {n}")
    if np.any(np.diff(t) <= 0):
        raise InSARInputError("dates must be strictly increasing")
    if unwrapped.ndim != 3:
        raise InSARInputError(f"unwrapped must be (pair, y, x), got {unwrapped.ndim} dimensions")
    if unwrapped.shape[0] != len(pairs):
        raise InSARInputError(f"{unwrapped.shape[0]} interferograms but {len(pairs)} pairs")
    if weights is not None and tuple(weights.shape) != tuple(unwrapped.shape):
        raise InSARInputError(f"weights shape {tuple(weights.shape)} differs from unwrapped {tuple(unwrapped.shape)}")
    if mask is not None and tuple(mask.shape) != tuple(unwrapped.shape[1:]):
        raise InSARInputError(f"mask shape {tuple(mask.shape)} differs from the image {tuple(unwrapped.shape[1:])}")
    a = design_matrix(pairs, n)
    years = t / DAYS_PER_YEAR
    # Velocity: a line plus an annual cycle (as MintPy's timeseries2velocity can), so seasonal motion does
    # not leak into the trend; with under ~9 months of data the cycle is not separable and is left out.
    terms = [years, np.ones(n)]
    if seasonal and years[-1] >= 0.75:
        terms += [np.sin(2 * np.pi * years), np.cos(2 * np.pi * years)]
    g = np.stack(terms, axis=1)
    g_pinv = np.linalg.pinv(g)
    scale = -wavelength / (4 * np.pi)

    def block(ph: np.ndarray, wt: np.ndarray | None, mk: np.ndarray | None, threads: int | None = None) -> np.ndarray:
        _, ny, nx = ph.shape
        y = ph.reshape(len(pairs), -1)
        w = None if wt is None else wt.reshape(len(pairs), -1)
        if mk is not None:
            y = np.where(mk.reshape(1, -1), y, np.nan)
        x, rms, conn = solve_block(a, y, w, threads=threads)
        disp = np.vstack([np.where(np.isnan(x[:1]), np.nan, 0.0), x]) * scale  # (date, pixels)
        vel = (g_pinv @ np.nan_to_num(disp))[0]
        vel[np.isnan(x[0])] = np.nan
        out = np.concatenate([disp, vel[None], rms[None], conn[None].astype(float)])
        return out.reshape(n + 3, ny, nx)

    if hasattr(unwrapped, "dask"):
        import dask.array as da

        ph = unwrapped.rechunk({0: -1})
        ins: list[Any] = [ph, "pyx"]
        if weights is not None:
            ins += [da.asarray(weights).rechunk(ph.chunks), "pyx"]
        if mask is not None:
            ins += [da.asarray(mask).rechunk(ph.chunks[1:]), "yx"]
        has_w, has_m = weights is not None, mask is not None

        def fn(ph_block: np.ndarray, *rest: np.ndarray) -> np.ndarray:
            it = iter(rest)
            # Dask's own workers share the chunks, so each chunk is solved on one thread.
            return block(ph_block, next(it) if has_w else None, next(it) if has_m else None, threads=1)

        stacked = da.blockwise(fn, "oyx", *ins, new_axes={"o": n + 3}, concatenate=True, dtype=float)
    else:
        stacked = block(
            np.asarray(unwrapped, dtype=np.float64), None if weights is None else np.asarray(weights), None if mask is None else np.asarray(mask)
        )
    date_coord = np.asarray(dates)
    return xr.Dataset(
        {
            "displacement": (("date", "y", "x"), stacked[:n]),
            "velocity": (("y", "x"), stacked[n]),
            "residual": (("y", "x"), stacked[n + 1]),
            "connected": (("y", "x"), stacked[n + 2] > 0.5),
        },
        coords={"date": date_coord, **coords},
        attrs={"wavelength": wavelength, "pairs": len(pairs), "units": "displacement: m, velocity: m/yr, residual: rad"},
    )
