"""Pole-zero cancellation: pole_zero and double_pole_zero (block processors).

Both recursions run in float64 and store in the waveform's type, like dspeed. Both are block
processors that interleave four rows so that the float64 add chains of different rows overlap.
"""

from __future__ import annotations

import numba
import numpy as np

from ..errors import DSPFatal
from . import block_processor
from ._util import NJIT_OPTIONS, any_nan, as_rows, fill_nan, float_dtype, out_array, per_row

# feed-forward buffers get rows this many float64 longer than the waveform (L1 set spreading)
_PAD = 40


# ----------------------------------------------------------------------------- pole_zero
@numba.njit(**NJIT_OPTIONS)
def _pz_one(x: np.ndarray, out: np.ndarray, c: float) -> float:
    """One row: acc = acc + x[i] − x[i−1]·c in float64; returns the last acc."""
    acc = np.float64(x[0])
    out[0] = x[0]
    prev = np.float64(x[0])
    for i in range(1, x.shape[0]):
        v = np.float64(x[i])
        acc = acc + v - prev * c
        out[i] = acc
        prev = v
    return acc


@numba.njit(**NJIT_OPTIONS)
def _pz_four(
    x0: np.ndarray,
    x1: np.ndarray,
    x2: np.ndarray,
    x3: np.ndarray,
    o0: np.ndarray,
    o1: np.ndarray,
    o2: np.ndarray,
    o3: np.ndarray,
    c: np.ndarray,
    last: np.ndarray,
) -> None:
    """_pz_one on four rows at once; c: their decay factors, last: their last accs.

    Four lanes, not more: with rows 32 KiB apart every stream maps to the same L1 set.
    """
    c0, c1, c2, c3 = c[0], c[1], c[2], c[3]
    p0 = a0 = np.float64(x0[0])
    p1 = a1 = np.float64(x1[0])
    p2 = a2 = np.float64(x2[0])
    p3 = a3 = np.float64(x3[0])
    o0[0], o1[0], o2[0], o3[0] = x0[0], x1[0], x2[0], x3[0]
    for i in range(1, x0.shape[0]):
        v = np.float64(x0[i])
        a0 = a0 + v - p0 * c0
        o0[i] = a0
        p0 = v
        v = np.float64(x1[i])
        a1 = a1 + v - p1 * c1
        o1[i] = a1
        p1 = v
        v = np.float64(x2[i])
        a2 = a2 + v - p2 * c2
        o2[i] = a2
        p2 = v
        v = np.float64(x3[i])
        a3 = a3 + v - p3 * c3
        o3[i] = a3
        p3 = v
    last[0], last[1], last[2], last[3] = a0, a1, a2, a3


@numba.njit(**NJIT_OPTIONS)
def _pz_block(x: np.ndarray, tau: np.ndarray, out: np.ndarray) -> None:
    """pole_zero of every row of x with the per-row time constants tau (samples)."""
    nrows, n = x.shape
    if n == 0:
        return
    c = np.empty(4)
    last = np.empty(4)
    row = 0
    while row < nrows:
        m = min(4, nrows - row)
        if m >= 2:  # 2 or 3 rows left: the last one fills the spare lanes
            r0, r1, r2, r3 = row, row + 1, row + min(2, m - 1), row + min(3, m - 1)
            for k, r in enumerate((r0, r1, r2, r3)):
                c[k] = np.exp(-1 / tau[r])
            _pz_four(x[r0], x[r1], x[r2], x[r3], out[r0], out[r1], out[r2], out[r3], c, last)
        else:
            last[0] = _pz_one(x[row], out[row], np.exp(-1 / tau[row]))
        for k in range(m):
            r = row + k
            if np.isnan(tau[r]):
                fill_nan(out[r])
            elif np.isnan(last[k]):
                # a NaN anywhere in the output leaves the last acc NaN
                if any_nan(x[r]):
                    fill_nan(out[r])
                else:
                    raise DSPFatal("Pole-zero filter produced nans in output.")
        row += m


@block_processor("(n),()->(n)", ["ff->f", "dd->d"])
def pole_zero(
    w_in: np.ndarray, t_tau: object, w_out: np.ndarray | None = None
) -> np.ndarray | None:
    """Single pole-zero: y[i] = y[i−1] + x[i] − x[i−1]·exp(−1/τ), y[0] = x[0].

    w_in: ADC, rows × samples; t_tau: samples (scalar or one per row); w_out: ADC. Float64
    recursion stored in the waveform's type. NaN row if w_in or τ is NaN; DSPFatal if the
    output gets a NaN otherwise. w_out is written in place (allocated and returned if omitted).
    """
    given = w_out is not None
    dtype = w_out.dtype if given else float_dtype(w_in)
    x = as_rows(w_in, dtype)
    out = out_array(w_out, x.shape, dtype)
    _pz_block(x, per_row(t_tau, x.shape[0], dtype), out)
    if given:
        return None
    return out.reshape(np.shape(w_in))


# ----------------------------------------------------------------------------- double_pole_zero
@numba.njit(**NJIT_OPTIONS)
def _dpz_coefficients(tau1: float, tau2: float, frac: float, coef: np.ndarray) -> None:
    """coef = (n1, n2, d1, d2) of y[i] = x[i] + n1·x[i−1] + n2·x[i−2] − d1·y[i−1] − d2·y[i−2]."""
    a = np.exp(-1 / tau1)
    b = np.exp(-1 / tau2)
    coef[0] = -1 * (a + b)
    coef[1] = a * b
    coef[2] = frac * b - frac * a - b - 1
    coef[3] = -1 * (frac * b - frac * a - b)


@numba.njit(**NJIT_OPTIONS)
def _dpz_feed(x: np.ndarray, n1: float, n2: float, f: np.ndarray) -> None:
    """The feed-forward part f[i] = x[i] + n1·x[i−1] + n2·x[i−2] (float64), i ≥ 2."""
    n = x.shape[0]
    x0, x1, x2, ff = x[2:], x[1 : n - 1], x[: n - 2], f[2:n]
    for j in range(n - 2):
        ff[j] = x0[j] + n1 * x1[j] + n2 * x2[j]


@numba.njit(**NJIT_OPTIONS)
def _dpz_one(x: np.ndarray, f: np.ndarray, out: np.ndarray, d1: float, d2: float) -> float:
    """One row of y[i] = f[i] − d1·y[i−1] − d2·y[i−2] (y[0], y[1] = x[0], x[1]); last y."""
    y0 = np.float64(x[0])
    y1 = np.float64(x[1])
    out[0] = x[0]
    out[1] = x[1]
    for i in range(2, x.shape[0]):
        y2 = f[i] - d1 * y1 - d2 * y0
        out[i] = y2
        y0 = y1
        y1 = y2
    return y1


@numba.njit(**NJIT_OPTIONS)
def _dpz_four(
    x0: np.ndarray,
    x1: np.ndarray,
    x2: np.ndarray,
    x3: np.ndarray,
    f: np.ndarray,
    o0: np.ndarray,
    o1: np.ndarray,
    o2: np.ndarray,
    o3: np.ndarray,
    coef: np.ndarray,
    last: np.ndarray,
) -> None:
    """_dpz_one on four rows at once; f rows 0–3 hold their feed-forward parts."""
    f0, f1, f2, f3 = f[0], f[1], f[2], f[3]
    d10, d11, d12, d13 = coef[0, 2], coef[1, 2], coef[2, 2], coef[3, 2]
    d20, d21, d22, d23 = coef[0, 3], coef[1, 3], coef[2, 3], coef[3, 3]
    a0, b0 = np.float64(x0[0]), np.float64(x0[1])
    a1, b1 = np.float64(x1[0]), np.float64(x1[1])
    a2, b2 = np.float64(x2[0]), np.float64(x2[1])
    a3, b3 = np.float64(x3[0]), np.float64(x3[1])
    o0[0], o0[1], o1[0], o1[1] = x0[0], x0[1], x1[0], x1[1]
    o2[0], o2[1], o3[0], o3[1] = x2[0], x2[1], x3[0], x3[1]
    for i in range(2, o0.shape[0]):
        y = f0[i] - d10 * b0 - d20 * a0
        o0[i] = y
        a0, b0 = b0, y
        y = f1[i] - d11 * b1 - d21 * a1
        o1[i] = y
        a1, b1 = b1, y
        y = f2[i] - d12 * b2 - d22 * a2
        o2[i] = y
        a2, b2 = b2, y
        y = f3[i] - d13 * b3 - d23 * a3
        o3[i] = y
        a3, b3 = b3, y
    last[0], last[1], last[2], last[3] = b0, b1, b2, b3


@numba.njit(**NJIT_OPTIONS)
def _dpz_block(
    x: np.ndarray, tau1: np.ndarray, tau2: np.ndarray, frac: np.ndarray, out: np.ndarray
) -> None:
    """double_pole_zero of every row of x with per-row τ1, τ2 (samples) and frac."""
    nrows, n = x.shape
    bad = np.zeros(nrows, np.bool_)
    for r in range(nrows):
        if np.isnan(tau1[r]) or np.isnan(tau2[r]) or np.isnan(frac[r]):
            bad[r] = True
        elif n <= 3:
            if not any_nan(x[r]):
                raise DSPFatal(
                    "The length of the waveform must be larger than 3 for the filter to work safely"
                )
            bad[r] = True
    if n <= 3:
        for r in range(nrows):
            fill_nan(out[r])
        return
    f = np.empty((4, n + _PAD))
    coef = np.empty((4, 4))
    last = np.empty(4)
    row = 0
    while row < nrows:
        m = min(4, nrows - row)
        lanes = 4 if m >= 2 else 1  # 2 or 3 rows left: the last one fills the spare lanes
        for k in range(lanes):
            r = row + min(k, m - 1)
            _dpz_coefficients(tau1[r], tau2[r], frac[r], coef[k])
            _dpz_feed(np.ascontiguousarray(x[r]), coef[k, 0], coef[k, 1], f[k])
        if lanes == 4:
            r0, r1, r2, r3 = row, row + 1, row + min(2, m - 1), row + min(3, m - 1)
            _dpz_four(x[r0], x[r1], x[r2], x[r3], f, out[r0], out[r1], out[r2], out[r3], coef, last)
        else:
            last[0] = _dpz_one(x[row], f[0], out[row], coef[0, 2], coef[0, 3])
        for k in range(m):
            r = row + k
            if bad[r] or (np.isnan(last[k]) and any_nan(x[r])):
                fill_nan(out[r])
        row += m


@block_processor("(n),(),(),()->(n)", ["ffff->f", "dddd->d"])
def double_pole_zero(
    w_in: np.ndarray,
    t_tau1: object,
    t_tau2: object,
    frac: object,
    w_out: np.ndarray | None = None,
) -> np.ndarray | None:
    """Two-pole cancellation of (1−frac)·e^(−t/τ1) + frac·e^(−t/τ2) into a step.

    w_in, w_out: ADC, rows × samples; t_tau1, t_tau2: samples; frac: dimensionless (scalars
    or one per row). Float64 IIR y[i] = x[i] + n1·x[i−1] + n2·x[i−2] − d1·y[i−1] − d2·y[i−2],
    first two samples copied, stored in the waveform's type. NaN row for a NaN input; DSPFatal
    if the waveform has 3 samples or fewer. w_out is written in place (allocated and returned
    if omitted).
    """
    given = w_out is not None
    dtype = w_out.dtype if given else float_dtype(w_in)
    x = as_rows(w_in, dtype)
    out = out_array(w_out, x.shape, dtype)
    nrows = x.shape[0]
    _dpz_block(
        x,
        per_row(t_tau1, nrows, dtype),
        per_row(t_tau2, nrows, dtype),
        per_row(frac, nrows, dtype),
        out,
    )
    return None if given else out.reshape(np.shape(w_in))


# ----------------------------------------------------------------------------- exp/oscillator
@numba.njit(**NJIT_OPTIONS)
def _rc_decay(tau: float) -> float:
    """exp(−1/τ) for τ in samples (float64, libm's exp like dspeed's rc_exp), 0 for τ = 0."""
    return np.exp(-1 / tau) if tau != 0 else 0.0


def _run_recursive(
    w_in: np.ndarray,
    w_out: np.ndarray | None,
    a: np.ndarray,
    b: np.ndarray,
    init_out_is_first: bool,
) -> np.ndarray | None:
    """recursive_filter per row with coefficient rows a, b; init_in = x[0], init_out = x[0] or 0."""
    from .iir_filters import recursive_filter

    given = w_out is not None
    dtype = w_out.dtype if given else float_dtype(w_in)
    x = as_rows(w_in, dtype)
    out = out_array(w_out, x.shape, dtype)
    first = x[:, 0] if x.shape[1] else np.zeros(x.shape[0], dtype)
    init_out = first if init_out_is_first else np.zeros_like(first)
    recursive_filter(x, a, b, first, init_out, out)
    return None if given else out.reshape(np.shape(w_in))


def _params(values: list[object], nrows: int, dtype: np.dtype | type) -> list[np.ndarray]:
    """Scalar arguments as float64 per-row arrays, rounded to ``dtype`` first (the loop's type)."""
    return [per_row(v, nrows, dtype).astype(np.float64) for v in values]


def _nrows(w_in: np.ndarray) -> int:
    shape = np.shape(w_in)
    return 1 if len(shape) == 1 else shape[0]


@block_processor("(n),()->(n)", ["ff->f", "dd->d"])
def convolve_exp(
    w_in: np.ndarray, tau: object, w_out: np.ndarray | None = None
) -> np.ndarray | None:
    """Convolution with the exponential kernel exp(−i/τ) (peak 1; divide by τ for unit area).

    w_in, w_out: waveform, rows × samples; tau: samples (scalar or one per row). The recursion
    y[i] = x[i] + exp(−1/τ)·y[i−1] runs in float64 with x[−1] = y[−1] = x[0]; NaN row for a NaN
    input or τ; DSPFatal if the waveform has fewer than 3 samples.
    """
    dtype = w_out.dtype if w_out is not None else float_dtype(w_in)
    (tau_rows,) = _params([tau], _nrows(w_in), dtype)
    b = np.array([[1.0, -_rc_decay(t)] for t in tau_rows]).reshape(-1, 2)
    return _run_recursive(w_in, w_out, np.ones((len(tau_rows), 1)), b, True)


@block_processor("(n),(),(),()->(n)", ["fddd->f", "dddd->d"])
def convolve_damped_oscillator(
    w_in: np.ndarray,
    tau: object,
    omega: object,
    phase: object,
    w_out: np.ndarray | None = None,
) -> np.ndarray | None:
    """Convolution with the damped-oscillator kernel exp(−i/τ)·cos(ω·i + φ).

    w_in, w_out: waveform, rows × samples; tau: samples; omega: radians per sample; phase:
    radians (scalars or one per row). Float64 recursion with x[−1] = y[−1] = x[0]; NaN row for
    a NaN input; DSPFatal if the waveform has fewer than 4 samples.
    """
    taus, omegas, phases = _params([tau, omega, phase], _nrows(w_in), np.float64)
    a, b = [], []
    for t, w, p in zip(taus, omegas, phases, strict=True):
        rc = _rc_decay(t)
        a.append([np.cos(p), -rc * np.cos(w - p)])
        b.append([1.0, -2 * rc * np.cos(w), rc * rc])
    return _run_recursive(
        w_in, w_out, np.array(a, np.float64).reshape(-1, 2), np.array(b).reshape(-1, 3), True
    )


@block_processor("(n),(),(),(),()->(n)", ["fdddd->f", "ddddd->d"])
def inject_damped_oscillation(
    w_in: np.ndarray,
    tau: object,
    omega: object,
    phase: object,
    frac: object,
    w_out: np.ndarray | None = None,
) -> np.ndarray | None:
    """Adds a damped-oscillation pole to the response: a step becomes
    1 + frac·exp(−i/τ)·cos(ω·i + φ), i.e. H = 1 + frac·(1 − z⁻¹)·K with K the oscillator.

    w_in, w_out: waveform, rows × samples; tau: samples; omega: radians per sample; phase:
    radians; frac: dimensionless in [0, 1] (scalars or one per row), DSPFatal otherwise (NaN
    included). Float64 recursion with x[−1] = x[0], y[−1] = 0; NaN row for a NaN input.
    """
    taus, omegas, phases, fracs = _params([tau, omega, phase, frac], _nrows(w_in), np.float64)
    a, b = [], []
    for t, w, p, f in zip(taus, omegas, phases, fracs, strict=True):
        if not 0 <= f <= 1:
            raise DSPFatal("frac must be between zero and one.")
        cw, cp, cwp, rc = np.cos(w), np.cos(p), np.cos(w - p), _rc_decay(t)
        a.append([1 + f * cp, -(2 * rc * cw + f * cp + f * rc * cwp), rc * (rc + f * cwp)])
        b.append([1.0, -2 * rc * cw, rc * rc])
    return _run_recursive(
        w_in, w_out, np.array(a, np.float64).reshape(-1, 3), np.array(b).reshape(-1, 3), False
    )
