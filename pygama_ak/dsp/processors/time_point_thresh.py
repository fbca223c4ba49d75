"""time_point_thresh: where a waveform crosses a threshold, searching from a start sample."""

from __future__ import annotations

import numba
import numpy as np

from ..errors import DSPFatal
from ._util import GUFUNC_OPTIONS, any_nan


@numba.guvectorize(
    [
        "void(float32[:], float32, float32, float32, float32[:])",
        "void(float64[:], float64, float64, float64, float64[:])",
    ],
    "(n),(),(),()->()",
    **GUFUNC_OPTIONS,
)
def time_point_thresh(
    w_in: np.ndarray, a_threshold: float, t_start: float, walk_forward: float, t_out: np.ndarray
) -> None:
    """Sample index of the first crossing of a_threshold (either direction) met walking from
    t_start (w_in, a_threshold: ADC; t_start, t_out: samples; walk_forward: 1 forward, any other
    integer backward).

    Forward returns the sample before the crossing (w[i] ≤ thr < w[i+1] or w[i] ≥ thr >
    w[i+1], i ≥ t_start); backward the sample after it (w[i−1] < thr ≤ w[i] or w[i−1] > thr ≥
    w[i], i ≤ t_start), as dspeed. NaN if there is no crossing or an input is NaN; DSPFatal for
    a non-integer t_start or walk_forward, or t_start outside [0, len).
    """
    t_out[0] = np.nan
    if np.isnan(a_threshold) or np.isnan(t_start) or np.isnan(walk_forward):
        return
    if any_nan(np.ascontiguousarray(w_in)):
        return
    if np.floor(t_start) != t_start:
        raise DSPFatal("The starting index must be an integer")
    if np.floor(walk_forward) != walk_forward:
        raise DSPFatal("The search direction must be an integer")
    start = int(t_start)
    n = w_in.shape[0]
    if start < 0 or start >= n:
        raise DSPFatal("The starting index is out of range")
    thr = a_threshold
    if int(walk_forward) == 1:
        prev = w_in[start]
        for i in range(start, n - 1):
            nxt = w_in[i + 1]
            if (prev <= thr < nxt) or (prev >= thr > nxt):
                t_out[0] = i
                return
            prev = nxt
    else:
        cur = w_in[start]
        for i in range(start, 0, -1):
            before = w_in[i - 1]
            if (before < thr <= cur) or (before > thr >= cur):
                t_out[0] = i
                return
            cur = before
