"""log_check: the natural log of a waveform whose samples are all positive."""

from __future__ import annotations

import numpy as np

from ._util import GUFUNC_OPTIONS, any_nan
from .gufunc import lazy_gufunc


@lazy_gufunc(
    ["void(float32[:], float32[:])", "void(float64[:], float64[:])"],
    "(n)->(n)",
    **GUFUNC_OPTIONS,
)
def log_check(w_in: np.ndarray, w_log: np.ndarray) -> None:
    """w_log = ln(w_in) (in the waveform's type) if every sample is > 0, else all NaN.

    NaN output for a NaN input.
    """
    w_log[:] = np.nan
    if any_nan(w_in):
        return
    for i in range(w_in.shape[0]):
        if w_in[i] <= 0:
            return
    for i in range(w_in.shape[0]):
        w_log[i] = np.log(w_in[i])
