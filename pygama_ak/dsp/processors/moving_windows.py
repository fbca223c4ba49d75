"""Moving-average windows and the averaged derivative ("current") of a waveform.

The running sums are sequential recursions in the working precision, evaluated in exactly
dspeed's order so that float32 results are bit-identical.
"""

from __future__ import annotations

import numba
import numpy as np

from ..errors import DSPFatal
from ._util import GUFUNC_OPTIONS, any_nan
from .gufunc import lazy_gufunc

_NJIT: dict = {"cache": True, "error_model": "numpy"}


@numba.njit(**_NJIT)
def _left_pass(w_in: np.ndarray, length: float, w_out: np.ndarray) -> None:
    """One moving average of `length` samples running left to right (w_in[0] before start)."""
    n = len(w_in)
    win = int(length)
    if win < 1:  # dspeed's recursion divides by zero or reads its own NaN: all NaN
        w_out[:] = np.nan
        return
    acc = w_in[0]
    w_out[0] = acc
    first = w_in[0]
    for i in range(1, min(win, n)):
        acc = acc + (w_in[i] - first) / length
        w_out[i] = acc
    for i in range(win, n):
        acc = acc + (w_in[i] - w_in[i - win]) / length
        w_out[i] = acc


@numba.njit(**_NJIT)
def _right_pass(w_in: np.ndarray, length: float, w_out: np.ndarray) -> None:
    """One moving average of `length` samples running right to left (w_in[-1] after end)."""
    n = len(w_in)
    win = int(length)
    if win < 1:
        w_out[:] = np.nan
        return
    last = w_in[n - 1]
    acc = last
    w_out[n - 1] = acc
    for i in range(1, min(win, n)):
        acc = acc + (w_in[n - 1 - i] - last) / length
        w_out[n - 1 - i] = acc
    for i in range(win, n):
        acc = acc + (w_in[n - 1 - i] - w_in[n - 1 - i + win]) / length
        w_out[n - 1 - i] = acc


@lazy_gufunc(
    ["void(float32[:], float32, float32[:])", "void(float64[:], float64, float64[:])"],
    "(n),()->(n)",
    **GUFUNC_OPTIONS,
)
def moving_window_left(w_in: np.ndarray, length: float, w_out: np.ndarray) -> None:
    """Moving average over `length` samples, starting at the left (baseline taken as w_in[0]).

    w_in: waveform (samples); length: window (samples, 0 <= length < len(w_in));
    w_out: averaged waveform. NaN in w_in gives an all-NaN row; length < 1 gives NaN too.
    """
    if any_nan(w_in):
        w_out[:] = np.nan
        return
    if not (length >= 0 and length < len(w_in)):
        raise DSPFatal("length is out of range, must be between 0 and the length of the waveform")
    _left_pass(w_in, length, w_out)


@lazy_gufunc(
    ["void(float32[:], float32, float32[:])", "void(float64[:], float64, float64[:])"],
    "(n),()->(n)",
    **GUFUNC_OPTIONS,
)
def moving_window_right(w_in: np.ndarray, length: float, w_out: np.ndarray) -> None:
    """Moving average over `length` samples, starting at the right (tail taken as w_in[-1]).

    w_in: waveform (samples); length: window (samples, 0 <= length < len(w_in));
    w_out: averaged waveform. NaN in w_in gives an all-NaN row; length < 1 gives NaN too.
    """
    if any_nan(w_in):
        w_out[:] = np.nan
        return
    if not (length >= 0 and length < len(w_in)):
        raise DSPFatal("length is out of range, must be between 0 and the length of the waveform")
    _right_pass(w_in, length, w_out)


@lazy_gufunc(
    [
        "void(float32[:], float32, float32, int32, float32[:])",
        "void(float64[:], float64, float64, int32, float64[:])",
    ],
    "(n),(),(),()->(n)",
    **GUFUNC_OPTIONS,
)
def moving_window_multi(
    w_in: np.ndarray, length: float, num_mw: float, mw_type: int, w_out: np.ndarray
) -> None:
    """num_mw moving averages of `length` samples applied one after the other.

    w_in: waveform (samples); length: window (integer samples, 0 <= length < len(w_in));
    num_mw: number of passes (integer >= 0; 0 leaves the output NaN); mw_type: 0 alternates
    left, right, left, ...; 2 only right; anything else only left. w_out: smoothed waveform.
    NaN in w_in gives an all-NaN row.
    """
    w_out[:] = np.nan
    if any_nan(w_in):
        return
    if np.floor(length) != length:
        raise DSPFatal("The length of the moving window must be an integer")
    if np.floor(num_mw) != num_mw:
        raise DSPFatal("The number of moving windows must be an integer")
    if int(length) < 0 or int(length) >= len(w_in):
        raise DSPFatal("The length of the moving window is out of range")
    if int(num_mw) < 0:
        raise DSPFatal("The number of moving windows much be positive")
    passes = int(num_mw)
    if passes == 0:
        return
    src = w_in.copy()
    for k in range(passes):
        if (k % 2 == 1 and mw_type == 0) or mw_type == 2:
            _right_pass(src, length, w_out)
        else:
            _left_pass(src, length, w_out)
        if k + 1 < passes:
            src[:] = w_out


@lazy_gufunc(
    ["void(float32[:], float32, float32[:])", "void(float64[:], float64, float64[:])"],
    "(n),(),(m)",
    **GUFUNC_OPTIONS,
)
def avg_current(w_in: np.ndarray, length: float, w_out: np.ndarray) -> None:
    """Derivative averaged over `length` samples: (w_in[i+L] - w_in[i]) / length, L=int(length).

    w_in: waveform (samples); length: lag (samples, 1 <= int(length), length < len(w_in));
    w_out: derivative (units of w_in per `length`), len(w_in) - L samples. NaN in w_in gives an
    all-NaN row.
    """
    if any_nan(w_in):
        w_out[:] = np.nan
        return
    n = len(w_in)
    if not (length >= 0 and length < n):
        raise DSPFatal("length is out of range, must be between 0 and the length of the waveform")
    lag = int(length)
    if lag == 0 or len(w_out) != n - lag:
        raise DSPFatal("The output must be len(w_in) - int(length) samples long, length >= 1")
    # unit-stride copies let the subtraction and division run vectorised
    src = np.ascontiguousarray(w_in)
    res = np.empty(n - lag, src.dtype)
    for i in range(n - lag):
        res[i] = (src[i + lag] - src[i]) / length
    w_out[:] = res
