"""Multi-pulse (SiPM) processors: peak finding, an SNR cut on peaks and their amplitudes."""

from __future__ import annotations

import numba
import numpy as np

from ..errors import DSPFatal
from ._util import GUFUNC_OPTIONS, any_nan
from .gufunc import lazy_gufunc

_NJIT: dict = {"cache": True, "error_model": "numpy"}


@numba.njit(**_NJIT)
def _peakdet(
    w: np.ndarray,
    d_max: float,
    d_min: float,
    abs_max: float,
    abs_min: float,
    backward: bool,
    vt_max: np.ndarray,
    vt_min: np.ndarray,
) -> tuple:
    """Billauer's peakdet in one direction; fills vt_max/vt_min up to their capacity.

    Returns the numbers of maxima and minima found (indices in the order found). A full list
    stops that kind of extremum from being tagged (and so the search from switching).
    """
    n = len(w)
    cap_max = len(vt_max)
    cap_min = len(vt_min)
    n_max = 0
    n_min = 0
    start = n - 1 if backward else 0
    imax = imin = start
    vmax = vmin = w[start]
    find_max = True
    step = -1 if backward else 1
    i = start
    for _ in range(n):
        v = w[i]
        if v > vmax:
            imax = i
            vmax = v
        if v < vmin:
            imin = i
            vmin = v
        if find_max:
            if v < vmax - d_max and n_max < cap_max and vmax > abs_max:
                vt_max[n_max] = imax
                n_max += 1
                imin = i
                vmin = v
                find_max = False
        elif v > vmin + d_min and n_min < cap_min and vmin < abs_min:
            vt_min[n_min] = imin
            n_min += 1
            imax = i
            vmax = v
            find_max = True
        i += step
    return n_max, n_min


@numba.njit(**_NJIT)
def _both(left: np.ndarray, n_left: int, right: np.ndarray, n_right: int, n: int, out: np.ndarray):
    """Indices found in both searches, in the left search's order; returns their number."""
    seen = np.zeros(n, np.bool_)
    for i in range(n_right):
        seen[int(right[i])] = True
    k = 0
    for i in range(n_left):
        if seen[int(left[i])]:
            out[k] = left[i]
            k += 1
    return k


@numba.njit(**_NJIT)
def _either(left: np.ndarray, n_left: int, right: np.ndarray, n_right: int, out: np.ndarray):
    """Sorted distinct indices found by either search, up to len(out); returns their number."""
    merged = np.sort(np.concatenate((left[:n_left], right[:n_right])))
    k = 0
    for i in range(len(merged)):
        if k == len(out):
            break
        if i == 0 or merged[i] != merged[i - 1]:
            out[k] = merged[i]
            k += 1
    return k


@lazy_gufunc(
    [
        "void(float32[:], float32, float32, float32, float32, float32, float32[:], float32[:], "
        "uint32[:], uint32[:])",
        "void(float64[:], float64, float64, float64, float64, float64, float64[:], float64[:], "
        "uint32[:], uint32[:])",
    ],
    "(n),(),(),(),(),(),(m),(m),(),()",
    **GUFUNC_OPTIONS,
)
def get_multi_local_extrema(
    w_in: np.ndarray,
    a_delta_max_in: float,
    a_delta_min_in: float,
    search_direction: float,
    a_abs_max_in: float,
    a_abs_min_in: float,
    vt_max_out: np.ndarray,
    vt_min_out: np.ndarray,
    n_max_out: np.ndarray,
    n_min_out: np.ndarray,
) -> None:
    """Indices of local maxima and minima (peakdet), as fixed-capacity vectors plus counts.

    w_in: waveform (samples); a_delta_max_in / a_delta_min_in: how far (unit of w_in) the
    waveform must fall after a maximum / rise after a minimum for it to count (>= 0);
    search_direction: 0 left to right, 1 right to left, 2 extrema found both ways, 3 found
    either way (sorted); a_abs_max_in / a_abs_min_in: maxima must lie above, minima below
    these values; vt_max_out / vt_min_out: indices (samples), NaN past the count, at most
    their capacity (shorter than w_in); n_max_out / n_min_out: the counts. NaN in w_in or
    in a delta gives counts 0 and all-NaN indices.
    """
    vt_max_out[:] = np.nan
    vt_min_out[:] = np.nan
    n_max_out[0] = 0
    n_min_out[0] = 0
    if any_nan(w_in) or np.isnan(a_delta_max_in) or np.isnan(a_delta_min_in):
        return
    n = len(w_in)
    if not (len(vt_max_out) < n and len(vt_min_out) < n):
        raise DSPFatal(
            "The length of your return array must be smaller than the length of your waveform"
        )
    if not (a_delta_max_in >= 0 and a_delta_min_in >= 0):
        raise DSPFatal("Delta must be positive")
    if search_direction == 0 or search_direction == 1:
        backward = search_direction == 1
        n_max, n_min = _peakdet(
            w_in,
            a_delta_max_in,
            a_delta_min_in,
            a_abs_max_in,
            a_abs_min_in,
            backward,
            vt_max_out,
            vt_min_out,
        )
        n_max_out[0] = n_max
        n_min_out[0] = n_min
        return
    if not (search_direction == 2 or search_direction == 3):
        raise DSPFatal("search direction type not found.")
    left_max = np.empty(len(vt_max_out), np.float64)
    left_min = np.empty(len(vt_min_out), np.float64)
    right_max = np.empty(len(vt_max_out), np.float64)
    right_min = np.empty(len(vt_min_out), np.float64)
    nl_max, nl_min = _peakdet(
        w_in, a_delta_max_in, a_delta_min_in, a_abs_max_in, a_abs_min_in, False, left_max, left_min
    )
    nr_max, nr_min = _peakdet(
        w_in, a_delta_max_in, a_delta_min_in, a_abs_max_in, a_abs_min_in, True, right_max, right_min
    )
    if search_direction == 2:
        n_max_out[0] = _both(left_max, nl_max, right_max, nr_max, n, vt_max_out)
        n_min_out[0] = _both(left_min, nl_min, right_min, nr_min, n, vt_min_out)
    else:
        n_max_out[0] = _either(left_max, nl_max, right_max, nr_max, vt_max_out)
        n_min_out[0] = _either(left_min, nl_min, right_min, nr_min, vt_min_out)


@lazy_gufunc(
    [
        "void(float32[:], float32[:], float32, float32, float32[:], uint32[:])",
        "void(float64[:], float64[:], float64, float64, float64[:], uint32[:])",
    ],
    "(n),(m),(),()->(m),()",
    **GUFUNC_OPTIONS,
)
def peak_snr_threshold(
    w_in: np.ndarray,
    idx_in: np.ndarray,
    ratio_in: float,
    width_in: float,
    idx_out: np.ndarray,
    n_idx_out: np.ndarray,
) -> None:
    """Keep the peak indices whose surroundings dip low enough relative to the peak.

    w_in: waveform (samples); idx_in: candidate peak indices (samples, NaN = none);
    ratio_in: a candidate i is kept if |min(w_in[a:b]) / w_in[i]| < ratio_in, with
    a = max(i - int(width_in), 0) and b = min(i + int(width_in), len(w_in) - 1) (b excluded);
    width_in: half-width of the search (samples); idx_out: kept indices in input order, NaN
    past n_idx_out; n_idx_out: how many were kept. w_in is not checked for NaN; candidates
    whose int() lies outside the waveform are dropped.
    """
    idx_out[:] = np.nan
    n = len(w_in)
    width = int(width_in)
    k = 0
    for i in range(len(idx_in)):
        t = idx_in[i]
        if np.isnan(t) or not (-1 < t < n):
            continue
        peak = int(t)
        lo = min(max(peak - width, 0), n - 1)  # (the upper clamp only matters for width < 0)
        hi = min(peak + width, n - 1)
        low = lo
        for j in range(lo, hi):
            if w_in[j] < w_in[low]:
                low = j
        if np.absolute(w_in[low] / w_in[peak]) < ratio_in:
            idx_out[k] = t
            k += 1
    n_idx_out[0] = k


@lazy_gufunc(
    ["void(float32[:], float32[:], float32[:])", "void(float64[:], float64[:], float64[:])"],
    "(n),(m)->(m)",
    **GUFUNC_OPTIONS,
)
def multi_a_filter(w_in: np.ndarray, vt_maxs_in: np.ndarray, va_max_out: np.ndarray) -> None:
    """Waveform values at a list of sample indices (the amplitudes of several peaks).

    w_in: waveform (samples); vt_maxs_in: indices (integer samples; NaN = none);
    va_max_out: w_in at each index (unit of w_in), NaN for NaN or out-of-range indices and
    for the whole row when w_in has a NaN. A non-integer index raises DSPFatal.
    """
    va_max_out[:] = np.nan
    if any_nan(w_in):
        return
    n = len(w_in)
    if not len(vt_maxs_in) < n:
        raise DSPFatal(
            "The length of your return array must be smaller than the length of your waveform"
        )
    for i in range(len(vt_maxs_in)):
        t = vt_maxs_in[i]
        if np.isnan(t) or t < 0 or t > n - 1:
            continue
        j = int(t)
        if j != t:
            raise DSPFatal("fixed_time_pickoff requires integer t_in when using mode 'i'")
        va_max_out[i] = w_in[j]
