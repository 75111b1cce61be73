"""Small-baseline (SBAS) time series from unwrapped interferograms: pair networks and a vectorised inversion.

Unknowns and sign. For a pair (reference i, secondary j) the unwrapped phase is ``phi_ij = phase(j) −
phase(i)``, with the first date's phase fixed at 0. Phase converts to line-of-sight (LOS) displacement with
``d = −wavelength / (4π) · phase`` (MintPy's ``range2phase = −4π / wavelength``), so **positive is motion
towards the satellite** (uplift, or motion towards the sensor's side), negative away (subsidence).

The solve, and why its numbers match MintPy 1.6.4's defaults (``smallbaselineApp.cfg``, ``ifgram_inversion.py``):

- *Connected network* (every date linked to the first through the pairs): the least-squares solution is
  unique, so the displacement form ``A x = y`` (``design_matrix``) and MintPy's velocity form ``B v = y``
  (``minNormVelocity = yes``; Berardino et al. 2002) give the same answer. We solve the displacement form,
  whose normal matrix is banded, in compiled kernels (``_sbas_kernel``; speed against a bare ``pinv(A) @ Y`` in ``bench_insar``).
- *Split network* (a failed job, an acquisition gap, or NaN at a pixel): the answer is not unique. We take
  the minimum-norm **velocity** solution, as MintPy does by default (``minNormVelocity = yes``): across a gap
  no pair spans, the velocity between the two dates is taken as 0, so the series stays continuous instead
  of jumping (the minimum-norm *displacement* solution pulls each part's mean to 0 and puts a jump in the
  series). Such pixels are flagged ``connected = False``. :func:`invert` detects a split in the pairs before
  solving and warns; with weights it refuses unless ``allow_split=True``, as MintPy's
  ``check_design_matrix`` refuses a weighted solve on a network that is "NOT fully connected".
- *Weights*: from coherence through the phase variance of distributed scatterers (Tough et al. 1995,
  MintPy's default ``weightFunc = var``), not coherence itself.
- *Quality*: temporal coherence ``|Σ exp(i·residual)| / N`` (Pepe & Lanari 2006; MintPy's
  ``calc_inv_quality``); pixels below 0.7 are masked (MintPy's ``minTempCoh = 0.7``).
- *Velocity*: a straight line through the displacements (MintPy's ``timeFunc.polynomial = 1``,
  ``periodic = no``). The annual sine/cosine is optional: over short spans it is nearly collinear with the
  trend and multiplies the velocity's noise (``seasonal_noise_gain``).
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal

import numpy as np

SENTINEL1_WAVELENGTH = 0.05546576  # metres, C band
DAYS_PER_YEAR = 365.25
MIN_TEMPORAL_COHERENCE = 0.7  # MintPy networkInversion.minTempCoh default (smallbaselineApp.cfg)
SEASONAL_MIN_YEARS = 2.0  # below this the annual term costs more velocity noise than it removes bias
# Number of independent looks of HyP3 INT40 products (10×2 looks ÷ 1.94, the ratio of resolution to pixel
# size MintPy uses for Sentinel-1 IW when NCORRLOOKS is absent: ifgram_inversion.calc_weight_sqrt).
DEFAULT_LOOKS = 10.0


class InSARInputError(ValueError):
    """The stack, the pairs and the dates do not fit together; the message says how."""


class InSARWarning(UserWarning):
    """The inversion runs but a result needs care: a split network, a short span for a seasonal term."""


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
    apart. ``max_days`` also caps the other two methods; when the cap leaves dates unlinked (a gap longer
    than ``max_days``) an :class:`InSARWarning` names the parts.
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
        parts = connected_components(pairs, n)
        if len(parts) > 1:
            warnings.warn(
                f"max_days={max_days:g} splits the network into {len(parts)} parts ({describe_parts(parts, dates)}): "
                "raise max_days above the longest gap between dates",
                InSARWarning,
                stacklevel=2,
            )
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


def describe_parts(parts: Sequence[Sequence[int]], dates: Sequence[Any] | None = None) -> str:
    """``"dates 0–11 (2024-01-05…2024-05-16); dates 12–29 (…)"`` — for messages and notebooks."""

    def label(d: int) -> str:
        return str(np.asarray(dates)[d])[:10] if dates is not None else str(d)

    out = []
    for part in parts:
        idx = f"date {part[0]}" if len(part) == 1 else f"dates {part[0]}–{part[-1]}" if part[-1] - part[0] + 1 == len(part) else f"{len(part)} dates"
        span = label(part[0]) if len(part) == 1 else f"{label(part[0])}…{label(part[-1])}"
        out.append(f"{idx} ({span})" if dates is not None else idx)
    return "; ".join(out)


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


def velocity_design_matrix(a: np.ndarray, intervals: np.ndarray) -> np.ndarray:
    """``B = A·C`` (pairs × dates−1) of the velocity form (Berardino et al. 2002; MintPy's design matrix B):
    the unknowns are the mean phase velocities between consecutive dates, ``C`` (lower triangular, the
    ``intervals`` between dates in each column) turns them into phases: ``x = C v``."""
    return a @ _cumulative(intervals)


def _cumulative(intervals: np.ndarray) -> np.ndarray:
    return np.tril(np.ones((len(intervals), len(intervals)))) * np.asarray(intervals, dtype=float)[None, :]


# ------------------------------------------------------------------ weights and quality


def phase_variance(coherence: Any, looks: float = DEFAULT_LOOKS) -> np.ndarray:
    """Variance (rad²) of the interferometric phase of distributed scatterers at ``coherence``, averaged over
    ``looks`` independent looks: the second moment of the multilook phase PDF (Tough et al. 1995 eq. 66;
    Hanssen 2001 eq. 4.2.23), integrated numerically, as MintPy's ``coherence2phase_variance`` does (coherence
    on a 0.005 grid, looks capped at 80). Its inverse is MintPy's default weight (``weightFunc = var``)."""
    lut = _variance_table(int(min(max(round(looks), 1), 80)))
    step = 0.005
    idx = np.clip(((np.nan_to_num(np.asarray(coherence, dtype=np.float64), nan=0.0) - step / 2) / step).astype(np.int64), 0, lut.size - 1)
    return lut[idx]


_TABLES: dict[int, np.ndarray] = {}


def _variance_table(looks: int) -> np.ndarray:
    if looks in _TABLES:
        return _TABLES[looks]
    step = 0.005
    gamma = (np.arange(int(1 / step)) + 0.5) * step  # 0.0025 … 0.9975
    phi = np.linspace(-np.pi, np.pi, gamma.size)[:, None]
    lg = math.lgamma
    el = looks
    beta = gamma[None, :] * np.cos(phi)
    one_b = 1 - beta**2
    head = math.exp(lg(2 * el - 1) - 2 * lg(el) - 2 * (el - 1) * math.log(2))
    core = (2 * el - 1) * beta / one_b ** (el + 0.5) * (np.pi / 2 + np.arcsin(beta)) + 1 / one_b**el
    tail = np.zeros_like(beta)
    for r in range(el - 1):  # the finite sum of the multilook PDF (empty for one look)
        c = math.exp(lg(el - 0.5) - lg(el - 0.5 - r) + lg(el - 1 - r) - lg(el - 1))
        tail += c * (1 + (2 * r + 1) * beta**2) / one_b ** (r + 2)
    if el > 1:
        tail /= 2 * (el - 1)
    pdf = (1 - gamma[None, :] ** 2) ** el / (2 * np.pi) * (head * core + tail)
    var = (phi**2 * pdf).sum(axis=0) * (2 * np.pi / gamma.size)
    var[var <= 0] = var[var > 0].min() if (var > 0).any() else np.finfo(float).eps
    _TABLES[looks] = var
    return var


def coherence_weights(coherence: Any, looks: float = DEFAULT_LOOKS, how: Literal["var", "coh"] = "var") -> np.ndarray:
    """Weights from coherence: ``var`` = 1 / phase variance (MintPy's default), ``coh`` = coherence itself
    (Perissin & Wang 2012). Coherence below 0.05 or NaN counts as 0.05, as in MintPy's ``coherence2weight``."""
    c = np.asarray(coherence, dtype=np.float32)
    c = np.where(np.isnan(c) | (c < 0.05), np.float32(0.05), c)
    if how == "coh":
        return c
    if how != "var":
        raise InSARInputError(f"unknown weight function {how!r}: use 'var' (MintPy's default) or 'coh'")
    return (1.0 / phase_variance(c, looks)).astype(np.float32)


def weight_table(looks: float = DEFAULT_LOOKS) -> np.ndarray:
    """``1 / phase_variance`` for each 0.005 bin of coherence (the kernels convert coherence through it)."""
    return 1.0 / _variance_table(int(min(max(round(looks), 1), 80)))


def seasonal_noise_gain(dates: Sequence[Any]) -> float:
    """How many times noisier the velocity gets when an annual sine/cosine is fitted next to the trend, for
    noise independent between dates: ``‖row₀ of pinv(G_seasonal)‖ / ‖row₀ of pinv(G_linear)‖``."""
    years = _days(dates) / DAYS_PER_YEAR
    lin = np.linalg.pinv(np.stack([years, np.ones_like(years)], axis=1))[0]
    sea = np.linalg.pinv(np.stack([years, np.ones_like(years), np.sin(2 * np.pi * years), np.cos(2 * np.pi * years)], axis=1))[0]
    return float(np.linalg.norm(sea) / np.linalg.norm(lin))


def los_to_vertical(los: Any, lv_theta: Any) -> Any:
    """LOS displacement or velocity projected to the vertical **assuming the ground moves only vertically**:
    ``los / cos(incidence)``, with HyP3's look-vector elevation angle ``lv_theta`` (radians; incidence =
    90° − lv_theta, MintPy ``stackDict.py``). Horizontal motion (landslides, faults) makes this wrong; with
    ascending and descending stacks, decompose instead."""
    out = los / np.sin(lv_theta)
    if hasattr(out, "attrs"):
        units = getattr(los, "attrs", {}).get("units", "")
        out.attrs = {"units": units, "long_name": "vertical-only projection of LOS (LOS / cos incidence; assumes no horizontal motion)"}
    return out


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
    """``fn(start, stop)`` over ``npix`` pixels on ``threads`` threads (default: one per core, each with at
    least 16 384 pixels). The kernels release the GIL, so the ranges run in parallel; there are 4 ranges per
    thread, so a core slowed by other work on a shared machine does not hold the others back."""
    n = threads or max(1, min(len(os.sched_getaffinity(0)), npix // 16384))
    if n == 1:
        fn(0, npix)
        return
    bounds = np.linspace(0, npix, 4 * n + 1).astype(int)
    with ThreadPoolExecutor(n) as pool:
        list(pool.map(fn, bounds[:-1], bounds[1:]))


def _min_norm_velocity(a: np.ndarray, intervals: np.ndarray, y: np.ndarray, w: np.ndarray | None) -> np.ndarray:
    """Phases ``x = C·v`` (m, pixels) from the minimum-norm velocity solution ``v = pinv(W½B) W½y`` per pixel —
    MintPy's default (``minNormVelocity = yes``, ``estimate_timeseries``; singular values below 1e-5 of the
    largest are cut, as its ``rcond``). NaN values and weights ≤ 0 drop the pair; NaN where none is left."""
    c = _cumulative(intervals)
    b = a @ c
    valid = np.isfinite(y) if w is None else np.isfinite(y) & (w > 0)
    y0 = np.where(valid, y, 0.0).astype(np.float64)
    if valid.all() and w is None:
        v = np.linalg.pinv(b, rcond=1e-5) @ y0
    else:
        ww = valid.astype(np.float64) if w is None else np.where(valid, w, 0.0).astype(np.float64)
        v = np.empty((b.shape[1], y.shape[1]))
        for s in range(0, y.shape[1], 4096):  # (pixels, m, m) normal matrices in slices that stay small
            sl = slice(s, s + 4096)
            n_mat = np.einsum("pk,pn,pl->nkl", b, ww[:, sl], b)
            # The normal matrix squares the singular values: rcond 1e-10 here is MintPy's 1e-5 on W½B.
            v[:, sl] = np.einsum("nkl,nl->kn", np.linalg.pinv(n_mat, rcond=1e-10, hermitian=True), (ww[:, sl] * y0[:, sl]).T @ b)
    x = c @ v
    x[:, ~valid.any(axis=0)] = np.nan
    return x


def _quality(a: np.ndarray, x: np.ndarray, y: np.ndarray, w: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """RMS residual and temporal coherence over the valid pairs (numpy twin of the kernels' ``_finish``)."""
    valid = np.isfinite(y) if w is None else np.isfinite(y) & (w > 0)
    r = np.where(valid, a @ np.nan_to_num(x) - np.where(valid, y, 0.0), 0.0)
    n = valid.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        rms = np.sqrt((r**2).sum(axis=0) / n)
        tcoh = np.abs(np.where(valid, np.exp(1j * r), 0).sum(axis=0)) / n
    return rms, tcoh


def _solve(
    a: np.ndarray,
    y: np.ndarray,
    w: np.ndarray | None,
    mask: np.ndarray | None,
    intervals: np.ndarray,
    scale: float,
    gvel: np.ndarray,
    out: np.ndarray,
    threads: int | None,
    min_tcoh: float = 0.0,
    wlut: np.ndarray | None = None,
) -> None:
    """The whole inversion of a block of pixels, into ``out`` (dates + 4, pixels) in place: displacement
    rows, velocity, RMS residual, temporal coherence, connected (1/0); displacement and velocity NaN where
    the temporal coherence is below ``min_tcoh``. ``y`` and ``w`` are read as they are (float32 or float64,
    no copy when C-contiguous); nothing of the size of ``y`` is allocated. With ``wlut``, ``w`` is coherence,
    turned into weights inside the kernel (``weight_table``)."""
    from pangeoctl.geo import _sbas_kernel as K

    ref, sec = _incidence(a)
    p, m = a.shape
    npix = y.shape[1]
    disp, vel, rms, tcoh, conn = out[: m + 1], out[m + 1], out[m + 2], out[m + 3], out[m + 4]
    pairs = list(zip(ref.tolist(), sec.tolist(), strict=True))
    network_connected = len(connected_components(pairs, m + 1)) == 1
    bw = int((sec - ref)[ref > 0].max(initial=0))
    block = max(16, min(128, 2**15 // (m * (bw + 1))))  # pixels per vector step: a block's band stays ≤ 256 KiB, in L2
    singular = np.zeros(npix, dtype=bool)
    connected = np.zeros(npix, dtype=bool)
    gv = np.ascontiguousarray(gvel, dtype=np.float64)
    coef = K.coefficients(y.dtype)  # the residual pass computes in the input's precision

    def general(cols: np.ndarray | None) -> None:
        """``solve_general`` on all pixels or on the columns ``cols``; results land in place."""
        n = npix if cols is None else cols.size
        _threaded(
            n,
            threads,
            lambda s, e: K.solve_general(
                y,
                w,
                mask,
                cols,
                ref,
                sec,
                bw,
                block,
                s,
                e,
                network_connected,
                scale,
                gv,
                min_tcoh,
                coef,
                wlut,
                disp,
                vel,
                rms,
                tcoh,
                singular,
                connected,
            ),
        )

    if not network_connected:
        out[:] = np.nan  # masked pixels stay NaN
        singular[:] = True if mask is None else mask  # no factor exists: every pixel takes the minimum-norm path
    elif w is None:
        # One factor for every pixel; the pixels with a NaN among their pairs go on to the general solve.
        chol = np.linalg.cholesky(a.T @ a)
        lband = np.zeros((m, bw + 1))
        for d in range(bw + 1):
            lband[d:, d] = np.diagonal(chol, -d)
        incomplete = np.empty(npix, dtype=bool)
        linv = (1 / np.diagonal(chol)).astype(y.dtype)
        lband = lband.astype(y.dtype)
        _threaded(
            npix,
            threads,
            lambda s, e: K.solve_shared(y, mask, ref, sec, lband, linv, block, s, e, scale, gv, min_tcoh, coef, disp, vel, rms, tcoh, incomplete),
        )
        connected[:] = ~np.isnan(tcoh)  # NaN only where masked or without a valid pair
        if incomplete.any():
            general(np.flatnonzero(incomplete))
    else:
        general(None)
    bad = np.flatnonzero(singular)
    if bad.size:
        yb = y[:, bad]
        wb = None if w is None else w[:, bad]
        if wb is not None and wlut is not None:
            wb = wlut[np.clip(((np.where(wb >= 0.05, wb, 0.05) - 0.0025) * 200).astype(np.int64), 9, wlut.size - 1)]
        x = _min_norm_velocity(a, intervals, yb, wb)
        rms[bad], tcoh[bad] = _quality(a, x, yb, wb)
        dd = np.vstack([np.where(np.isnan(x[:1]), np.nan, 0.0), x]) * scale
        dd[:, ~(tcoh[bad] >= min_tcoh)] = np.nan
        disp[:, bad] = dd
        vel[bad] = gvel @ dd
        if not network_connected:
            connected[bad] = False
    conn[:] = connected


def solve_block(
    a: np.ndarray, y: np.ndarray, w: np.ndarray | None = None, *, intervals: Any = None, threads: int | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Phase time series for a block of pixels (the kernel of :func:`invert`, without units or masks).

    Parameters
    ----------
    a : (pairs, m) design matrix of the displacement form (``design_matrix``).
    y : (pairs, pixels) unwrapped phase; NaN where an interferogram has no value.
    w : (pairs, pixels) non-negative weights, or None; 0 or NaN drops the pair there.
    intervals : (m,) time between consecutive dates (any unit; equal spacing when None) — used only where
        the pairs leave the network split, for the minimum-norm velocity solution.
    threads : how many threads share the pixels (default: one per core for large blocks).

    Returns
    -------
    x : (m, pixels) phase of each date after the first (NaN where no pair is valid).
    rms : (pixels,) RMS phase residual over the valid pairs.
    connected : (pixels,) False where the valid pairs leave the network in several parts; the solution
        there is the minimum-norm velocity one (MintPy's default).
    """
    y = y if isinstance(y, np.ndarray) and y.dtype in (np.float32, np.float64) else np.asarray(y, dtype=np.float64)
    y = np.ascontiguousarray(y)
    p, m = a.shape
    wk = None if w is None else np.ascontiguousarray(w, dtype=y.dtype)
    out = np.empty((m + 5, y.shape[1]), dtype=y.dtype)
    dt = np.ones(m) if intervals is None else np.asarray(intervals, dtype=float)
    _solve(a, y, wk, None, dt, 1.0, np.zeros(m + 1), out, threads)
    return out[1 : m + 1], out[m + 2], out[m + 4] > 0.5


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
    try:
        values = at.compute()
    except KeyError:
        # dask.distributed 2026.8 races when a graph reuses keys the previous compute (the score, which read the
        # same chunks) is still releasing: a worker may free a chunk a new task was told to find in its memory,
        # and the task fails with KeyError(<that chunk's key>). Seen in ~1 of 5 runs on a LocalCluster; the read
        # is pure, so a fresh compute of the same graph is exact.
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
    coherence: Any = None,
    weight: Literal["var", "coh", "no"] = "var",
    looks: float | None = None,
    weights: Any = None,
    mask: Any = None,
    seasonal: bool = False,
    min_temporal_coherence: float = MIN_TEMPORAL_COHERENCE,
    allow_split: bool = False,
):
    """LOS displacement time series and LOS velocity from unwrapped interferograms.

    Parameters
    ----------
    unwrapped : (pair, y, x) unwrapped phase in radians — numpy, dask or xarray; float32 is read in place.
        NaN marks missing values. With dask, chunk over y/x only (one chunk along pairs).
    pairs : (reference, secondary) date indices, one per interferogram — the pairs of the products you
        loaded (a failed job is a missing pair: the network may split, see the module docstring).
    dates : acquisition dates (datetime64 or day numbers), at least 4.
    coherence : optional (pair, y, x) spatial coherence; weights the solve through ``weight``.
    weight : how coherence becomes a weight — ``var`` (1 / phase variance, MintPy's default weightFunc),
        ``coh`` (coherence itself), ``no`` (unweighted: classic SBAS).
    looks : independent looks for ``var`` (default: ``coherence.attrs["looks"]`` as :func:`hyp3.open_stack`
        sets it, else ``DEFAULT_LOOKS``).
    weights : optional (pair, y, x) weights to use as they are, instead of ``coherence``.
    mask : optional (y, x) boolean, True where pixels are to be solved (e.g. HyP3's water mask, land True).
    seasonal : fit an annual sine/cosine next to the trend. Off by default, as MintPy's ``timeFunc``
        (``periodic = no``); under 2 years of data an :class:`InSARWarning` gives the velocity noise gain.
    min_temporal_coherence : pixels whose temporal coherence is below this are NaN in ``displacement`` and
        ``velocity`` (MintPy's ``minTempCoh = 0.7``); 0 keeps every pixel.
    allow_split : solve a weighted inversion on a network split in parts (MintPy refuses it).

    Returns
    -------
    xarray.Dataset: ``displacement`` (date, y, x) m, LOS, relative to the first date, positive towards the
    satellite; ``velocity`` (y, x) m/yr, "LOS velocity", least-squares line through the displacements;
    ``temporal_coherence`` (y, x); ``residual`` (y, x) RMS phase residual, rad; ``connected`` (y, x) False
    where the pairs (or the valid ones at that pixel) split the network. Attributes ``parts`` (number of
    connected parts of the network) and ``sign_convention``.
    """
    import xarray as xr

    coords: dict[Any, Any] = {}
    if looks is None:
        looks = float(getattr(coherence, "attrs", {}).get("looks", DEFAULT_LOOKS))
    if isinstance(unwrapped, xr.DataArray):
        coords = {k: unwrapped.coords[k] for k in unwrapped.dims[1:] if k in unwrapped.coords}
        unwrapped = unwrapped.data
    if isinstance(weights, xr.DataArray):
        weights = weights.data
    if isinstance(coherence, xr.DataArray):
        coherence = coherence.data
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
    if weights is not None and coherence is not None:
        raise InSARInputError("give coherence (converted by `weight`) or weights, not both")
    for name, arr in (("weights", weights), ("coherence", coherence)):
        if arr is not None and tuple(arr.shape) != tuple(unwrapped.shape):
            raise InSARInputError(f"{name} shape {tuple(arr.shape)} differs from unwrapped {tuple(unwrapped.shape)}")
    if mask is not None and tuple(mask.shape) != tuple(unwrapped.shape[1:]):
        raise InSARInputError(f"mask shape {tuple(mask.shape)} differs from the image {tuple(unwrapped.shape[1:])}")
    if weight not in ("var", "coh", "no"):
        raise InSARInputError(f"unknown weight {weight!r}: use 'var' (MintPy's default), 'coh' or 'no'")
    if coherence is not None and weight == "no":
        coherence = None
    weighted = weights is not None or coherence is not None
    a = design_matrix(pairs, n)
    parts = connected_components(pairs, n)
    if len(parts) > 1:
        where = describe_parts(parts, dates)
        if weighted and not allow_split:
            raise InSARInputError(
                f"the pairs split the dates into {len(parts)} parts ({where}): a weighted solve needs one connected network "
                "(MintPy refuses it too) — add pairs across the gap, pass weight='no' for the minimum-norm velocity solution, "
                "or allow_split=True"
            )
        warnings.warn(
            f"the pairs split the dates into {len(parts)} parts ({where}): displacements across a gap are not measured; "
            "the minimum-norm velocity solution (MintPy's default) takes the velocity between the parts as 0, "
            "and every pixel is flagged connected=False",
            InSARWarning,
            stacklevel=2,
        )
    years = t / DAYS_PER_YEAR
    terms = [years, np.ones(n)]
    if seasonal:
        if years[-1] < SEASONAL_MIN_YEARS:
            warnings.warn(
                f"seasonal=True over {years[-1]:.2f} years: the annual term is nearly collinear with the trend and multiplies "
                f"the velocity's noise by {seasonal_noise_gain(dates):.1f} — use ≥ {SEASONAL_MIN_YEARS:g} years of data, or seasonal=False",
                InSARWarning,
                stacklevel=2,
            )
        terms += [np.sin(2 * np.pi * years), np.cos(2 * np.pi * years)]
    gvel = np.linalg.pinv(np.stack(terms, axis=1))[0]  # velocity = gvel · displacement
    scale = -wavelength / (4 * np.pi)
    intervals = np.diff(t)
    how = weight if weight != "no" else "var"

    def block(ph: np.ndarray, wt: np.ndarray | None, coh: np.ndarray | None, mk: np.ndarray | None, threads: int | None = None) -> np.ndarray:
        _, ny, nx = ph.shape
        if ph.dtype not in (np.float32, np.float64):
            ph = ph.astype(np.float64)
        y = np.ascontiguousarray(ph).reshape(len(pairs), -1)  # a view for C-contiguous input
        w, wlut = None, None
        if coh is not None and how == "var":  # coherence goes to the kernel as it is: converted block by block
            w, wlut = np.ascontiguousarray(coh, dtype=y.dtype).reshape(len(pairs), -1), weight_table(looks)
        elif coh is not None:
            w = coherence_weights(coh.reshape(len(pairs), -1), looks, how)
        elif wt is not None:
            w = np.ascontiguousarray(wt, dtype=y.dtype).reshape(len(pairs), -1)
        mkf = None if mk is None else np.ascontiguousarray(mk, dtype=bool).reshape(-1)
        out = np.empty((n + 4, ny * nx), dtype=y.dtype)
        _solve(a, y, w, mkf, intervals, scale, gvel, out, threads, min_temporal_coherence, wlut)
        return out.reshape(n + 4, ny, nx)

    if hasattr(unwrapped, "dask"):
        import dask.array as da

        ph = unwrapped.rechunk({0: -1})
        ins: list[Any] = [ph, "pyx"]
        for extra in (weights, coherence):
            if extra is not None:
                ins += [da.asarray(extra).rechunk(ph.chunks), "pyx"]
        if mask is not None:
            ins += [da.asarray(mask).rechunk(ph.chunks[1:]), "yx"]
        has = (weights is not None, coherence is not None, mask is not None)

        def fn(ph_block: np.ndarray, *rest: np.ndarray) -> np.ndarray:
            it = iter(rest)
            wt, coh, mk = (next(it) if h else None for h in has)
            # Dask's own workers share the chunks, so each chunk is solved on one thread.
            return block(ph_block, wt, coh, mk, threads=1)

        dtype = np.float32 if ph.dtype == np.float32 else np.float64
        stacked = da.blockwise(fn, "oyx", *ins, new_axes={"o": n + 4}, concatenate=True, dtype=dtype)
    else:
        stacked = block(
            np.asarray(unwrapped),
            None if weights is None else np.asarray(weights),
            None if coherence is None else np.asarray(coherence),
            None if mask is None else np.asarray(mask),
        )
    sign = "LOS: positive towards the satellite (uplift or motion towards the sensor), negative away (subsidence)"
    return xr.Dataset(
        {
            "displacement": (("date", "y", "x"), stacked[:n], {"units": "m", "long_name": "LOS displacement relative to the first date"}),
            "velocity": (("y", "x"), stacked[n], {"units": "m/yr", "long_name": "LOS velocity"}),
            "temporal_coherence": (("y", "x"), stacked[n + 2], {"units": "1", "long_name": "temporal coherence"}),
            "residual": (("y", "x"), stacked[n + 1], {"units": "rad", "long_name": "RMS phase residual"}),
            "connected": (("y", "x"), stacked[n + 3] > 0.5, {"long_name": "network connected at this pixel"}),
        },
        coords={"date": np.asarray(dates), **coords},
        attrs={
            "wavelength": wavelength,
            "pairs": len(pairs),
            "parts": len(parts),
            "sign_convention": sign,
            "weight": ("given" if weights is not None else weight) if weighted else "no",
            "min_temporal_coherence": min_temporal_coherence,
            "seasonal": int(seasonal),
        },
    )
