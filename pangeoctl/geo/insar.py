"""Small-baseline (SBAS) time series from unwrapped interferograms: pair networks and a vectorised inversion.

The model is the *displacement form*: for a pair (reference i, secondary j) the unwrapped phase is
``phi_ij = phase(j) - phase(i)``, with the first date's phase fixed at 0. The design matrix ``A`` has one row
per pair and one column per date after the first, +1 at the secondary, -1 at the reference. Phase
converts to line-of-sight displacement with ``d = -wavelength / (4 pi) * phase`` (the convention of
MintPy's ``range2phase = -4 pi / wavelength``), so positive is motion towards the satellite.

Three solves, all without a per-pixel Python loop:

- every pixel valid, no weights: one ``pinv(A) @ Y`` for the whole block (the fast path);
- some interferograms NaN at some pixels, or per-pair per-pixel weights: masked, weighted normal
  equations ``(Aᵀ W A) x = Aᵀ W y`` batched over pixels, where NaN gets weight 0;
- a network split in disconnected parts (by design or by NaN): the pseudo-inverse gives the minimum-norm
  solution, as MintPy and SBAS codes do, and the pixel is flagged ``connected = False``.
"""

from __future__ import annotations

from collections.abc import Sequence
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


def _patterns(valid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unique validity patterns (columns of ``valid``) and, for each pixel, the index of its pattern."""
    packed = np.packbits(valid, axis=0)
    uniq, inverse = np.unique(packed, axis=1, return_inverse=True)
    return np.unpackbits(uniq, axis=0, count=valid.shape[0]).astype(bool), inverse.ravel()


def _normal_solve(
    a: np.ndarray, pairs: list[tuple[int, int]], valid: np.ndarray, y: np.ndarray, w: np.ndarray | None, connected: np.ndarray
) -> np.ndarray:
    """Solve ``(Aᵀ W A) x = Aᵀ W y`` for every pixel; W is the weights (or 1) where valid, else 0.

    Pixels go in slices of 4096 so the (pixels, m, m) normal matrices stay in cache-sized memory.
    """
    step = 4096
    if y.shape[1] > step:
        return np.concatenate(
            [
                _normal_solve(
                    a, pairs, valid[:, s : s + step], y[:, s : s + step], None if w is None else w[:, s : s + step], connected[s : s + step]
                )
                for s in range(0, y.shape[1], step)
            ],
            axis=1,
        )
    p, m = a.shape
    npix = y.shape[1]
    ww = valid.astype(np.float64) if w is None else np.where(valid, w, 0.0)
    wy = ww * np.where(valid, y, 0.0)
    # Each pair adds w·(e_j − e_i)(e_j − e_i)ᵀ: four entries, so N is built by scatter, not by a GEMM.
    n_mat = np.zeros((npix, m, m))
    for k, (i, j) in enumerate(pairs):
        wk = ww[k]
        n_mat[:, j - 1, j - 1] += wk
        if i > 0:
            n_mat[:, i - 1, i - 1] += wk
            n_mat[:, i - 1, j - 1] -= wk
            n_mat[:, j - 1, i - 1] -= wk
    rhs = wy.T @ a
    x = np.full((m, npix), np.nan)
    if connected.any():
        x[:, connected] = np.linalg.solve(n_mat[connected], rhs[connected][..., None])[..., 0].T
    bad = ~connected & valid.any(axis=0)
    if bad.any():
        # Disconnected here: the minimum-norm solution, pinv(W½A) W½ y = pinv(AᵀWA) AᵀW y.
        x[:, bad] = np.einsum("nkl,nl->kn", np.linalg.pinv(n_mat[bad], hermitian=True), rhs[bad])
    return x


def solve_block(a: np.ndarray, y: np.ndarray, w: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Phase time series for a block of pixels.

    Parameters
    ----------
    a : (pairs, m) design matrix.
    y : (pairs, pixels) unwrapped phase; NaN where an interferogram has no value.
    w : (pairs, pixels) non-negative weights (e.g. coherence), or None.

    Returns
    -------
    x : (m, pixels) phase of each date after the first (NaN where no pair is valid).
    rms : (pixels,) RMS phase residual over the valid pairs.
    connected : (pixels,) False where the valid pairs leave the network in several parts.
    """
    y = np.asarray(y)
    if not np.issubdtype(y.dtype, np.floating):
        y = y.astype(np.float64)
    dtype = y.dtype
    p, m = a.shape
    npix = y.shape[1]
    if w is None and np.linalg.matrix_rank(a) == m:
        # Fast path for a connected network: one GEMM (b = Aᵀy) and a small one (x = (AᵀA)⁻¹ b). The
        # residual comes from ‖r‖² = ‖y‖² − bᵀx (least squares), and a NaN anywhere in a pixel's pairs
        # shows up in its ‖y‖², so neither needs another pass over the stack.
        yy = np.einsum("pn,pn->n", y, y)
        finite = np.isfinite(yy)
        if finite.all():
            b = a.T.astype(dtype) @ y
            x = np.linalg.inv(a.T @ a).astype(dtype) @ b
            rss = np.maximum(yy - np.einsum("mn,mn->n", b, x), 0)
            return x, np.sqrt(rss / p), np.ones(npix, dtype=bool)
        if finite.any():  # the complete pixels by the fast path, the rest by the general one
            x, rms, conn = np.empty((m, npix), dtype=dtype), np.empty(npix, dtype=dtype), np.empty(npix, dtype=bool)
            for cols in (finite, ~finite):
                x[:, cols], rms[cols], conn[cols] = solve_block(a, y[:, cols])
            return x, rms, conn
    valid = np.isfinite(y)
    if w is not None:
        valid &= np.asarray(w) > 0
    x = np.full((m, npix), np.nan, dtype=dtype)
    connected = np.zeros(npix, dtype=bool)
    # Group pixels by which pairs they have: connectivity and (unweighted) pseudo-inverses are per pattern.
    # Fully valid pixels are one group without sorting; only the others are grouped by pattern.
    full = valid.all(axis=0)
    if full.all():
        pats, which = np.ones((p, 1), dtype=bool), np.zeros(npix, dtype=np.intp)
    else:
        part, inv = _patterns(valid[:, ~full])
        pats = np.concatenate([np.ones((p, 1), dtype=bool), part], axis=1)
        which = np.zeros(npix, dtype=np.intp)
        which[~full] = inv + 1
    n_dates = m + 1
    pairs = [(int(np.flatnonzero(r < 0)[0]) + 1 if (r < 0).any() else 0, int(np.flatnonzero(r > 0)[0]) + 1) for r in a]
    conn_of = np.array([len(connected_components([pr for pr, ok in zip(pairs, pat, strict=True) if ok], n_dates)) == 1 for pat in pats.T])
    connected = conn_of[which] & pats[:, which].any(axis=0)
    if w is None and pats.shape[1] <= 64:
        order = np.argsort(which, kind="stable")
        bounds = np.searchsorted(which[order], np.arange(pats.shape[1] + 1))
        for k, pat in enumerate(pats.T):
            cols = slice(None) if pats.shape[1] == 1 else order[bounds[k] : bounds[k + 1]]
            if not pat.any() or (pats.shape[1] > 1 and bounds[k] == bounds[k + 1]):
                continue
            # pinv gives the least-squares solution, minimum-norm where the pattern disconnects the network.
            x[:, cols] = np.linalg.pinv(a[pat]).astype(dtype) @ y[pat][:, cols]
    else:
        # Weights, or too many NaN patterns for one pinv each: masked, weighted normal equations per pixel.
        cols = np.flatnonzero(valid.any(axis=0)) if w is not None else np.flatnonzero(~full)
        if w is None and full.any():
            x[:, full] = np.linalg.pinv(a).astype(dtype) @ y[:, full]
        x[:, cols] = _normal_solve(a, pairs, valid[:, cols], y[:, cols], None if w is None else np.asarray(w)[:, cols], connected[cols])
    fit = a.astype(dtype) @ np.nan_to_num(x)
    if valid.all():
        rms = np.sqrt(np.mean((fit - y) ** 2, axis=0))
    else:
        resid = np.where(valid, fit - y, 0)
        with np.errstate(invalid="ignore", divide="ignore"):
            rms = np.sqrt((resid**2).sum(axis=0) / valid.sum(axis=0))
    return x, rms, connected


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

    def block(ph: np.ndarray, wt: np.ndarray | None, mk: np.ndarray | None) -> np.ndarray:
        _, ny, nx = ph.shape
        y = ph.reshape(len(pairs), -1)
        w = None if wt is None else wt.reshape(len(pairs), -1)
        if mk is not None:
            y = np.where(mk.reshape(1, -1), y, np.nan)
        x, rms, conn = solve_block(a, y, w)
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
            return block(ph_block, next(it) if has_w else None, next(it) if has_m else None)

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
