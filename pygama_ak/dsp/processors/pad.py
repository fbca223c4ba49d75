"""pad: place the first len_in samples of a waveform at an offset in a longer output."""

from __future__ import annotations

import numpy as np

from ..errors import DSPFatal
from ._util import GUFUNC_OPTIONS, any_nan
from .gufunc import lazy_gufunc


@lazy_gufunc(
    [
        "void(float32[:], int64, float32, float32, float32, float32[:])",
        "void(float64[:], int64, float64, float64, float64, float64[:])",
    ],
    "(n),(),(),(),(),(m)",
    **GUFUNC_OPTIONS,
)
def pad(
    w_in: np.ndarray,
    len_in: int,
    offset: float,
    start_val: float,
    end_val: float,
    w_out: np.ndarray,
) -> None:
    """w_out = start_val for samples before offset, then w_in[:len_in], then end_val.

    len_in, offset: samples (numpy slice rules, so negative values count from the end).
    NaN output if w_in[:len_in] has a NaN or offset is NaN; DSPFatal if len_in > len(w_in),
    offset is not an integer, or the copied samples do not fit in w_out.
    """
    w_out[:] = np.nan
    if any_nan(np.ascontiguousarray(w_in[:len_in])) or np.isnan(offset):
        return
    if len_in > len(w_in):
        raise DSPFatal("Length longer than input array")
    first = int(offset)
    if first != offset:
        raise DSPFatal("Offset must be an integer value")
    last = first + len_in
    src = w_in[:len_in]
    dst = w_out[first:last]
    if len(src) != len(dst):
        raise DSPFatal("the padded waveform does not fit in w_out")
    w_out[:first] = start_val
    dst[:] = src
    w_out[last:] = end_val
