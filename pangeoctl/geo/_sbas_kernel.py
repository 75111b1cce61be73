"""The compiled SBAS solves: banded Cholesky of the normal equations, pixels innermost, outputs fused.

For a pair (reference i, secondary j) the normal matrix ``Aᵀ W A`` gains ``w`` at (i, i) and (j, j) and
``−w`` at (j, i): it is banded, its half-bandwidth ``b`` the longest pair in dates (3 for a 3-connection
network, whatever the number of dates). Both kernels work on blocks of pixels with the pixel index
innermost, so each step is one vector instruction over the block, and the band keeps the work at
``m·b²`` per pixel instead of the ``m³`` of a dense solve.

- ``solve_shared``: no weights and every pair valid — all pixels share one factor ``L``, so a pixel costs
  ``Aᵀy`` (two adds per pair) and two banded substitutions. Pixels with a NaN are only marked, for
  ``solve_general``.
- ``solve_general``: weights and/or NaN — each pixel builds and factors its own band.

Both finish each block while its interferograms are still in cache (``_finish``): the residual of every
valid pair gives the RMS residual and the temporal coherence ``|Σ exp(i·r)| / N`` (Pepe & Lanari 2006; as
MintPy's ``calc_inv_quality``), in the input's precision, and the displacement (``scale · phase``, the
first date 0) and its velocity (``gvel · displacement``) are written straight into the caller's output
rows, row by row (a pixel's values are a row apart: writing them pixel by pixel cost more than the solve). NaN never reaches a sum: an
invalid value or a weight ≤ 0 drops the pair at that pixel; a pixel outside ``mask`` is written as NaN.

Pixels are independent and the kernels release the GIL: callers split the pixel range over threads.
"""

from __future__ import annotations

import numpy as np
from numba import njit

SINGULAR = 1e-10  # a pivot below this fraction of its diagonal marks the pixel's system as singular
_jit = njit(nogil=True, cache=True, error_model="numpy", fastmath={"contract"})


@_jit
def solve_shared(
    y, mask, ref, sec, lband, linv, block, start, stop, scale, gvel, min_tcoh, coef, disp_out, vel_out, rms_out, tcoh_out, incomplete_out
):  # noqa: PLR0913
    """Pixels ``start:stop`` of ``y`` (pairs, pixels) with the shared factor ``lband[i, d] = L(i, i − d)``.

    Works in the input's precision (``coef.dtype``; ``lband``/``linv`` given in it too): float32 input
    gets float32 vectors, twice the lanes — as MintPy, which solves float32 stacks in float32.
    ``mask`` (pixels,) bool or None. Writes ``disp_out`` (dates, pixels), ``vel_out``, ``rms_out``,
    ``tcoh_out`` and ``incomplete_out`` (a NaN among the pixel's pairs: it needs ``solve_general``).
    """
    p = y.shape[0]
    m, nb = lband.shape
    bw = nb - 1
    z = np.empty((m, block), dtype=coef.dtype)
    work = np.empty((4, block), dtype=coef.dtype)
    rb = np.empty(block, dtype=coef.dtype)
    keep = np.empty(block, dtype=np.bool_)
    for b0 in range(start, stop, block):
        nq = min(block, stop - b0)
        z[:] = 0.0
        for k in range(p):  # rhs = Aᵀ y (two adds per pair), one read of y
            yk = y[k, b0 : b0 + nq]
            zs = z[sec[k] - 1]
            if ref[k] > 0:
                zr = z[ref[k] - 1]
                for q in range(nq):
                    v = yk[q]
                    zs[q] += v
                    zr[q] -= v
            else:
                for q in range(nq):
                    v = yk[q]
                    zs[q] += v
        _forward(z, lband, linv, bw, nq)
        _backward(z, lband, linv, bw, nq)
        _finish(y, None, b0, ref, sec, z, nq, work, rb, coef)
        for q in range(nq):
            # A NaN value spreads to the whole solution, so no residual counts: the pixel needs solve_general.
            incomplete_out[b0 + q] = (work[3, q] < p) and (mask is None or mask[b0 + q])
        _store(z, work, mask, None, b0, nq, scale, gvel, min_tcoh, keep, disp_out, vel_out, rms_out, tcoh_out)


@_jit
def solve_general(
    y,
    w,
    mask,
    cols,
    ref,
    sec,
    bw,
    block,
    start,
    stop,
    network_connected,
    scale,
    gvel,
    min_tcoh,
    coef,
    wlut,
    disp_out,
    vel_out,
    rms_out,
    tcoh_out,
    singular_out,
    connected_out,
):  # noqa: PLR0913
    """Pixels ``start:stop`` (of ``cols``, the pixel columns to solve, or of all columns when None) with
    per-pixel normal equations; ``w`` (pairs, pixels) weights or None — or coherence, when ``wlut`` (the
    weight of each 0.005 coherence bin) is given: converted as the block is gathered, never stored whole.

    A NaN value or a weight ≤ 0 drops the pair at that pixel. Writes the outputs as ``solve_shared`` does,
    ``singular_out`` (a pivot shows the system singular: left for the caller's minimum-norm solve) and
    ``connected_out`` (union-find over the valid pairs).
    """
    p = y.shape[0]
    m = disp_out.shape[0] - 1
    yb = np.empty((p, block))  # the block's pixels, gathered from their columns
    wb = np.empty((p, block) if w is not None else (1, 1))
    band = np.empty((m, bw + 1, block))  # band[i, d] = N(i, i − d), overwritten by L(i, i − d)
    z = np.empty((m, block))
    inv = np.empty((m, block))
    s = np.empty(block)
    wv = np.empty(block)
    wy = np.empty(block)
    work = np.empty((4, block), dtype=coef.dtype)
    rb = np.empty(block, dtype=coef.dtype)
    keep = np.empty(block, dtype=np.bool_)
    bad = np.empty(block, dtype=np.bool_)
    parent = np.empty(m + 1, dtype=np.int64)
    for b0 in range(start, stop, block):
        nq = min(block, stop - b0)
        band[:] = 0.0
        z[:] = 0.0
        bad[:] = False
        _gather(y, cols, b0, nq, yb)
        if w is not None:
            _gather(w, cols, b0, nq, wb)
            if wlut is not None:
                _coherence_to_weight(wb, wlut, nq)
        # Normal equations: N = Aᵀ W A, rhs = Aᵀ W y.
        for k in range(p):
            yk = yb[k]
            if w is None:
                for q in range(nq):
                    ok = yk[q] == yk[q]
                    wv[q] = 1.0 if ok else 0.0
                    wy[q] = yk[q] if ok else 0.0
            else:
                wk = wb[k]
                for q in range(nq):
                    ok = (yk[q] == yk[q]) & (wk[q] > 0)
                    wv[q] = wk[q] if ok else 0.0
                    wy[q] = wk[q] * yk[q] if ok else 0.0
            i = ref[k] - 1
            j = sec[k] - 1
            _add(band[j, 0], wv, nq)
            _add(z[j], wy, nq)
            if i >= 0:
                _add(band[i, 0], wv, nq)
                _sub(band[j, sec[k] - ref[k]], wv, nq)
                _sub(z[i], wy, nq)
        # Banded Cholesky N = L Lᵀ, column by column, in place.
        for j in range(m):
            djj = band[j, 0]
            ij = inv[j]
            s[:nq] = djj[:nq]
            for k in range(max(0, j - bw), j):
                _sub_prod(s, band[j, j - k], band[j, j - k], nq)
            for q in range(nq):
                sing = not (s[q] > SINGULAR * djj[q])
                bad[q] = bad[q] | sing
                piv = np.sqrt(1.0 if sing else s[q])
                djj[q] = piv
                ij[q] = 1.0 / piv
            for d in range(1, min(bw, m - 1 - j) + 1):
                i = j + d
                s[:nq] = band[i, d, :nq]
                for k in range(max(0, i - bw), j):
                    _sub_prod(s, band[i, i - k], band[j, j - k], nq)
                _mul_into(band[i, d], s, ij, nq)
        _substitute_per_pixel(z, band, inv, bw, nq)
        _finish(yb, None if w is None else wb, 0, ref, sec, z, nq, work, rb, coef)
        for q in range(nq):
            c = b0 + q if cols is None else cols[b0 + q]
            singular_out[c] = bad[q] and (mask is None or mask[c])
            # A split network always gives a zero pivot, so only a singular pixel needs the union-find (which
            # tells a split network from one merely ill-conditioned by tiny weights).
            connected_out[c] = (mask is None or mask[c]) and (
                network_connected if work[3, q] == p else not bad[q] or _linked(yb, None if w is None else wb, ref, sec, q, parent)
            )
        _store(z, work, mask, cols, b0, nq, scale, gvel, min_tcoh, keep, disp_out, vel_out, rms_out, tcoh_out)


@njit(inline="always")
def _finish(y, w, b0, ref, sec, x, nq, work, rb, coef):
    """Residuals of the valid pairs of the block: ``work`` = (Σr², Σcos r, Σsin r, count) per pixel.

    ``y`` is the full array (read at ``b0:b0+nq``) or the gathered block (``b0`` = 0). ``rb`` (block,),
    ``work`` and ``coef`` (``coefficients``) have the input's dtype, so float32 input gets float32
    arithmetic here — twice the vector lanes of float64, and ample for a coherence.
    """
    work[:, :nq] = 0.0
    e2, cs, sn, cnt = work[0], work[1], work[2], work[3]
    for k in range(y.shape[0]):
        yk = y[k, b0 : b0 + nq]
        xs = x[sec[k] - 1]
        xr = x[max(ref[k], 1) - 1]
        f = 1.0 if ref[k] > 0 else 0.0
        for q in range(nq):
            rb[q] = xs[q] - f * xr[q] - yk[q]
        if w is not None:
            wk = w[k]
            for q in range(nq):
                rb[q] = rb[q] if wk[q] > 0 else np.nan
        _accumulate(rb, coef, e2, cs, sn, cnt, nq)


@njit(inline="always")
def _accumulate(rb, k, e2, cs, sn, cnt, nq):
    """Adds one pair's residuals ``rb`` (NaN: not valid) to the sums; all arithmetic in ``k``'s dtype."""
    zero, one = k[12], k[13]
    for q in range(nq):
        r = rb[q]
        ok = r == r
        r = r if ok else zero
        c, s = _cis(r, k)
        e2[q] += r * r
        cs[q] += c if ok else zero
        sn[q] += s
        cnt[q] += one if ok else zero


@njit(inline="always")
def _cis(r, k):
    """(cos r, sin r) to ~1e-6 for any r: reduce to [−π, π], halve, Taylor to degree 10/11, double.

    A polynomial, not libm calls, so the loop over pixels compiles to vector instructions."""
    h = k[0] * (r - np.floor(r * k[1] + k[0]) * k[2])  # |h| ≤ π/2
    h2 = h * h
    s = h * (k[13] + h2 * (k[3] + h2 * (k[4] + h2 * (k[5] + h2 * (k[6] + h2 * k[7])))))
    c = k[13] + h2 * (-k[0] + h2 * (k[8] + h2 * (k[9] + h2 * (k[10] + h2 * k[11]))))
    return c * c - s * s, (s + s) * c


def coefficients(dtype):
    """The constants of ``_cis``/``_accumulate`` in ``dtype``: ½, 1/2π, 2π, the Taylor terms, 0, 1."""
    return np.array(
        [0.5, 1 / (2 * np.pi), 2 * np.pi, -1 / 6, 1 / 120, -1 / 5040, 1 / 362880, -1 / 39916800, 1 / 24, -1 / 720, 1 / 40320, -1 / 3628800, 0.0, 1.0],
        dtype=dtype,
    )


@njit(inline="always")
def _store(z, work, mask, cols, b0, nq, scale, gvel, min_tcoh, keep, disp_out, vel_out, rms_out, tcoh_out):
    """The block's outputs into the caller's arrays: displacement rows, velocity, RMS, temporal coherence.

    Row by row (each output row written contiguously: a pixel's values lie a row's length apart, and
    writing them pixel by pixel cost more than the solve). Displacement and velocity are NaN where the
    pixel is masked, has no valid pair, or its temporal coherence is below ``min_tcoh``."""
    m = z.shape[0]
    for q in range(nq):  # branch-free: selects, not jumps, so the loops stay vector code
        c = b0 + q if cols is None else cols[b0 + q]
        n = work[3, q]
        valid = (n > 0) & (True if mask is None else mask[c])
        tc = np.sqrt(work[1, q] ** 2 + work[2, q] ** 2) / n
        rms_out[c] = np.sqrt(work[0, q] / n) if valid else np.nan
        tcoh_out[c] = tc if valid else np.nan
        k = valid & (tc >= min_tcoh)
        keep[q] = k
        disp_out[0, c] = 0.0 if k else np.nan
        work[0, q] = 0.0  # reused: the velocity, summed here rather than in the output row (no aliasing)
    v = work[0]
    for j in range(m):
        g = gvel[j + 1]
        zj = z[j]
        for q in range(nq):
            d = scale * zj[q]
            v[q] += g * d
        if cols is None:
            row = disp_out[j + 1, b0 : b0 + nq]
            for q in range(nq):
                row[q] = scale * zj[q] if keep[q] else np.nan
        else:
            for q in range(nq):
                disp_out[j + 1, cols[b0 + q]] = scale * zj[q] if keep[q] else np.nan
    for q in range(nq):
        c = b0 + q if cols is None else cols[b0 + q]
        vel_out[c] = v[q] if keep[q] else np.nan


@njit(inline="always")
def _forward(z, lband, linv, bw, nq):
    """``L u = z`` in place for a factor shared by every pixel (scalar coefficients)."""
    for j in range(z.shape[0]):
        zj = z[j]
        for k in range(max(0, j - bw), j):
            _axpy(zj, -lband[j, j - k], z[k], nq)
        _scale(zj, linv[j], nq)


@njit(inline="always")
def _backward(z, lband, linv, bw, nq):
    """``Lᵀ x = z`` in place for a factor shared by every pixel."""
    m = z.shape[0]
    for j in range(m - 1, -1, -1):
        zj = z[j]
        for i in range(j + 1, min(m, j + bw + 1)):
            _axpy(zj, -lband[i, i - j], z[i], nq)
        _scale(zj, linv[j], nq)


@njit(inline="always")
def _substitute_per_pixel(z, band, inv, bw, nq):
    """``L Lᵀ x = z`` in place, one factor per pixel."""
    m = z.shape[0]
    for j in range(m):
        zj = z[j]
        for k in range(max(0, j - bw), j):
            _sub_prod(zj, band[j, j - k], z[k], nq)
        _mul(zj, inv[j], nq)
    for j in range(m - 1, -1, -1):
        zj = z[j]
        for i in range(j + 1, min(m, j + bw + 1)):
            _sub_prod(zj, band[i, i - j], z[i], nq)
        _mul(zj, inv[j], nq)


@njit(inline="always")
def _coherence_to_weight(wb, lut, nq):
    """Coherence → weight in place through ``lut`` (200 bins of 0.005, MintPy's grid); NaN and values below
    0.05 count as 0.05, as in MintPy's ``coherence2weight``."""
    for k in range(wb.shape[0]):
        for q in range(nq):
            g = wb[k, q]
            i = int((g - 0.0025) * 200.0) if g >= 0.05 else 9
            wb[k, q] = lut[min(max(i, 9), lut.shape[0] - 1)]


@njit(inline="always")
def _gather(src, cols, b0, nq, out):
    """``out[:, :nq]`` = the block's columns of ``src``: ``b0:b0+nq`` or ``cols[b0:b0+nq]``."""
    for k in range(src.shape[0]):
        ok = out[k]
        if cols is None:
            sk = src[k, b0 : b0 + nq]
            for q in range(nq):
                ok[q] = sk[q]
        else:
            for q in range(nq):
                ok[q] = src[k, cols[b0 + q]]


@njit(inline="always")
def _linked(y, w, ref, sec, col, parent):
    """Whether the valid pairs at pixel ``col`` link every date to the first one (union-find)."""
    for d in range(parent.shape[0]):
        parent[d] = d
    seen = False
    for k in range(y.shape[0]):
        v = y[k, col]
        if v != v or (w is not None and not (w[k, col] > 0)):
            continue
        seen = True
        a = ref[k]
        while parent[a] != a:
            a = parent[a]
        c = sec[k]
        while parent[c] != c:
            c = parent[c]
        parent[max(a, c)] = min(a, c)
    for d in range(1, parent.shape[0]):
        a = d
        while parent[a] != a:
            a = parent[a]
        if a != 0:
            return False
    return seen


@njit(inline="always")
def _add(a, b, n):
    for q in range(n):
        a[q] += b[q]


@njit(inline="always")
def _sub(a, b, n):
    for q in range(n):
        a[q] -= b[q]


@njit(inline="always")
def _mul(a, b, n):
    for q in range(n):
        a[q] *= b[q]


@njit(inline="always")
def _mul_into(out, a, b, n):
    for q in range(n):
        out[q] = a[q] * b[q]


@njit(inline="always")
def _scale(a, c, n):
    for q in range(n):
        a[q] *= c


@njit(inline="always")
def _axpy(a, c, b, n):
    for q in range(n):
        a[q] += c * b[q]


@njit(inline="always")
def _sub_prod(a, b, c, n):
    for q in range(n):
        a[q] -= b[q] * c[q]
