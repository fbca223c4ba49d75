"""Convolutions of waveforms with kernels: direct, FFT-based and reflect-padded.

``convolve_wf`` and ``reflected_convolve_wf`` reproduce ``np.convolve`` bit for bit on x86-64
machines where numpy's OpenBLAS runs its SkylakeX (AVX-512) kernels, which is where the
reference numbers were made. ``np.convolve`` correlates the waveform with the reversed kernel:
kernels of up to 11 taps are summed tap by tap in the working precision ("small kernel" path);
longer ones call BLAS ``?dot`` once per output sample, whose summation order (lane-wise fused
multiply-adds, a fixed reduction tree and a scalar tail) is restated by ``_sdot``/``_ddot`` and,
vectorised over many output samples at once, by ``_dot_run_f32``/``_dot_run_f64``.
"""

from __future__ import annotations

import threading
from typing import Any

import numba
import numpy as np
from llvmlite import ir as llvm_ir
from numba import types
from numba.extending import intrinsic, overload

from ..errors import DSPFatal
from . import block_processor
from ._util import GUFUNC_OPTIONS, any_nan
from .gufunc import lazy_gufunc

# helpers called from the gufuncs: same IEEE behaviour as the gufunc bodies (no ZeroDivisionError)
_NJIT: dict = {"cache": True, "error_model": "numpy"}

# output samples computed together by the vectorised dot products (fits L1 with its scratch)
_TILE = 1024

# kernels up to this many taps take numpy's tap-by-tap path instead of BLAS
_SMALL_KERNEL = 11


@intrinsic
def _fma(typingctx: Any, a: Any, b: Any, c: Any) -> Any:
    """a*b + c with a single rounding (LLVM's fma intrinsic), for float32 or float64."""
    if not (isinstance(a, types.Float) and a == b == c):
        return None

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        ty = args[0].type
        fnty = llvm_ir.FunctionType(ty, [ty, ty, ty])
        fn = builder.module.declare_intrinsic("llvm.fma", [ty], fnty)
        return builder.call(fn, args)

    return a(a, b, c), codegen


# --------------------------------------------------------------------------- one dot product
# One BLAS call, its accumulator lanes held in a scratch array (vectorised over the lanes).
@numba.njit(**_NJIT)
def _sdot(x: np.ndarray, xo: int, y: np.ndarray, yo: int, n: int, acc: np.ndarray) -> np.float32:
    """float32 dot product of x[xo:xo+n] and y[yo:yo+n] in OpenBLAS-SkylakeX order.

    acc: float32 scratch of 96. Four 16-lane accumulators run over the multiple of 64, are
    folded to four 8-lane ones that run over the rest of the multiple of 32, then reduced
    ((a0+a1)+a2)+a3, halves, pairs; the remaining < 32 products are summed in float64.
    """
    n1 = n & -32
    part = 0.0
    if n1:
        n64 = n1 & -64
        xs = x[xo : xo + n]
        ys = y[yo : yo + n]
        wide = acc[:64]
        lanes = acc[64:96]
        wide[:] = 0.0
        for base in range(0, n64, 64):
            xb = xs[base : base + 64]
            yb = ys[base : base + 64]
            for k in range(64):
                wide[k] = _fma(xb[k], yb[k], wide[k])
        for k in range(32):
            lanes[k] = wide[(k >> 3) * 16 + (k & 7)] + wide[(k >> 3) * 16 + 8 + (k & 7)]
        for base in range(n64, n1, 32):
            xb = xs[base : base + 32]
            yb = ys[base : base + 32]
            for k in range(32):
                lanes[k] = _fma(xb[k], yb[k], lanes[k])
        h0 = (((lanes[0] + lanes[8]) + lanes[16]) + lanes[24]) + (
            ((lanes[4] + lanes[12]) + lanes[20]) + lanes[28]
        )
        h1 = (((lanes[1] + lanes[9]) + lanes[17]) + lanes[25]) + (
            ((lanes[5] + lanes[13]) + lanes[21]) + lanes[29]
        )
        h2 = (((lanes[2] + lanes[10]) + lanes[18]) + lanes[26]) + (
            ((lanes[6] + lanes[14]) + lanes[22]) + lanes[30]
        )
        h3 = (((lanes[3] + lanes[11]) + lanes[19]) + lanes[27]) + (
            ((lanes[7] + lanes[15]) + lanes[23]) + lanes[31]
        )
        part = np.float64((h0 + h1) + (h2 + h3))
    total = 0.0
    for i in range(n1, n):
        total += np.float64(x[xo + i] * y[yo + i])
    return np.float32(total + part)


@numba.njit(**_NJIT)
def _ddot(x: np.ndarray, xo: int, y: np.ndarray, yo: int, n: int, acc: np.ndarray) -> np.float64:
    """float64 dot product of x[xo:xo+n] and y[yo:yo+n] in OpenBLAS-SkylakeX order.

    acc: float64 scratch of 48. Four 8-lane accumulators over the multiple of 32, folded to
    four 4-lane ones over the rest of the multiple of 16, reduced ((a0+a1)+a2)+a3, then
    (l0+l2)+(l1+l3); the remaining < 16 products are added with fused multiply-adds.
    """
    n1 = n & -16
    total = 0.0
    if n1:
        n32 = n1 & -32
        xs = x[xo : xo + n]
        ys = y[yo : yo + n]
        wide = acc[:32]
        lanes = acc[32:48]
        wide[:] = 0.0
        for base in range(0, n32, 32):
            xb = xs[base : base + 32]
            yb = ys[base : base + 32]
            for k in range(32):
                wide[k] = _fma(xb[k], yb[k], wide[k])
        for k in range(16):
            lanes[k] = wide[(k >> 2) * 8 + (k & 3)] + wide[(k >> 2) * 8 + 4 + (k & 3)]
        for base in range(n32, n1, 16):
            xb = xs[base : base + 16]
            yb = ys[base : base + 16]
            for k in range(16):
                lanes[k] = _fma(xb[k], yb[k], lanes[k])
        s0 = ((lanes[0] + lanes[4]) + lanes[8]) + lanes[12]
        s1 = ((lanes[1] + lanes[5]) + lanes[9]) + lanes[13]
        s2 = ((lanes[2] + lanes[6]) + lanes[10]) + lanes[14]
        s3 = ((lanes[3] + lanes[7]) + lanes[11]) + lanes[15]
        total = (s0 + s2) + (s1 + s3)
    for i in range(n1, n):
        total = _fma(x[xo + i], y[yo + i], total)
    return total


# ------------------------------------------------------- many dot products with a sliding window
# The sliding versions compute the same sums for many output samples t at once (x[t:t+n] against
# y), one accumulator lane of the BLAS kernel per pass, with the innermost loop over t so that
# LLVM vectorises it. For float32 kernels of 32..255 taps, each lane is built in one pass from
# chains written out below (k1 = number of AVX-512 steps, k2 = number of AVX2 steps).
@numba.njit(inline="always", **_NJIT)
def _chain(xa: np.ndarray, t: int, k1: int, w: tuple) -> Any:
    """k1 (1..3) AVX-512 steps of one accumulator lane, its two halves added (512->256 fold).

    xa[t] is the lane's first element for output t; w holds the kernel taps at offsets
    0, 8, 64, 72, 128, 136 from it.
    """
    z = np.float32(0.0)
    lo = _fma(xa[t], w[0], z)
    hi = _fma(xa[t + 8], w[1], z)
    if k1 > 1:
        lo = _fma(xa[t + 64], w[2], lo)
        hi = _fma(xa[t + 72], w[3], hi)
    if k1 > 2:
        lo = _fma(xa[t + 128], w[4], lo)
        hi = _fma(xa[t + 136], w[5], hi)
    return lo + hi


@numba.njit(inline="always", **_NJIT)
def _taps(y: np.ndarray, o: int, k1: int) -> tuple:
    """The kernel taps a lane chain starting at offset o uses (zeros where k1 needs none)."""
    z = np.float32(0.0)
    return (
        y[o],
        y[o + 8],
        y[o + 64] if k1 > 1 else z,
        y[o + 72] if k1 > 1 else z,
        y[o + 128] if k1 > 2 else z,
        y[o + 136] if k1 > 2 else z,
    )


@numba.njit(inline="always", **_NJIT)
def _lane_loop(xs: np.ndarray, y: np.ndarray, lane: np.ndarray, tn: int, q: int, k1: int, k2: int):
    """lane[t] = accumulator lane q of sdot over windows xs[t:], for constant k1, k2."""
    z = np.float32(0.0)
    x0, x1, x2, x3 = xs[q:], xs[q + 16 :], xs[q + 32 :], xs[q + 48 :]
    e = 64 * k1 + q  # AVX2-step element of lane q for a = 0 (then +8 per a)
    u0, u1, u2, u3 = xs[e:], xs[e + 8 :], xs[e + 16 :], xs[e + 24 :]
    if k2:
        v0, v1, v2, v3 = y[e], y[e + 8], y[e + 16], y[e + 24]
    else:
        v0, v1, v2, v3 = z, z, z, z
    if k1 == 0:
        for t in range(tn):
            c0 = _fma(u0[t], v0, z + z)
            c1 = _fma(u1[t], v1, z + z)
            c2 = _fma(u2[t], v2, z + z)
            c3 = _fma(u3[t], v3, z + z)
            lane[t] = ((c0 + c1) + c2) + c3
        return
    w0, w1, w2, w3 = (
        _taps(y, q, k1),
        _taps(y, q + 16, k1),
        _taps(y, q + 32, k1),
        _taps(y, q + 48, k1),
    )
    if k2 == 0:
        for t in range(tn):
            c0 = _chain(x0, t, k1, w0)
            c1 = _chain(x1, t, k1, w1)
            c2 = _chain(x2, t, k1, w2)
            c3 = _chain(x3, t, k1, w3)
            lane[t] = ((c0 + c1) + c2) + c3
    else:
        for t in range(tn):
            c0 = _fma(u0[t], v0, _chain(x0, t, k1, w0))
            c1 = _fma(u1[t], v1, _chain(x1, t, k1, w1))
            c2 = _fma(u2[t], v2, _chain(x2, t, k1, w2))
            c3 = _fma(u3[t], v3, _chain(x3, t, k1, w3))
            lane[t] = ((c0 + c1) + c2) + c3


@numba.njit(**_NJIT)
def _lane_pass_f32(
    xs: np.ndarray, y: np.ndarray, lane: np.ndarray, tn: int, q: int, k1: int, k2: int
):
    """lane[t] = sdot accumulator lane q for windows xs[t:], for 0 <= k1 <= 3 and k2 <= 1.

    Each (k1, k2) case gets its own loop (the branches are on constants) so that the chains
    stay in registers and the loop over t is vectorised.
    """
    if k1 == 0:
        _lane_loop(xs, y, lane, tn, q, 0, 1)
    elif k1 == 1:
        if k2:
            _lane_loop(xs, y, lane, tn, q, 1, 1)
        else:
            _lane_loop(xs, y, lane, tn, q, 1, 0)
    elif k1 == 2:
        if k2:
            _lane_loop(xs, y, lane, tn, q, 2, 1)
        else:
            _lane_loop(xs, y, lane, tn, q, 2, 0)
    elif k2:
        _lane_loop(xs, y, lane, tn, q, 3, 1)
    else:
        _lane_loop(xs, y, lane, tn, q, 3, 0)


@numba.njit(**_NJIT)
def _lane_multipass_f32(
    xs: np.ndarray, y: np.ndarray, lane: np.ndarray, tn: int, q: int, n64: int, n1: int
):
    """The same lane for any kernel length, one pass per accumulation step (slower)."""
    p0 = np.empty(tn, np.float32)
    p1 = np.empty(tn, np.float32)
    for a in range(4):
        p0[:] = 0.0
        p1[:] = 0.0
        for base in range(16 * a + q, n64, 64):
            y0 = y[base]
            y1 = y[base + 8]
            x0 = xs[base : base + tn]
            x1 = xs[base + 8 : base + 8 + tn]
            for t in range(tn):
                p0[t] = _fma(x0[t], y0, p0[t])
                p1[t] = _fma(x1[t], y1, p1[t])
        for t in range(tn):
            p0[t] = p0[t] + p1[t]
        for i in range(n64 + 8 * a + q, n1, 32):
            yi = y[i]
            xi = xs[i : i + tn]
            for t in range(tn):
                p0[t] = _fma(xi[t], yi, p0[t])
        if a == 0:
            lane[:tn] = p0
        else:
            for t in range(tn):
                lane[t] = lane[t] + p0[t]


@numba.njit(**_NJIT)
def _dot_run_f32(x: np.ndarray, xo: int, y: np.ndarray, out: np.ndarray, oo: int, count: int):
    """out[oo+j] = _sdot(x, xo+j, y, 0, len(y)) for j < count, vectorised over j."""
    n = len(y)
    n1 = n & -32
    n64 = n1 & -64
    k1 = n64 // 64
    k2 = (n1 - n64) // 32
    lanes = np.empty((8, _TILE), np.float32)
    tail = np.empty(_TILE, np.float64)
    for t0 in range(0, count, _TILE):
        tn = min(_TILE, count - t0)
        xs = x[xo + t0 : xo + t0 + tn + n - 1]
        if n1:
            for q in range(8):
                if k1 <= 3:
                    _lane_pass_f32(xs, y, lanes[q], tn, q, k1, k2)
                else:
                    _lane_multipass_f32(xs, y, lanes[q], tn, q, n64, n1)
        tail[:tn] = 0.0
        for i in range(n1, n):
            yi = y[i]
            xi = xs[i : i + tn]
            for t in range(tn):
                tail[t] += np.float64(xi[t] * yi)
        if n1:
            l0 = lanes[0]
            l1 = lanes[1]
            l2 = lanes[2]
            l3 = lanes[3]
            l4 = lanes[4]
            l5 = lanes[5]
            l6 = lanes[6]
            l7 = lanes[7]
            for t in range(tn):
                part = ((l0[t] + l4[t]) + (l1[t] + l5[t])) + ((l2[t] + l6[t]) + (l3[t] + l7[t]))
                out[oo + t0 + t] = np.float32(tail[t] + np.float64(part))
        else:
            for t in range(tn):
                out[oo + t0 + t] = np.float32(tail[t])


@numba.njit(**_NJIT)
def _dot_run_f64(x: np.ndarray, xo: int, y: np.ndarray, out: np.ndarray, oo: int, count: int):
    """out[oo+j] = _ddot(x, xo+j, y, 0, len(y)) for j < count, vectorised over j."""
    n = len(y)
    n1 = n & -16
    n32 = n1 & -32
    lanes = np.empty((4, _TILE), np.float64)
    p0 = np.empty(_TILE, np.float64)
    p1 = np.empty(_TILE, np.float64)
    for t0 in range(0, count, _TILE):
        tn = min(_TILE, count - t0)
        xb = xo + t0
        if n1:
            for q in range(4):
                lane = lanes[q]
                for a in range(4):
                    p0[:tn] = 0.0
                    p1[:tn] = 0.0
                    for base in range(8 * a + q, n32, 32):
                        y0 = y[base]
                        y1 = y[base + 4]
                        x0 = x[xb + base : xb + base + tn]
                        x1 = x[xb + base + 4 : xb + base + 4 + tn]
                        for t in range(tn):
                            p0[t] = _fma(x0[t], y0, p0[t])
                            p1[t] = _fma(x1[t], y1, p1[t])
                    for t in range(tn):
                        p0[t] = p0[t] + p1[t]
                    for i in range(n32 + 4 * a + q, n1, 16):
                        yi = y[i]
                        xi = x[xb + i : xb + i + tn]
                        for t in range(tn):
                            p0[t] = _fma(xi[t], yi, p0[t])
                    if a == 0:
                        lane[:tn] = p0[:tn]
                    else:
                        for t in range(tn):
                            lane[t] = lane[t] + p0[t]
            for t in range(tn):
                p0[t] = (lanes[0, t] + lanes[2, t]) + (lanes[1, t] + lanes[3, t])
        else:
            p0[:tn] = 0.0
        for i in range(n1, n):
            yi = y[i]
            xi = x[xb + i : xb + i + tn]
            for t in range(tn):
                p0[t] = _fma(xi[t], yi, p0[t])
        for t in range(tn):
            out[oo + t0 + t] = p0[t]


def _dot(x, xo, y, yo, n, acc):  # pragma: no cover - replaced by the overload below
    raise NotImplementedError


@overload(_dot, jit_options=_NJIT)
def _dot_overload(x, xo, y, yo, n, acc):  # noqa: ANN001 - numba matches these names
    if x.dtype == types.float32:
        return lambda x, xo, y, yo, n, acc: _sdot(x, xo, y, yo, n, acc)
    return lambda x, xo, y, yo, n, acc: _ddot(x, xo, y, yo, n, acc)


def _dot_run(x, xo, y, out, oo, count):  # pragma: no cover - replaced by the overload below
    raise NotImplementedError


@overload(_dot_run, jit_options=_NJIT)
def _dot_run_overload(x, xo, y, out, oo, count):  # noqa: ANN001 - numba matches these names
    if x.dtype == types.float32:
        return lambda x, xo, y, out, oo, count: _dot_run_f32(x, xo, y, out, oo, count)
    return lambda x, xo, y, out, oo, count: _dot_run_f64(x, xo, y, out, oo, count)


# ------------------------------------------------------------------------- numpy's correlate
@numba.njit(**_NJIT)
def _valid_part(x: np.ndarray, xo: int, krev: np.ndarray, out: np.ndarray, oo: int, count: int):
    """out[oo+j] = sum_k x[xo+j+k]*krev[k] for j < count, summed as np.correlate does."""
    m = len(krev)
    if m <= _SMALL_KERNEL:
        # numpy's unrolled loop: s = 0; s += x[j+k]*krev[k] for k = 0..m-1, in x's dtype;
        # done tap by tap over chunks of outputs so that the loop over j is vectorised
        acc = np.empty(_TILE, x.dtype)
        for j0 in range(0, count, _TILE):
            jn = min(_TILE, count - j0)
            xs = x[xo + j0 : xo + j0 + jn + m - 1]
            k0 = krev[0]
            for j in range(jn):
                acc[j] = np.float32(0.0) + xs[j] * k0
            for k in range(1, m):
                kk = krev[k]
                xk = xs[k : k + jn]
                for j in range(jn):
                    acc[j] += xk[j] * kk
            out[oo + j0 : oo + j0 + jn] = acc[:jn]
    else:
        _dot_run(x, xo, krev, out, oo, count)


@numba.njit(**_NJIT)
def _np_convolve(w: np.ndarray, kernel: np.ndarray, n_left: int, n_right: int, out: np.ndarray):
    """np.convolve(w, kernel) with n_left/n_right partial outputs before/after the valid ones."""
    n = len(w)
    m = len(kernel)
    w = np.ascontiguousarray(w)  # unit stride lets LLVM vectorise the sliding dot products
    krev = kernel[::-1].copy()
    acc = np.empty(96, w.dtype)
    o = 0
    for i in range(n_left):
        out[o] = _dot(w, 0, krev, n_left - i, m - n_left + i, acc)
        o += 1
    n_valid = n - m + 1
    _valid_part(w, 0, krev, out, o, n_valid)
    o += n_valid
    for r in range(n_right):
        out[o] = _dot(w, n_valid + r, krev, 0, m - 1 - r, acc)
        o += 1


@lazy_gufunc(
    [
        "void(float32[:], float32[:], char, float32[:])",
        "void(float64[:], float64[:], char, float64[:])",
    ],
    "(n),(m),(),(p)",
    **GUFUNC_OPTIONS,
)
def convolve_wf(w_in: np.ndarray, kernel: np.ndarray, mode_in: np.int8, w_out: np.ndarray) -> None:
    """Convolve a waveform with a kernel like ``np.convolve``.

    w_in: waveform (samples); kernel: filter taps (samples, not longer than w_in);
    mode_in: ``'f'`` full (len n+m-1), ``'v'`` valid (len n-m+1) or ``'s'`` same (len n);
    w_out: filtered waveform, same units as w_in times the kernel's.
    NaN in w_in or kernel gives an all-NaN row.
    """
    w_out[:] = np.nan
    if any_nan(w_in) or any_nan(kernel):
        return
    n = len(w_in)
    m = len(kernel)
    if m > n:
        raise DSPFatal("The filter is longer than the input waveform")
    if mode_in == 102:  # 'f'
        if len(w_out) != n + m - 1:
            raise DSPFatal("Output waveform has the wrong length for mode 'f' (need n+m-1)")
        n_left = m - 1
        n_right = m - 1
    elif mode_in == 118:  # 'v'
        if len(w_out) != n - m + 1:
            raise DSPFatal("Output waveform has the wrong length for mode 'v' (need n-m+1)")
        n_left = 0
        n_right = 0
    elif mode_in == 115:  # 's'
        if len(w_out) != n:
            raise DSPFatal("Output waveform has the wrong length for mode 's' (need n)")
        n_left = m // 2
        n_right = m - n_left - 1
    else:
        raise DSPFatal("Invalid mode")
    if m == 0:
        raise DSPFatal("The kernel is empty")
    _np_convolve(w_in, kernel, n_left, n_right, w_out)


# ----------------------------------------------------------------------------- reflect padding
@numba.njit(inline="always", **_NJIT)
def _reflect(p: int, n: int) -> int:
    """Index into a length-n waveform of position p of its 'reflect' extension (np.pad)."""
    if n == 1:
        return 0
    period = 2 * (n - 1)
    p %= period
    return period - p if p >= n else p


@lazy_gufunc(
    ["void(float32[:], float32[:], float32[:])", "void(float64[:], float64[:], float64[:])"],
    "(n),(m),(p)",
    **GUFUNC_OPTIONS,
)
def reflected_convolve_wf(w_in: np.ndarray, kernel: np.ndarray, w_out: np.ndarray) -> None:
    """Convolve 'same' after reflect-padding the waveform by len(kernel)//2+1 on each side.

    w_in: waveform (samples); kernel: filter taps (not longer than w_in);
    w_out: filtered waveform (len(w_in) samples). NaN in w_in or kernel gives an all-NaN row.
    """
    w_out[:] = np.nan
    if any_nan(w_in) or any_nan(kernel):
        return
    n = len(w_in)
    m = len(kernel)
    if m > n:
        raise DSPFatal("The filter is longer than the input waveform")
    if len(w_out) != n:
        raise DSPFatal("The output waveform must be as long as the input waveform")
    if m == 0:
        raise DSPFatal("The kernel is empty")
    ext = m // 2 + 1
    # output t is the correlation of padded samples t+1 .. t+m, i.e. waveform samples
    # t+1-ext .. t+m-ext (reflected where outside the waveform)
    padded = np.empty(n + m, w_in.dtype)
    shift = ext - 1
    for i in range(min(shift, n + m)):
        padded[i] = w_in[_reflect(i - shift, n)]
    padded[shift : shift + n] = w_in
    for i in range(shift + n, n + m):
        padded[i] = w_in[_reflect(i - shift, n)]
    _valid_part(padded, 0, kernel[::-1].copy(), w_out, 0, n)


# --------------------------------------------------------------------------------- FFT-based
_CACHE_LOCK = threading.Lock()
_KERNEL_SPECTRA: list[tuple[np.ndarray, tuple, Any]] = []  # (kernel copy, key, spectrum)
_INPUT_SPECTRA: list[tuple[np.ndarray, tuple, Any]] = []  # (block copy, key, spectrum)
_MAX_KERNELS = 8
_MAX_INPUTS = 2


def _same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    """True if two arrays of one shape and dtype hold the same bit patterns."""
    return (
        a.shape == b.shape
        and a.dtype == b.dtype
        and np.array_equal(a.view(f"u{a.itemsize}"), b.view(f"u{b.itemsize}"))
    )


def _cached_rfft(
    store: list, limit: int, arr: np.ndarray, fshape: list[int], axes: list[int]
) -> Any:
    """scipy.fft.rfftn(arr, fshape, axes=axes), reusing a stored result for identical input."""
    from scipy import fft as sp_fft

    key = (tuple(fshape), tuple(axes))
    with _CACHE_LOCK:
        for i, (kept, kept_key, spectrum) in enumerate(store):
            if kept_key == key and _same_bits(kept, arr):
                store.insert(0, store.pop(i))
                return spectrum
    spectrum = sp_fft.rfftn(arr, fshape, axes=axes)
    with _CACHE_LOCK:
        store.insert(0, (arr.copy(), key, spectrum))
        del store[limit:]
    return spectrum


def _mode_char(mode_in: Any) -> str:
    """The mode character from an int8 code, a one-element array or a string."""
    if isinstance(mode_in, (str, bytes)):
        return mode_in.decode() if isinstance(mode_in, bytes) else mode_in
    return chr(int(np.asarray(mode_in).reshape(-1)[0]))


@block_processor("(n),(m),(),(p)", ["ffbf->", "ddbd->"])
def fft_convolve_wf(w_in: np.ndarray, kernel: np.ndarray, mode_in: Any, w_out: np.ndarray) -> None:
    """Convolve every row of a block with a kernel via FFT (``scipy.signal.fftconvolve``).

    w_in: waveforms (rows × samples); kernel: taps (samples, or rows × samples), not longer
    than the waveforms; mode_in: ``'f'``, ``'v'`` or ``'s'`` as in :func:`convolve_wf`;
    w_out: filtered waveforms, written in place. Rows with NaN are convolved as zeros and
    set to NaN afterwards; a NaN in the kernel gives an all-NaN block. The kernel's spectrum,
    and the last blocks' spectra, are kept between calls when the arrays hold the same values.
    """
    w_out[...] = np.nan
    w_in = np.asarray(w_in)
    kernel = np.asarray(kernel)
    bad_rows = np.isnan(w_in).any(axis=-1, keepdims=True)
    if bad_rows.any():
        w_in = np.where(bad_rows, 0, w_in)
    if np.isnan(kernel).any():
        return
    if kernel.shape[-1] > w_in.shape[-1]:
        raise DSPFatal("The filter is longer than the input waveform")
    mode = {"f": "full", "v": "valid", "s": "same"}.get(_mode_char(mode_in))
    if mode is None:
        raise DSPFatal("Invalid mode")
    if kernel.ndim < w_in.ndim:
        kernel = kernel.reshape((1,) * (w_in.ndim - kernel.ndim) + kernel.shape)

    n = w_in.shape[-1]
    m = kernel.shape[-1]
    if w_in.ndim != 2 or kernel.ndim != 2 or n == 1 or m == 1:
        from scipy.signal import fftconvolve

        result = fftconvolve(w_in, kernel, mode=mode, axes=-1)
    else:
        result = _fft_convolve_2d(w_in, kernel, mode)
    if result.shape[-1] != w_out.shape[-1]:
        raise DSPFatal("Output waveform has the wrong length for the convolution mode")
    w_out[...] = result
    if bad_rows.any():
        w_out[...] = np.where(bad_rows, np.nan, w_out)


def _fft_convolve_2d(in1: np.ndarray, in2: np.ndarray, mode: str) -> np.ndarray:
    """fftconvolve(in1, in2, mode, axes=-1) for 2-d arrays, as scipy computes it.

    Mode ``valid`` uses a circular convolution of the input's length instead (same values to
    float rounding, about twice as fast for the long CUSP/ZAC kernels).
    """
    from scipy import fft as sp_fft

    n = in1.shape[1]
    m = in2.shape[1]
    if in1.dtype.kind in "iub":
        in1 = in1.astype(np.float64)
    if in2.dtype.kind in "iub":
        in2 = in2.astype(np.float64)
    full = n + m - 1
    complex_result = in1.dtype.kind == "c" or in2.dtype.kind == "c"
    if mode == "valid" and n >= m and not complex_result:
        # the valid part of a linear convolution equals that of a circular one of any length
        # >= n (the wrap-around lands outside it): half the FFT length scipy uses for n + m - 1
        size = [sp_fft.next_fast_len(n, True)]
        sp1 = _cached_rfft(_INPUT_SPECTRA, _MAX_INPUTS, in1, size, [1])
        sp2 = _cached_rfft(_KERNEL_SPECTRA, _MAX_KERNELS, in2, size, [1])
        ret = sp_fft.irfftn(sp1 * sp2, size, axes=[1])
        return ret[: max(in1.shape[0], in2.shape[0]), m - 1 : n].copy()
    fshape = [sp_fft.next_fast_len(full, not complex_result)]
    axes = [1]
    if complex_result:
        sp1 = sp_fft.fftn(in1, fshape, axes=axes)
        sp2 = sp_fft.fftn(in2, fshape, axes=axes)
        ret = sp_fft.ifftn(sp1 * sp2, fshape, axes=axes)
    else:
        sp1 = _cached_rfft(_INPUT_SPECTRA, _MAX_INPUTS, in1, fshape, axes)
        sp2 = _cached_rfft(_KERNEL_SPECTRA, _MAX_KERNELS, in2, fshape, axes)
        ret = sp_fft.irfftn(sp1 * sp2, fshape, axes=axes)
    ret = ret[: max(in1.shape[0], in2.shape[0]), :full]
    if mode == "full":
        return ret.copy()
    length = n if mode == "same" else n - m + 1
    start = (full - length) // 2
    return ret[:, start : start + length].copy()
