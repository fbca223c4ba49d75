"""Up-sampling by sample repetition."""

from __future__ import annotations

import numba
import numpy as np

from ..errors import DSPFatal
from ._util import GUFUNC_OPTIONS, any_nan


@numba.guvectorize(
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
