"""Pole-zero time constants that make a waveform's tail flat: optimize_1pz, optimize_2pz.

The figure of merit, as dspeed's, is |Σx·Σy − N·Σxy| over samples x in [t_beg, t_end) of the
baseline-subtracted, pole-zero-corrected waveform y (N·Σ(x−x̄)² times its fitted slope).
dspeed minimises it with iminuit; iminuit is not a dependency here:

* optimize_1pz finds the zero of the signed slope nearest p0 (bracketed by widening steps
  around p0, then ``scipy.optimize.brentq`` to machine precision); Minuit stops near the same
  zero, within its own tolerance (see benchmarks/crosscheck_dsp_d.py for the difference).
* optimize_2pz has a surface of zeros (three parameters, one condition), so the point found
  depends on the minimiser's path; ours (bounded Nelder-Mead from the start values, then
  the tau2 zero as in 1pz) is a zero near the start values, not dspeed's point.

Each row is fitted in a Python loop (numba for the filter and sums).
"""

from __future__ import annotations

import numba
import numpy as np

from ..errors import DSPFatal
from . import block_processor
from ._util import NJIT_OPTIONS


@numba.njit(**NJIT_OPTIONS)
def _slope_stat(y: np.ndarray, beg: int, end: int) -> float:
    """Σx·Σy − N·Σxy over x in [beg, end) (float64)."""
    sum_x = 0.0
    sum_y = 0.0
    sum_xy = 0.0
    for i in range(beg, end):
        sum_x += i
        sum_y += y[i]
        sum_xy += i * y[i]
    return sum_x * sum_y - (end - beg) * sum_xy


@numba.njit(**NJIT_OPTIONS)
def _one_pole_stat(y: np.ndarray, tau: float, beg: int, end: int, buf: np.ndarray) -> float:
    """The slope statistic of y after dspeed's pole_zero with time constant tau (samples)."""
    decay = np.exp(-1 / tau)
    if end > 0:
        buf[0] = y[0]
    acc = y[0]
    for i in range(1, end):
        acc = acc + y[i] - y[i - 1] * decay
        buf[i] = acc
    return _slope_stat(buf, beg, end)


@numba.njit(**NJIT_OPTIONS)
def _two_pole_stat(
    y: np.ndarray, tau1: float, tau2: float, frac: float, beg: int, end: int, buf: np.ndarray
) -> float:
    """The slope statistic of y after dspeed's double_pole_zero(tau1, tau2, frac)."""
    a = np.exp(-1 / tau1)
    b = np.exp(-1 / tau2)
    den1 = frac * b - frac * a - b - 1
    den2 = -1 * (frac * b - frac * a - b)
    num1 = -1 * (a + b)
    num2 = a * b
    buf[:2] = y[:2]
    prev2 = y[0]
    prev1 = y[1]
    for i in range(2, end):
        cur = y[i] + num1 * y[i - 1] + num2 * y[i - 2] - den1 * prev1 - den2 * prev2
        buf[i] = cur
        prev2 = prev1
        prev1 = cur
    return _slope_stat(buf, beg, end)


def _check_window(n: int, t_beg: float, t_end: float) -> tuple[int, int]:
    if np.floor(t_beg) != t_beg or np.floor(t_end) != t_end:
        raise DSPFatal("The waveform index is not an integer")
    beg, end = int(t_beg), int(t_end)
    if beg < 0 or beg > n or end < 0 or end > n:
        raise DSPFatal("The waveform index is out of range")
    return beg, end


def _zero_near(func, start: float, lower: float = -np.inf, upper: float = np.inf) -> float:
    """The zero of func nearest start (steps growing ×1.5 from 1e-3·|start| on both sides,
    then Brent's method); without a sign change, the searched point with the smallest |func|."""
    from scipy.optimize import brentq

    f0 = func(start)
    if f0 == 0 or not np.isfinite(f0):
        return start
    scale = abs(start) if start != 0 else 1.0
    best, best_value = start, abs(f0)
    step = 1e-3 * scale
    for _ in range(80):
        for side in (start + step, start - step):
            if not lower <= side <= upper:
                continue
            value = func(side)
            if not np.isfinite(value):
                continue
            if np.sign(value) != np.sign(f0):
                lo, hi = sorted((start, side))
                return float(brentq(func, lo, hi, xtol=1e-12 * scale, rtol=4 * np.finfo(float).eps))
            if abs(value) < best_value:
                best, best_value = side, abs(value)
        step *= 1.5
    return best


def _per_row(value: object, nrows: int) -> np.ndarray:
    return np.broadcast_to(np.asarray(value, dtype=np.float64).reshape(-1), (nrows,))


@block_processor("(n),(),(),(),()->()", ["fffff->f", "ddddd->d"])
def optimize_1pz(
    w_in: np.ndarray,
    a_baseline_in: float,
    t_beg_in: float,
    t_end_in: float,
    p0_in: float,
    val0_out: np.ndarray | None = None,
) -> np.ndarray | None:
    """Pole-zero time constant (samples) flattening w_in − a_baseline_in on samples
    [t_beg_in, t_end_in), starting from p0_in (samples). NaN if an input is NaN; DSPFatal
    for non-integer or out-of-range window ends."""
    waves = np.asarray(w_in)
    rows = waves.reshape(-1, waves.shape[-1])
    nrows, n = rows.shape
    out = np.empty(nrows, waves.dtype if val0_out is None else val0_out.dtype)
    args = [_per_row(v, nrows) for v in (a_baseline_in, t_beg_in, t_end_in, p0_in)]
    buf = np.empty(n)
    for r in range(nrows):
        base, t_beg, t_end, p0 = (a[r] for a in args)
        out[r] = np.nan
        if np.isnan(rows[r]).any() or np.isnan([base, t_beg, t_end, p0]).any():
            continue
        beg, end = _check_window(n, t_beg, t_end)
        y = rows[r].astype(np.float64) - base
        out[r] = _zero_near(
            lambda tau, y=y, beg=beg, end=end: _one_pole_stat(y, tau, beg, end, buf), p0, 0.0
        )
    if val0_out is None:
        return out.reshape(waves.shape[:-1])
    val0_out[...] = out.reshape(val0_out.shape)
    return None


@block_processor("(n),(),(),(),(),(),(),(),()->(),(),()", ["fffffffff->fff", "ddddddddd->ddd"])
def optimize_2pz(
    w_in: np.ndarray,
    a_baseline_in: float,
    t_beg_in: float,
    t_end_in: float,
    tau_upper_bound: float,
    frac_upper_bound: float,
    p0_in: float,
    p1_in: float,
    p2_in: float,
    val0_out: np.ndarray | None = None,
    val1_out: np.ndarray | None = None,
    val2_out: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Double pole-zero parameters (tau1, tau2 in samples; frac) flattening w_in −
    a_baseline_in on [t_beg_in, t_end_in), starting from (p0_in, p1_in, p2_in), taus within
    [0, tau_upper_bound] and frac within [0, frac_upper_bound]. NaN if an input is NaN;
    DSPFatal for non-integer or out-of-range window ends."""
    from scipy.optimize import minimize

    waves = np.asarray(w_in)
    rows = waves.reshape(-1, waves.shape[-1])
    nrows, n = rows.shape
    dtype = waves.dtype if val0_out is None else val0_out.dtype
    outs = np.full((3, nrows), np.nan, dtype)
    names = (a_baseline_in, t_beg_in, t_end_in, tau_upper_bound, frac_upper_bound)
    args = [_per_row(v, nrows) for v in (*names, p0_in, p1_in, p2_in)]
    buf = np.empty(n)
    for r in range(nrows):
        base, t_beg, t_end, tau_ub, frac_ub, p0, p1, p2 = (a[r] for a in args)
        if np.isnan(rows[r]).any() or np.isnan([base, t_beg, t_end, p0, p1, p2]).any():
            continue
        beg, end = _check_window(n, t_beg, t_end)
        y = rows[r].astype(np.float64) - base

        def cost(p: np.ndarray, y: np.ndarray = y, beg: int = beg, end: int = end) -> float:
            return abs(_two_pole_stat(y, p[0], p[1], p[2], beg, end, buf))

        bounds = [(0, tau_ub), (0, tau_ub), (0, frac_ub)]
        start = np.clip([p0, p1, p2], [b[0] for b in bounds], [b[1] for b in bounds])
        best = minimize(cost, start, method="Nelder-Mead", bounds=bounds).x
        tau2 = _zero_near(
            lambda t, y=y, b=best, i=beg, j=end: _two_pole_stat(y, b[0], t, b[2], i, j, buf),
            best[1],
            0.0,
            tau_ub,
        )
        outs[:, r] = best[0], tau2, best[2]
    if val0_out is None:
        shape = waves.shape[:-1]
        return outs[0].reshape(shape), outs[1].reshape(shape), outs[2].reshape(shape)
    for given, values in zip((val0_out, val1_out, val2_out), outs):
        given[...] = values.reshape(given.shape)
    return None
