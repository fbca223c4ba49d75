"""Baseline subtraction."""

from __future__ import annotations

import numba
import numpy as np

from ._util import GUFUNC_OPTIONS, NJIT_OPTIONS, any_nan, fill_nan
from .gufunc import lazy_gufunc


# ----------------------------------------------------------------------------- bl_subtract
@numba.njit(**NJIT_OPTIONS)
def _subtract(x: np.ndarray, value: float, out: np.ndarray) -> int:
    """out = x − value; returns the number of NaNs written."""
    nans = 0
    for i in range(x.shape[0]):
        diff = x[i] - value
        out[i] = diff
        nans += np.isnan(diff)
    return nans


@lazy_gufunc(
    ["void(float32[:], float32, float32[:])", "void(float64[:], float64, float64[:])"],
    "(n),()->(n)",
    **GUFUNC_OPTIONS,
)
def bl_subtract(w_in: np.ndarray, a_baseline: float, w_out: np.ndarray) -> None:
    """w_out = w_in − a_baseline (all ADC); NaN row if w_in or the baseline is NaN."""
    if np.isnan(a_baseline):
        fill_nan(w_out)
        return
    x = np.ascontiguousarray(w_in)
    if w_out.strides[0] == w_out.itemsize:
        nans = _subtract(x, a_baseline, np.ascontiguousarray(w_out))
    else:
        nans = _subtract(x, a_baseline, w_out)
    # a NaN out comes from a NaN in, or from inf − inf (kept, like dspeed)
    if nans and any_nan(x):
        fill_nan(w_out)
