"""Up-sampling by sample repetition (upsampler) or interpolation (interpolating_upsampler)."""

from __future__ import annotations

from math import ceil, floor

import numba
import numpy as np

from ..errors import DSPFatal
from ._util import GUFUNC_OPTIONS, NJIT_OPTIONS, any_nan
from .gufunc import lazy_gufunc


@lazy_gufunc(
    ["void(float32[:], float32, float32[:])", "void(float64[:], float64, float64[:])"],
    "(n),(),(m)",
    **GUFUNC_OPTIONS,
)
def upsampler(w_in: np.ndarray, upsample: float, w_out: np.ndarray) -> None:
    """Repeat each input sample int(upsample) times, centred on its up-sampled position.

    w_in: waveform (samples); upsample: up-sampling factor (> 0); w_out: up-sampled waveform
    (its own length). Input sample i fills output samples from int(i*upsample -
    floor(upsample/2)) on; output samples no input reaches stay NaN, as does the whole row
    when w_in has a NaN. Smooth afterwards (e.g. moving_window_multi).
    """
    w_out[:] = np.nan
    if any_nan(w_in):
        return
    if not upsample > 0:
        raise DSPFatal("Upsample must be greater than 0")
    factor = np.float64(upsample)
    reps = int(factor)
    shift = np.floor(factor / 2)
    m = len(w_out)
    for i in range(len(w_in)):
        start = int(i * factor - shift)
        lo = max(start, 0)
        hi = min(start + reps, m)
        value = w_in[i]
        for j in range(lo, hi):
            w_out[j] = value


@numba.njit(**NJIT_OPTIONS)
def _hermite(t0: float, a0: float, a1: float, m0: float, m1: float) -> float:
    """Cubic Hermite segment at fraction t0 between values a0, a1 with slopes m0, m1."""
    t1 = 1 - t0
    return (
        (-2 * t1**3 + 3 * t1**2) * a0
        + (-2 * t0**3 + 3 * t0**2) * a1
        - (t1**3 - t1**2) * m0
        + (t0**3 - t0**2) * m1
    )


@numba.njit(**NJIT_OPTIONS)
def _hermite_upsample(w_in: np.ndarray, factor: float, w_out: np.ndarray) -> None:
    """Mode 'h': Hermite segments with central-difference slopes (one-sided at the ends);
    output past the last segment extrapolates it."""
    n = len(w_in)
    m = len(w_out)
    done = 0
    seg = 0
    slope0 = 0.0
    slope1 = 0.0
    for seg in range(n - 1):
        upto = min(ceil(factor * (seg + 1)), m)
        slope0 = w_in[1] - w_in[0] if seg == 0 else (w_in[seg + 1] - w_in[seg - 1]) / 2
        slope1 = w_in[n - 1] - w_in[n - 2] if seg == n - 2 else (w_in[seg + 2] - w_in[seg]) / 2
        for j in range(done, upto):
            w_out[j] = _hermite(j / factor - seg, w_in[seg], w_in[seg + 1], slope0, slope1)
        done = upto
    if n < 2:
        return  # dspeed reads undefined values here
    for j in range(done, m):
        w_out[j] = _hermite(j / factor - seg, w_in[seg], w_in[seg + 1], slope0, slope1)


@numba.njit(**NJIT_OPTIONS)
def _spline_upsample(w_in: np.ndarray, factor: float, w_out: np.ndarray) -> None:
    """Mode 's': natural cubic spline (second derivatives by the tridiagonal sweep), filled
    from the last segment backward; segment k covers outputs ceil(u·k) .. ceil(u·(k+1))."""
    n = len(w_in)
    m = len(w_out)
    rhs = np.zeros(n)
    curv = np.zeros(n)
    for i in range(1, n - 1):
        pivot = 0.5 * curv[i - 1] + 2
        curv[i] = -0.5 / pivot
        rhs[i] = w_in[i + 1] - 2 * w_in[i] + w_in[i - 1]
        rhs[i] = (3 * rhs[i] - 0.5 * rhs[i - 1]) / pivot
    done = m
    for k in range(n - 2, -1, -1):
        curv[k] = curv[k] * curv[k + 1] + rhs[k]
        upto = ceil(factor * k)
        for j in range(min(done, m - 1), upto - 1, -1):  # dspeed also writes w_out[m]
            t0 = j / factor - k
            t1 = 1 - t0
            w_out[j] = (
                t1 * w_in[k]
                + t0 * w_in[k + 1]
                + ((t1**3 - t1) * curv[k] + (t0**3 - t0) * curv[k + 1]) / 6.0
            )
        done = upto


@lazy_gufunc(
    ["void(float32[:], int8, float32[:])", "void(float64[:], int8, float64[:])"],
    "(n),(),(m)",
    **GUFUNC_OPTIONS,
)
def interpolating_upsampler(w_in: np.ndarray, mode_in: int, w_out: np.ndarray) -> None:
    """Resample w_in onto len(w_out) samples (factor u = len(w_out)/len(w_in)); output sample
    j lies at input time j/u (samples). mode_in (character code):

    'i' input samples at j = u·i, zeros between (u must be an integer); 'n' nearest input
    sample; 'f' previous sample; 'c' next sample; 'l' linear; 'h' cubic Hermite (central
    differences); 's' natural cubic spline. NaN output if w_in has a NaN; DSPFatal for an
    unknown mode or a non-integer factor in mode 'i'.
    """
    w_out[:] = np.nan
    if any_nan(np.ascontiguousarray(w_in)):
        return
    n = len(w_in)
    m = len(w_out)
    factor = m / n
    if mode_in == ord("i"):
        if factor != int(factor):
            raise DSPFatal(
                "interpolating_upsampler requires len(w_out) to be an integer multiple of "
                "len(w_in) for mode 'i'"
            )
        step = int(factor)
        for i in range(n):
            j = step * i
            w_out[j] = w_in[i]
            w_out[j + 1 : j + step] = 0
    elif mode_in == ord("n"):
        done = 0
        for i in range(n):
            upto = ceil(factor * (i + 0.5))
            w_out[done:upto] = w_in[i]
            done = upto
        w_out[done:] = w_in[n - 1]
    elif mode_in == ord("f"):
        done = 0
        for i in range(n):
            upto = ceil(factor * (i + 1))
            w_out[done:upto] = w_in[i]
            done = upto
    elif mode_in == ord("c"):
        done = 0
        for i in range(n):
            upto = floor(factor * i) + 1
            w_out[done:upto] = w_in[i]
            done = upto
        w_out[done:] = w_in[n - 1]
    elif mode_in == ord("l"):
        done = 0
        for i in range(n):
            upto = min(ceil(factor * (i + 1)), m)
            here = w_in[i]
            diff = (w_in[i + 1] if i < n - 1 else w_in[n - 1]) - here
            for j in range(done, upto):
                w_out[j] = here + (j / factor - i) * diff
            done = upto
    elif mode_in == ord("h"):
        _hermite_upsample(w_in, factor, w_out)
    elif mode_in == ord("s"):
        _spline_upsample(w_in, factor, w_out)
    else:
        raise DSPFatal("Unrecognized interpolation mode")
