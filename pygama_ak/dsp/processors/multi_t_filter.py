"""multi_t_filter: leading-edge times of several pulses (SiPM), and remove_duplicates, which
replaces repeated times by the matching entries of a second list."""

from __future__ import annotations

import numba
import numpy as np

from ..errors import DSPFatal
from ._util import GUFUNC_OPTIONS, NJIT_OPTIONS, any_nan
from .gufunc import lazy_gufunc


@numba.njit(**NJIT_OPTIONS)
def _dedupe(t_in: np.ndarray, vt_min_in: np.ndarray, t_out: np.ndarray) -> None:
    """remove_duplicates' rule, written into t_out (see there)."""
    t_out[:] = np.nan
    n = len(t_in)
    if _all_nan(t_in) and _all_nan(vt_min_in):
        return
    for first in range(n):
        for later in range(first + 1, n):
            if t_in[first] == t_in[later]:
                t_out[later] = vt_min_in[first]
    for i in range(n):
        if np.isnan(t_out[i]) and not np.isnan(t_in[i]):
            t_out[i] = t_in[i]
    if n > 0 and -1.0 < t_out[0] < 1.0:  # int(t_out[0]) == 0 (NaN fails both)
        for i in range(n - 1):
            t_out[i] = t_out[i + 1]
        t_out[n - 1] = np.nan


@numba.njit(**NJIT_OPTIONS)
def _all_nan(values: np.ndarray) -> bool:
    """True if every element is NaN (and for an empty array)."""
    for v in values:  # noqa: SIM110 (numba: no generators)
        if not np.isnan(v):
            return False
    return True


@lazy_gufunc(
    ["void(float32[:], float32[:], float32[:])", "void(float64[:], float64[:], float64[:])"],
    "(n),(n)->(n)",
    **GUFUNC_OPTIONS,
)
def remove_duplicates(t_in: np.ndarray, vt_min_in: np.ndarray, t_out: np.ndarray) -> None:
    """t_in (samples) with every repeat of an earlier value t_in[i] replaced by vt_min_in[i].

    NaN entries stay NaN; if the first result is in [0, 1) (int() == 0) it is dropped and
    the rest moved one place left (NaN at the end). All NaN if both inputs are all NaN.
    """
    _dedupe(t_in, vt_min_in, t_out)


@lazy_gufunc(
    [
        "void(float32[:], float32[:], float32[:], float32[:], float32[:])",
        "void(float64[:], float64[:], float64[:], float64[:], float64[:])",
    ],
    "(n),(),(m),(m),(m)",
    **GUFUNC_OPTIONS,
)
def multi_t_filter(
    w_in: np.ndarray,
    a_threshold_in: float,
    vt_max_in: np.ndarray,
    vt_min_in: np.ndarray,
    t_out: np.ndarray,
) -> None:
    """Leading-edge time (samples) of each pulse: for every maximum position in vt_max_in the
    backward time_point_thresh crossing of a_threshold_in (the sample after it), then
    remove_duplicates with vt_min_in (minimum positions) replacing repeated times.

    NaN output if w_in or a_threshold_in has a NaN or vt_max_in and vt_min_in are all NaN;
    DSPFatal if len(t_out) > len(w_in), or a non-NaN vt_max_in is not an integer or outside
    [0, len(w_in)) (time_point_thresh's checks).
    """
    t_out[:] = np.nan
    if any_nan(np.ascontiguousarray(w_in)) or np.isnan(a_threshold_in[0]):
        return
    if _all_nan(vt_max_in) and _all_nan(vt_min_in):
        return
    n = len(w_in)
    m = len(t_out)
    if m > n:
        raise DSPFatal(
            "The length of your return array must be smaller than the length of your waveform"
        )
    thr = a_threshold_in[0]
    # time_point_thresh(w_in, thr, vt_max_in, 0) into float32 slots, as dspeed
    edges = np.full(m, np.nan, dtype=np.float32)
    for k in range(m):
        start = vt_max_in[k]
        if np.isnan(start):
            continue
        if np.floor(start) != start:
            raise DSPFatal("The starting index must be an integer")
        if int(start) < 0 or int(start) >= n:
            raise DSPFatal("The starting index is out of range")
        for i in range(int(start), 0, -1):
            if (w_in[i - 1] < thr <= w_in[i]) or (w_in[i - 1] > thr >= w_in[i]):
                edges[k] = i
                break
    times = edges.astype(t_out.dtype)
    minima = vt_min_in.astype(t_out.dtype)
    _dedupe(times, minima, t_out)
