"""fixed_time_pickoff: a waveform's value at a (possibly fractional) sample time."""

from __future__ import annotations

import numba
import numpy as np

from ..errors import DSPFatal
from ._util import GUFUNC_OPTIONS, NJIT_OPTIONS, any_nan
from .gufunc import lazy_gufunc

_INDEX, _NEAREST, _FLOOR, _CEIL = ord("i"), ord("n"), ord("f"), ord("c")
_LINEAR, _HERMITE, _SPLINE = ord("l"), ord("h"), ord("s")


@numba.njit(**NJIT_OPTIONS)
def _hermite(w: np.ndarray, i: int, t0: float, t1: float) -> float:
    """Cubic Hermite value between samples i and i+1 (tangents from central differences,
    one-sided at the ends); t0 = fractional part, t1 = 1 − t0."""
    n = w.shape[0]
    slope0 = w[1] - w[0] if i == 0 else (w[i + 1] - w[i - 1]) / 2
    slope1 = w[n - 1] - w[n - 2] if i == n - 2 else (w[i + 2] - w[i]) / 2
    return (
        (-2 * t1**3 + 3 * t1**2) * w[i]
        + (-2 * t0**3 + 3 * t0**2) * w[i + 1]
        - (t1**3 - t1**2) * slope0
        + (t0**3 - t0**2) * slope1
    )


@numba.njit(**NJIT_OPTIONS)
def _natural_spline(w: np.ndarray, i: int, t0: float, t1: float) -> float:
    """Natural cubic spline through all samples, evaluated between samples i and i+1."""
    n = w.shape[0]
    u = np.zeros(n)
    curv = np.zeros(n)  # second derivatives
    for k in range(1, n - 1):
        p = 0.5 * curv[k - 1] + 2
        curv[k] = -0.5 / p
        u[k] = w[k + 1] - 2 * w[k] + w[k - 1]
        u[k] = (3 * u[k] - 0.5 * u[k - 1]) / p
    for k in range(n - 2, i - 1, -1):
        curv[k] = curv[k] * curv[k + 1] + u[k]
    return t1 * w[i] + t0 * w[i + 1] + ((t1**3 - t1) * curv[i] + (t0**3 - t0) * curv[i + 1]) / 6.0


@lazy_gufunc(
    [
        "void(float32[:], float32, int8, float32[:])",
        "void(float64[:], float64, int8, float64[:])",
    ],
    "(n),(),()->()",
    **GUFUNC_OPTIONS,
)
def fixed_time_pickoff(w_in: np.ndarray, t_in: float, mode_in: int, a_out: np.ndarray) -> None:
    """w_in (ADC) at sample time t_in (samples); a_out: ADC.

    An integral t_in gives that sample whatever the mode. Otherwise mode_in (a char code)
    selects: 'n' nearest, 'f' floor, 'c' ceiling, 'l' linear, 'h' cubic Hermite, 's' natural
    cubic spline; 'i' (integer only) raises DSPFatal, as does an unknown mode. NaN if t_in is
    outside [0, len−1] or an input is NaN.
    """
    a_out[0] = np.nan
    if np.isnan(t_in) or any_nan(np.ascontiguousarray(w_in)):
        return
    if t_in < 0 or t_in > w_in.shape[0] - 1:
        return
    i = int(t_in)
    if i == t_in:
        a_out[0] = w_in[i]
        return
    t0 = t_in - i
    t1 = 1 - t0
    if mode_in == _INDEX:
        raise DSPFatal("fixed_time_pickoff requires integer t_in when using mode 'i'")
    if mode_in == _NEAREST:
        a_out[0] = w_in[i] if t0 < 0.5 else w_in[i + 1]
    elif mode_in == _FLOOR:
        a_out[0] = w_in[i]
    elif mode_in == _CEIL:
        a_out[0] = w_in[i + 1]
    elif mode_in == _LINEAR:
        a_out[0] = t1 * w_in[i] + t0 * w_in[i + 1]
    elif mode_in == _HERMITE:
        a_out[0] = _hermite(w_in, i, t0, t1)
    elif mode_in == _SPLINE:
        a_out[0] = _natural_spline(w_in, i, t0, t1)
    else:
        raise DSPFatal("Unrecognized interpolation mode")
