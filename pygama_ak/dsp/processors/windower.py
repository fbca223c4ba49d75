"""Cut a fixed-length window out of a waveform."""

from __future__ import annotations

import numpy as np

from ..errors import DSPFatal
from ._util import GUFUNC_OPTIONS, any_nan
from .gufunc import lazy_gufunc


@lazy_gufunc(
    ["void(float32[:], float32, float32[:])", "void(float64[:], float64, float64[:])"],
    "(n),(),(m)",
    **GUFUNC_OPTIONS,
)
def windower(w_in: np.ndarray, t0_in: float, w_out: np.ndarray) -> None:
    """Copy len(w_out) samples of w_in starting at sample int(t0_in).

    w_in: waveform (samples); t0_in: first sample of the window (samples, truncated toward
    zero); w_out: window, shorter than w_in. Window samples outside w_in are NaN; NaN in w_in
    or t0_in gives an all-NaN row. The window has no time grid of its own.
    """
    if any_nan(w_in) or np.isnan(t0_in):
        w_out[:] = np.nan
        return
    n = len(w_in)
    m = len(w_out)
    if m >= n:
        raise DSPFatal("The windowed waveform must be smaller than the input waveform")
    # first input sample, clamped so the int conversion cannot overflow
    if t0_in >= n:
        beg = n
    elif t0_in <= -m:
        beg = -m
    else:
        beg = int(t0_in)
    for i in range(m):
        j = beg + i
        w_out[i] = w_in[j] if 0 <= j < n else np.nan
