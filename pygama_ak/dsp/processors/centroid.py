"""get_wf_centroid: the sample between the negative and positive lobes of a bipolar pulse."""

from __future__ import annotations

import numpy as np

from ..errors import DSPFatal
from ._util import GUFUNC_OPTIONS, any_nan
from .gufunc import lazy_gufunc


@lazy_gufunc(
    ["void(float32[:], float32, float32[:])", "void(float64[:], float64, float64[:])"],
    "(n),()->()",
    **GUFUNC_OPTIONS,
)
def get_wf_centroid(w_in: np.ndarray, shift: float, centroid: np.ndarray) -> None:
    """Zero crossing (samples) of a bipolar pulse, plus shift (samples).

    Walking from the first minimum to the first maximum of w_in (both ends included), a is the
    last sample below 0 and b the first above 0; the centroid is round((a + b) / 2) + shift
    (ties to even). NaN if w_in has a NaN, minimum and maximum are the same sample, or a or b
    is not found. DSPFatal if shift is NaN, negative or more than len(w_in) - 1.
    """
    centroid[0] = np.nan
    if any_nan(np.ascontiguousarray(w_in)):
        return
    if np.isnan(shift):
        raise DSPFatal("shift is nan")
    if shift < 0:
        raise DSPFatal("shift must be positive")
    if shift > len(w_in) - 1:
        raise DSPFatal("shift must be shorter than input waveform size")
    i_min = np.argmin(w_in)
    i_max = np.argmax(w_in)
    if i_min == i_max:
        return
    direction = 1 if i_max > i_min else -1
    last_negative = -1
    first_positive = -1
    for i in range(i_min, i_max + direction, direction):
        if w_in[i] < 0:
            last_negative = i
        if w_in[i] > 0 and first_positive == -1:
            first_positive = i
    if last_negative == -1 or first_positive == -1:
        return
    centroid[0] = round((last_negative + first_positive) / 2) + shift
