"""rc_cr2: the RC-CR² shaper as a matched-z-transform recursion (float64 accumulator)."""

from __future__ import annotations

import numpy as np

from ..errors import DSPFatal
from ._util import GUFUNC_OPTIONS, any_nan
from .gufunc import lazy_gufunc


@lazy_gufunc(
    ["void(float32[:], float32, float32[:])", "void(float64[:], float64, float64[:])"],
    "(n),()->(n)",
    **GUFUNC_OPTIONS,
)
def rc_cr2(w_in: np.ndarray, t_tau: float, w_out: np.ndarray) -> None:
    """One RC integration and two CR differentiations with time constant t_tau (samples).

    With c = exp(−1/τ): y[i] = 3c·y[i−1] − 3c²·y[i−2] + c³·y[i−3] + x[i] − 2x[i−1] + x[i−2] for
    i ≥ 3 (float64, stored in the waveform's type), y[0..2] = x[0..2]. NaN output for a NaN
    input or τ; DSPFatal if the waveform has 3 samples or fewer or the output gets a NaN.
    """
    w_out[:] = np.nan
    if any_nan(w_in) or np.isnan(t_tau):
        return
    n = w_in.shape[0]
    if n <= 3:
        raise DSPFatal(
            "The length of the waveform must be larger than 3 for the filter to work safely"
        )
    c = np.exp(-1 / t_tau)
    fb1 = 3 * c  # feedback coefficients of y[i−1], y[i−2], y[i−3]
    fb2 = -(3 * c**2)
    fb3 = c**3
    y0 = np.float64(w_in[0])
    y1 = np.float64(w_in[1])
    y2 = np.float64(w_in[2])
    w_out[0] = w_in[0]
    w_out[1] = w_in[1]
    w_out[2] = w_in[2]
    for i in range(3, n):
        y3 = fb1 * y2 + fb2 * y1 + fb3 * y0 + 1 * w_in[i] + -2 * w_in[i - 1] + 1 * w_in[i - 2]
        w_out[i] = y3
        y0, y1, y2 = y1, y2, y3
    if any_nan(w_out):
        raise DSPFatal("RC-CR^2 filter produced nans in output.")
