"""sort: the samples of a waveform in ascending order."""

from __future__ import annotations

import numpy as np

from ._util import GUFUNC_OPTIONS, any_nan
from .gufunc import lazy_gufunc


@lazy_gufunc(
    ["void(float32[:], float32[:])", "void(float64[:], float64[:])"],
    "(n)->(n)",
    **GUFUNC_OPTIONS,
)
def sort(w_in: np.ndarray, w_out: np.ndarray) -> None:
    """w_out = the samples of w_in sorted ascending (numba's quicksort, like dspeed).

    NaN output for a NaN input.
    """
    w_out[:] = np.nan
    if any_nan(w_in):
        return
    w_out[:] = w_in
    w_out.sort()
