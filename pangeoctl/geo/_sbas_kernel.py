"""The compiled SBAS solves: banded Cholesky of the normal equations, pixels innermost.

For a pair (reference i, secondary j) the normal matrix ``Aᵀ W A`` gains ``w`` at (i, i) and (j, j) and
``−w`` at (j, i): it is banded, its half-bandwidth ``b`` the longest pair in dates (3 for a 3-connection
network, whatever the number of dates). Both kernels work on blocks of pixels with the pixel index
innermost, so each step is one vector instruction over the block, and the band keeps the work at
``m·b²`` per pixel instead of the ``m³`` of a dense solve.

- ``solve_shared``: no weights and every pair valid — all pixels share one factor ``L``, so a pixel costs
  ``Aᵀy`` (two adds per pair), two banded substitutions and the residual: fewer flops than the
  ``2·m·pairs`` of a plain ``pinv(A) @ y``. Pixels with a NaN are only marked, for ``solve_general``.
- ``solve_general``: weights and/or NaN — each pixel builds and factors its own band.

Pixels are independent and the kernels release the GIL: callers split the pixel range over threads.
"""

from __future__ import annotations

import numpy as np
from numba import njit

SINGULAR = 1e-10  # a pivot below this fraction of its diagonal marks the pixel's system as singular
_jit = njit(nogil=True, cache=True, error_model="numpy", fastmath={"contract"})


@_jit
def solve_shared(y, ref, sec, lband, linv, block, start, stop, x_out, rms_out, incomplete_out):  # noqa: PLR0913
    """Pixels ``start:stop`` of ``y`` (pairs, pixels) with the shared factor ``lband[i, d] = L(i, i − d)``.

    Writes ``x_out`` (m, pixels), ``rms_out`` and ``incomplete_out`` (a NaN among the pixel's pairs: its
    ``x``/``rms`` are NaN and it needs ``solve_general``).
    """
    p = y.shape[0]
    m, nb = lband.shape
    bw = nb - 1
    z = np.empty((m, block))
    yy = np.empty(block)
    for b0 in range(start, stop, block):
        nq = min(block, stop - b0)
        z[:] = 0.0
        yy[:] = 0.0
        for k in range(p):  # rhs = Aᵀ y (two adds per pair) and ‖y‖², one read of y
            yk = y[k, b0 : b0 + nq]
            zs = z[sec[k] - 1]
            if ref[k] > 0:
                zr = z[ref[k] - 1]
                for q in range(nq):
                    v = np.float64(yk[q])
                    zs[q] += v
                    zr[q] -= v
                    yy[q] += v * v
            else:
                for q in range(nq):
                    v = np.float64(yk[q])
                    zs[q] += v
                    yy[q] += v * v
        # L u = rhs; the least-squares residual is ‖y‖² − ‖u‖² (u = L⁻¹Aᵀy), so it needs no pass over y.
        _forward(z, lband, linv, bw, nq)
        for j in range(m):
            _sub_prod(yy, z[j], z[j], nq)
        _backward(z, lband, linv, bw, nq)
        for q in range(nq):
            rms_out[b0 + q] = np.sqrt(max(yy[q], 0.0) / p)
            incomplete_out[b0 + q] = yy[q] != yy[q]  # a NaN value reaches ‖y‖²
        _store(z, x_out, b0, nq)


@_jit
def solve_general(y, w, cols, ref, sec, bw, block, start, stop, network_connected, x_out, rms_out, singular_out, connected_out):  # noqa: PLR0913
    """Pixels ``start:stop`` (of ``cols``, the pixel columns to solve, or of all columns when None) with
    per-pixel normal equations; ``w`` (pairs, pixels) weights or None.

    A NaN value or a weight ≤ 0 drops the pair at that pixel. Writes ``x_out``, ``rms_out`` (unweighted
    RMS over the valid pairs, NaN when none), ``singular_out`` (a pivot shows the system singular: left
    for the caller's minimum-norm solve) and ``connected_out`` (union-find over the valid pairs).
    """
    p = y.shape[0]
    m = x_out.shape[0]
    yb = np.empty((p, block))  # the block's pixels, gathered from their columns
    wb = np.empty((p, block) if w is not None else (1, 1))
    band = np.empty((m, bw + 1, block))  # band[i, d] = N(i, i − d), overwritten by L(i, i − d)
    z = np.empty((m, block))
    inv = np.empty((m, block))
    s = np.empty(block)
    wv = np.empty(block)
    wy = np.empty(block)
    acc = np.empty(block)
    cnt = np.empty(block)
    bad = np.empty(block, dtype=np.bool_)
    parent = np.empty(m + 1, dtype=np.int64)
    for b0 in range(start, stop, block):
        nq = min(block, stop - b0)
        band[:] = 0.0
        z[:] = 0.0
        cnt[:] = 0.0
        bad[:] = False
        _gather(y, cols, b0, nq, yb)
        if w is not None:
            _gather(w, cols, b0, nq, wb)
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
            for q in range(nq):
                cnt[q] += wv[q] > 0
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
        _residual(yb, None if w is None else wb, ref, sec, z, acc, nq)
        for q in range(nq):
            c = b0 + q if cols is None else cols[b0 + q]
            rms_out[c] = np.sqrt(acc[q] / cnt[q]) if cnt[q] > 0 else np.nan
            singular_out[c] = bad[q]
            # A split network always gives a zero pivot, so only a singular pixel needs the union-find (which
            # tells a split network from one merely ill-conditioned by tiny weights).
            connected_out[c] = network_connected if cnt[q] == p else not bad[q] or _linked(yb, None if w is None else wb, ref, sec, q, parent)
            for j in range(m):
                x_out[j, c] = z[j, q]


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
def _residual(y, w, ref, sec, x, acc, nq):
    """``acc[q]`` = sum over valid pairs of (x[sec] − x[ref] − y)²; NaN values and weights ≤ 0 count 0."""
    acc[:] = 0.0
    for k in range(y.shape[0]):
        yk = y[k]
        xs = x[sec[k] - 1]
        xr = x[max(ref[k], 1) - 1]
        f = 1.0 if ref[k] > 0 else 0.0
        if w is None:
            for q in range(nq):
                r = xs[q] - f * xr[q] - yk[q]
                acc[q] += r * r if r == r else 0.0
        else:
            wk = w[k]
            for q in range(nq):
                r = xs[q] - f * xr[q] - yk[q]
                acc[q] += r * r if (r == r) & (wk[q] > 0) else 0.0
    return acc


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
def _store(z, x_out, b0, nq):
    for j in range(z.shape[0]):
        xj = x_out[j, b0 : b0 + nq]
        zj = z[j]
        for q in range(nq):
            xj[q] = zj[q]


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
