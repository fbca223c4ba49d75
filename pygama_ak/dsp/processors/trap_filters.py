"""Trapezoidal filters: trap_filter, trap_norm, asym_trap_filter and trap_pickoff (dspeed 2.4.3).

The three filters are block processors. For ``trap_norm`` and ``asym_trap_filter`` the
per-sample increments (the float32 differences and their float64 division by rise/fall) do not
depend on the running value, so they are computed first, vectorised along the row; only the
running sum — rounded to the waveform's type at every sample, as in dspeed — is sequential, and
four rows of it are interleaved (``trap_filter`` interleaves its whole float32 recursion). Same
operations in the same order as dspeed, hence the same bits.
"""

from __future__ import annotations

import numba
import numpy as np

from ..errors import DSPFatal
from . import block_processor
from ._util import (
    GUFUNC_OPTIONS,
    NJIT_OPTIONS,
    any_nan,
    as_rows,
    fill_nan,
    float_dtype,
    out_array,
    per_row,
)
from .gufunc import lazy_gufunc

# increment buffers get rows this many float64 longer than the waveform, so that the lanes of
# the interleaved recursions do not all fall into the same L1 cache set
_PAD = 40


# ----------------------------------------------------------------------------- shared pieces
@numba.njit(**NJIT_OPTIONS)
def _check_sym(x: np.ndarray, rise: int, flat: int) -> bool:
    """False for a NaN row (to be NaN-filled); DSPFatal for bad rise/flat (samples)."""
    if rise >= 0 and flat >= 0 and 2 * rise + flat <= x.shape[0]:
        return True
    if any_nan(x):
        return False
    if rise < 0:
        raise DSPFatal("The number of samples in the rise section must be positive")
    if flat < 0:
        raise DSPFatal("The number of samples in the flat section must be positive")
    raise DSPFatal("The trapezoid width is wider than the waveform")


@numba.njit(**NJIT_OPTIONS)
def _run_one(q: np.ndarray, out: np.ndarray) -> float:
    """out[i] = out[i−1] + q[i] with the sum rounded to out's type; returns the last value."""
    out[0] = q[0]
    acc = np.float64(out[0])
    for i in range(1, out.shape[0]):
        out[i] = acc + q[i]
        acc = out[i]
    return acc


@numba.njit(**NJIT_OPTIONS)
def _run_four(
    q0: np.ndarray,
    q1: np.ndarray,
    q2: np.ndarray,
    q3: np.ndarray,
    o0: np.ndarray,
    o1: np.ndarray,
    o2: np.ndarray,
    o3: np.ndarray,
    last: np.ndarray,
) -> None:
    """_run_one on four rows at once (independent chains interleaved)."""
    o0[0], o1[0], o2[0], o3[0] = q0[0], q1[0], q2[0], q3[0]
    a0 = np.float64(o0[0])
    a1 = np.float64(o1[0])
    a2 = np.float64(o2[0])
    a3 = np.float64(o3[0])
    for i in range(1, o0.shape[0]):
        o0[i] = a0 + q0[i]
        a0 = o0[i]
        o1[i] = a1 + q1[i]
        a1 = o1[i]
        o2[i] = a2 + q2[i]
        a2 = o2[i]
        o3[i] = a3 + q3[i]
        a3 = o3[i]
    last[0], last[1], last[2], last[3] = a0, a1, a2, a3


@numba.njit(**NJIT_OPTIONS)
def _run2_one(u: np.ndarray, v: np.ndarray, out: np.ndarray) -> float:
    """out[i] = (out[i−1] + u[i]) − v[i], rounded to out's type; returns the last value."""
    out[0] = u[0]
    acc = np.float64(out[0])
    for i in range(1, out.shape[0]):
        out[i] = acc + u[i] - v[i]
        acc = out[i]
    return acc


@numba.njit(**NJIT_OPTIONS)
def _run2_four(
    q: np.ndarray, o0: np.ndarray, o1: np.ndarray, o2: np.ndarray, o3: np.ndarray, last: np.ndarray
) -> None:
    """_run2_one on four rows at once; row k uses u = q[2k], v = q[2k+1]."""
    u0, v0, u1, v1, u2, v2, u3, v3 = q[0], q[1], q[2], q[3], q[4], q[5], q[6], q[7]
    o0[0], o1[0], o2[0], o3[0] = u0[0], u1[0], u2[0], u3[0]
    a0 = np.float64(o0[0])
    a1 = np.float64(o1[0])
    a2 = np.float64(o2[0])
    a3 = np.float64(o3[0])
    for i in range(1, o0.shape[0]):
        o0[i] = a0 + u0[i] - v0[i]
        a0 = o0[i]
        o1[i] = a1 + u1[i] - v1[i]
        a1 = o1[i]
        o2[i] = a2 + u2[i] - v2[i]
        a2 = o2[i]
        o3[i] = a3 + u3[i] - v3[i]
        a3 = o3[i]
    last[0], last[1], last[2], last[3] = a0, a1, a2, a3


# ----------------------------------------------------------------------------- trap_norm
@numba.njit(**NJIT_OPTIONS)
def _norm_steps(x: np.ndarray, rise: int, flat: int, q: np.ndarray) -> None:
    """q[i] = (x[i] − x[i−r] − x[i−r−f] + x[i−2r−f]) / r, the terms that exist at i.

    The difference is taken in x's type left to right, the division in float64 (dspeed).
    """
    n = x.shape[0]
    a = rise
    b = rise + flat
    c = 2 * rise + flat
    for i in range(a):
        q[i] = np.float64(x[i]) / rise
    x0, x1, qq = x[a:b], x[: b - a], q[a:b]
    for j in range(b - a):
        qq[j] = np.float64(x0[j] - x1[j]) / rise
    x0, x1, x2, qq = x[b:c], x[b - a : c - a], x[: c - b], q[b:c]
    for j in range(c - b):
        qq[j] = np.float64(x0[j] - x1[j] - x2[j]) / rise
    x0, x1, x2, x3, qq = x[c:], x[c - a : n - a], x[c - b : n - b], x[: n - c], q[c:n]
    for j in range(n - c):
        qq[j] = np.float64(x0[j] - x1[j] - x2[j] + x3[j]) / rise


@numba.njit(**NJIT_OPTIONS)
def _norm_block(x: np.ndarray, rise: np.ndarray, flat: np.ndarray, out: np.ndarray) -> None:
    """trap_norm of every row of x with per-row rise and flat (samples)."""
    nrows, n = x.shape
    if n == 0:
        return
    q = np.empty((4, n + _PAD))
    last = np.empty(4)
    ok = np.zeros(4, np.bool_)
    row = 0
    while row < nrows:
        m = min(4, nrows - row)
        for k in range(m):
            r = row + k
            ok[k] = _check_sym(x[r], rise[r], flat[r])
            if ok[k]:
                xr = np.ascontiguousarray(x[r])  # a view unless samples are strided
                _norm_steps(xr, rise[r], flat[r], q[k])
            else:
                q[k, :n] = 0.0
        if m >= 2:  # 2 or 3 rows left: the last one fills the spare lanes
            k2, k3 = min(2, m - 1), min(3, m - 1)
            _run_four(
                q[0], q[1], q[k2], q[k3],
                out[row], out[row + 1], out[row + k2], out[row + k3], last,
            )  # fmt: skip
        else:
            last[0] = _run_one(q[0], out[row])
        for k in range(m):
            r = row + k
            if not ok[k] or (np.isnan(last[k]) and any_nan(x[r])):
                fill_nan(out[r])
            elif rise[r] == 0:
                # dspeed's recursion then reads its NaN-filled last sample plus 0/0: the whole
                # row is the arithmetic NaN, which is what the chain ended with
                out[r, :] = last[k]
        row += m


@block_processor("(n),(),()->(n)", ["fii->f", "dii->d"])
def trap_norm(
    w_in: np.ndarray, rise: object, flat: object, w_out: np.ndarray | None = None
) -> np.ndarray | None:
    """Symmetric trapezoid divided by rise: running sum of the last rise samples minus the
    rise samples before a gap of flat, over rise (w_in, w_out: ADC; rise, flat: samples).

    The first 2·rise+flat samples are the ramp-up of the same recursion (no padding). NaN row
    for a NaN input; DSPFatal for negative rise/flat or 2·rise+flat > len. w_out is written in
    place (allocated and returned if omitted).
    """
    given = w_out is not None
    dtype = w_out.dtype if given else float_dtype(w_in)
    x = as_rows(w_in, dtype)
    out = out_array(w_out, x.shape, dtype)
    nrows = x.shape[0]
    _norm_block(x, per_row(rise, nrows, np.int32), per_row(flat, nrows, np.int32), out)
    return None if given else out.reshape(np.shape(w_in))


# ----------------------------------------------------------------------------- asym_trap_filter
@numba.njit(**NJIT_OPTIONS)
def _asym_steps(
    x: np.ndarray, rise: int, flat: int, fall: int, u: np.ndarray, v: np.ndarray
) -> None:
    """u[i]: leading-edge increment / rise; v[i]: trailing-edge increment / fall (float64)."""
    n = x.shape[0]
    a = rise
    b = rise + flat
    c = rise + flat + fall
    for i in range(a):
        u[i] = np.float64(x[i]) / rise
    x0, x1, uu = x[a:], x[: n - a], u[a:n]
    for j in range(n - a):
        uu[j] = np.float64(x0[j] - x1[j]) / rise
    for i in range(b):
        v[i] = 0.0
    x2, vv = x[: c - b], v[b:c]
    for j in range(c - b):
        vv[j] = np.float64(x2[j]) / fall
    x2, x3, vv = x[c - b : n - b], x[: n - c], v[c:n]
    for j in range(n - c):
        vv[j] = np.float64(x2[j] - x3[j]) / fall


@numba.njit(**NJIT_OPTIONS)
def _check_asym(x: np.ndarray, rise: int, flat: int, fall: int) -> bool:
    """False for a NaN row (to be NaN-filled); DSPFatal for bad rise/flat/fall (samples)."""
    if rise >= 0 and flat >= 0 and fall >= 0 and rise + flat + fall <= x.shape[0]:
        return True
    if any_nan(x):
        return False
    if rise < 0:
        raise DSPFatal("The number of samples in the rise section must be positive")
    if flat < 0:
        raise DSPFatal("The number of samples in the flat section must be positive")
    if fall < 0:
        raise DSPFatal("The number of samples in the fall section must be positive")
    raise DSPFatal("The trapezoid width is wider than the waveform")


@numba.njit(**NJIT_OPTIONS)
def _asym_block(
    x: np.ndarray, rise: np.ndarray, flat: np.ndarray, fall: np.ndarray, out: np.ndarray
) -> None:
    """asym_trap_filter of every row of x with per-row rise, flat and fall (samples)."""
    nrows, n = x.shape
    if n == 0:
        return
    q = np.empty((8, n + _PAD))
    last = np.empty(4)
    ok = np.zeros(4, np.bool_)
    row = 0
    while row < nrows:
        m = min(4, nrows - row)
        lanes = 4 if m >= 2 else 1  # 2 or 3 rows left: the last one fills the spare lanes
        for k in range(lanes):
            r = row + min(k, m - 1)
            ok[k] = _check_asym(x[r], rise[r], flat[r], fall[r])
            if ok[k]:
                xr = np.ascontiguousarray(x[r])  # a view unless samples are strided
                _asym_steps(xr, rise[r], flat[r], fall[r], q[2 * k], q[2 * k + 1])
            else:
                q[2 * k : 2 * k + 2, :n] = 0.0
        if lanes == 4:
            r2, r3 = row + min(2, m - 1), row + min(3, m - 1)
            _run2_four(q, out[row], out[row + 1], out[r2], out[r3], last)
        else:
            last[0] = _run2_one(q[0], q[1], out[row])
        for k in range(m):
            r = row + k
            if not ok[k] or (np.isnan(last[k]) and any_nan(x[r])):
                fill_nan(out[r])
            elif rise[r] == 0:  # an all-NaN row in dspeed (see _norm_block)
                out[r, :] = last[k]
        row += m


@block_processor("(n),(),(),()->(n)", ["fiii->f", "diii->d"])
def asym_trap_filter(
    w_in: np.ndarray,
    rise: object,
    flat: object,
    fall: object,
    w_out: np.ndarray | None = None,
) -> np.ndarray | None:
    """Asymmetric trapezoid: mean of the last rise samples minus the mean of the fall samples
    that end flat samples earlier (w_in, w_out: ADC; rise, flat, fall: samples).

    NaN row for a NaN input; DSPFatal for a negative length or rise+flat+fall > len. w_out is
    written in place (allocated and returned if omitted).
    """
    given = w_out is not None
    dtype = w_out.dtype if given else float_dtype(w_in)
    x = as_rows(w_in, dtype)
    out = out_array(w_out, x.shape, dtype)
    nrows = x.shape[0]
    _asym_block(
        x,
        per_row(rise, nrows, np.int32),
        per_row(flat, nrows, np.int32),
        per_row(fall, nrows, np.int32),
        out,
    )
    return None if given else out.reshape(np.shape(w_in))


# ----------------------------------------------------------------------------- trap_filter
@numba.njit(**NJIT_OPTIONS)
def _trap_sum(w_in: np.ndarray, rise: int, flat: int, w_out: np.ndarray, stop: int) -> float:
    """trap_filter's recursion in the waveform's type up to sample ``stop``; returns the last
    value."""
    a = rise
    b = rise + flat
    c = 2 * rise + flat
    acc = w_in[0]
    w_out[0] = acc
    for i in range(1, min(a, stop)):
        acc = acc + w_in[i]
        w_out[i] = acc
    for i in range(a, min(b, stop)):
        acc = acc + w_in[i] - w_in[i - a]
        w_out[i] = acc
    for i in range(b, min(c, stop)):
        acc = acc + w_in[i] - w_in[i - a] - w_in[i - b]
        w_out[i] = acc
    for i in range(c, stop):
        acc = acc + w_in[i] - w_in[i - a] - w_in[i - b] + w_in[i - c]
        w_out[i] = acc
    return acc


@numba.njit(**NJIT_OPTIONS)
def _trap_sum_four(
    x0: np.ndarray,
    x1: np.ndarray,
    x2: np.ndarray,
    x3: np.ndarray,
    o0: np.ndarray,
    o1: np.ndarray,
    o2: np.ndarray,
    o3: np.ndarray,
    a: int,
    b: int,
    c: int,
    acc: np.ndarray,
) -> None:
    """The full-width part (i ≥ c) of four rows' recursions at once; acc holds the four
    running values (in the waveform's type) at c − 1 on entry and at the end on exit."""
    a0, a1, a2, a3 = acc[0], acc[1], acc[2], acc[3]
    for i in range(c, x0.shape[0]):
        a0 = a0 + x0[i] - x0[i - a] - x0[i - b] + x0[i - c]
        o0[i] = a0
        a1 = a1 + x1[i] - x1[i - a] - x1[i - b] + x1[i - c]
        o1[i] = a1
        a2 = a2 + x2[i] - x2[i - a] - x2[i - b] + x2[i - c]
        o2[i] = a2
        a3 = a3 + x3[i] - x3[i - a] - x3[i - b] + x3[i - c]
        o3[i] = a3
    acc[0], acc[1], acc[2], acc[3] = a0, a1, a2, a3


@numba.njit(**NJIT_OPTIONS)
def _filter_block(x: np.ndarray, rise: np.ndarray, flat: np.ndarray, out: np.ndarray) -> None:
    """trap_filter of every row of x with per-row rise and flat (samples)."""
    nrows, n = x.shape
    if n == 0:
        return
    acc = np.empty(4, x.dtype)
    ok = np.zeros(4, np.bool_)
    row = 0
    while row < nrows:
        m = min(4, nrows - row)
        for k in range(1, m):  # rows share the interleaved loop only with equal widths
            if rise[row + k] != rise[row] or flat[row + k] != flat[row]:
                m = 1
        for k in range(m):
            r = row + k
            ok[k] = _check_sym(x[r], rise[r], flat[r]) and rise[r] != 0
        if m >= 2 and ok[:m].all():  # 2 or 3 rows: the last one fills the spare lanes
            rr = np.array([row, row + 1, row + min(2, m - 1), row + min(3, m - 1)])
            a, b = rise[row], rise[row] + flat[row]
            for k in range(4):  # the ramp-up, row by row
                acc[k] = _trap_sum(x[rr[k]], a, b - a, out[rr[k]], a + b)
            _trap_sum_four(
                x[rr[0]], x[rr[1]], x[rr[2]], x[rr[3]],
                out[rr[0]], out[rr[1]], out[rr[2]], out[rr[3]], a, b, a + b, acc,
            )  # fmt: skip
        else:
            for k in range(m):
                r = row + k
                acc[k] = _trap_sum(x[r], rise[r], flat[r], out[r], n) if ok[k] else 0
        for k in range(m):
            r = row + k
            # rise = 0 gives an all-NaN row in dspeed (its recursion reads the NaN-filled end)
            if not ok[k] or (np.isnan(acc[k]) and any_nan(x[r])):
                fill_nan(out[r])
        row += m


@block_processor("(n),(),()->(n)", ["fii->f", "dii->d"])
def trap_filter(
    w_in: np.ndarray, rise: object, flat: object, w_out: np.ndarray | None = None
) -> np.ndarray | None:
    """Unnormalised symmetric trapezoid (w_in, w_out: ADC; rise, flat: samples).

    w_out[i] = w_out[i−1] + x[i] − x[i−r] − x[i−r−f] + x[i−2r−f] in the waveform's type, left to
    right, the first 2·rise+flat samples being the ramp-up. NaN row for a NaN input; DSPFatal
    for negative rise/flat or 2·rise+flat > len. w_out is written in place (allocated and
    returned if omitted).
    """
    given = w_out is not None
    dtype = w_out.dtype if given else float_dtype(w_in)
    x = as_rows(w_in, dtype)
    out = out_array(w_out, x.shape, dtype)
    nrows = x.shape[0]
    _filter_block(x, per_row(rise, nrows, np.int32), per_row(flat, nrows, np.int32), out)
    return None if given else out.reshape(np.shape(w_in))


# ----------------------------------------------------------------------------- trap_pickoff
@lazy_gufunc(
    [
        "void(float32[:], int32, int32, float32, float32[:])",
        "void(float64[:], int32, int32, float64, float64[:])",
    ],
    "(n),(),(),()->()",
    **GUFUNC_OPTIONS,
)
def trap_pickoff(
    w_in: np.ndarray, rise: int, flat: int, t_pickoff: float, a_out: np.ndarray
) -> None:
    """trap_norm's value at sample t_pickoff, from 2·rise samples only (dspeed 2.4.3).

    w_in: ADC; rise, flat, t_pickoff: samples (a fractional t interpolates linearly between the
    two neighbouring trapezoid values); a_out: ADC. NaN if t < 2·rise+flat or ceil(t) ≥ len, or
    for a NaN input; DSPFatal for negative rise/flat or 2·rise+flat > len.
    """
    a_out[0] = np.nan
    w = np.ascontiguousarray(w_in)
    if np.isnan(t_pickoff) or any_nan(w):
        return
    if not _check_sym(w, rise, flat):
        return
    if not (w_in.shape[0] > np.ceil(t_pickoff) and np.floor(t_pickoff) >= 2 * rise + flat):
        return
    start = int(np.floor(t_pickoff))
    frac = t_pickoff - start
    lead = 0.0
    for i in range(start, start - rise, -1):
        lead += w_in[i]
    trail = 0.0
    for i in range(start - rise - flat, start - 2 * rise - flat, -1):
        trail += w_in[i]
    if frac > 0:
        lead += frac * (w_in[start + 1] - w_in[start - rise + 1])
        trail += frac * (w_in[start - rise - flat + 1] - w_in[start - 2 * rise - flat + 1])
    a_out[0] = (lead - trail) / rise
