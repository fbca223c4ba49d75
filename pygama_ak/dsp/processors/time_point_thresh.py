"""Threshold crossings: time_point_thresh (dspeed's asymmetric search), its interpolating and
multi-threshold variants, and the bi-level zero-crossing trigger of SiPM-like pulses."""

from __future__ import annotations

import numba
import numpy as np

from ..errors import DSPFatal
from ._util import GUFUNC_OPTIONS, NJIT_OPTIONS, any_nan
from .gufunc import lazy_gufunc


@lazy_gufunc(
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


_MODES = "i, b, a, r, n, l, f or c"


@lazy_gufunc(
    [
        "void(float32[:], float32, float32, int64, int8, float32[:])",
        "void(float64[:], float64, float64, int64, int8, float64[:])",
    ],
    "(n),(),(),(),()->()",
    **GUFUNC_OPTIONS,
)
def interpolated_time_point_thresh(
    w_in: np.ndarray,
    a_threshold: float,
    t_start: float,
    walk_forward: int,
    mode_in: int,
    t_out: np.ndarray,
) -> None:
    """Time (samples) at which w_in crosses a_threshold, searching from sample int(t_start)
    forward (walk_forward > 0) or backward, refined by mode_in (a character code, ord('l')):

    with i the sample before the crossing (w[i] ≤ thr < w[i+1] or w[i] ≥ thr > w[i+1]):
    'i'/'b'/'c' → i; 'a'/'f' → i+1; 'r' → whichever of i, i+1 is nearer thr in value;
    'n' → i+0.5; 'l' → linear interpolation. NaN if an input is NaN, t_start is outside
    [0, len) or no crossing is found; as dspeed the backward search never looks at the first
    two samples (i ≥ 1). DSPFatal for an unknown mode (raised only when a crossing is found).
    """
    t_out[0] = np.nan
    if any_nan(np.ascontiguousarray(w_in)):
        return
    if np.isnan(a_threshold) or np.isnan(t_start) or np.isnan(walk_forward):
        return
    n = w_in.shape[0]
    if t_start < 0 or t_start >= n:
        return
    thr = a_threshold
    before = -1
    if walk_forward > 0:
        for i in range(int(t_start), n - 1):
            if (w_in[i] <= thr < w_in[i + 1]) or (w_in[i] >= thr > w_in[i + 1]):
                before = i
                break
    else:
        for i in range(int(t_start), 1, -1):
            if (w_in[i - 1] < thr <= w_in[i]) or (w_in[i - 1] > thr >= w_in[i]):
                before = i - 1
                break
    if before == -1:
        return
    if mode_in == ord("i") or mode_in == ord("b") or mode_in == ord("c"):
        t_out[0] = before
    elif mode_in == ord("a") or mode_in == ord("f"):
        t_out[0] = before + 1
    elif mode_in == ord("r"):
        nearer_before = abs(thr - w_in[before]) < abs(thr - w_in[before + 1])
        t_out[0] = before if nearer_before else before + 1
    elif mode_in == ord("n"):
        t_out[0] = before + 0.5
    elif mode_in == ord("l"):
        t_out[0] = before + (thr - w_in[before]) / (w_in[before + 1] - w_in[before])
    else:
        raise DSPFatal("Unrecognized interpolation mode")


@numba.njit(**NJIT_OPTIONS)
def _multi_crossing(w_in: np.ndarray, thr: float, i_wf: int, polarity: int, mode_in: int) -> float:
    """Time of a crossing of thr between samples i_wf and i_wf+polarity (multi_time_point_thresh)."""
    if mode_in == ord("i"):
        return i_wf
    if mode_in == ord("a") or mode_in == ord("f"):
        return i_wf if polarity < 0 else i_wf + 1
    if mode_in == ord("b") or mode_in == ord("c"):
        return i_wf if polarity > 0 else i_wf - 1
    if mode_in == ord("r"):
        if thr - w_in[i_wf] < w_in[i_wf + polarity] - thr:
            return i_wf
        return i_wf + polarity
    if mode_in == ord("n"):
        return i_wf + 0.5 * polarity
    if mode_in == ord("l"):
        return i_wf + (thr - w_in[i_wf]) / (w_in[i_wf + polarity] - w_in[i_wf])
    raise DSPFatal("Unrecognized interpolation mode")


@lazy_gufunc(
    [
        "void(float32[:], float32[:], float32, float32, int8, float32[:])",
        "void(float64[:], float64[:], float64, float64, int8, float64[:])",
    ],
    "(n),(m),(),(),()->(m)",
    **GUFUNC_OPTIONS,
)
def multi_time_point_thresh(
    w_in: np.ndarray,
    a_threshold: np.ndarray,
    t_start: float,
    polarity: float,
    mode_in: int,
    t_out: np.ndarray,
) -> None:
    """Times (samples) at which w_in crosses each threshold of a_threshold, for a waveform
    that rises (polarity > 0) or falls (polarity < 0) around sample t_start.

    Thresholds at or above w_in[t_start] are searched walking with the slope from t_start,
    lower ones walking against it from t_start-1, each time for w[i] ≤ thr < w[i+polarity];
    thresholds are taken in increasing order, so each crossing is at or beyond the previous
    one. mode_in as interpolated_time_point_thresh ('a'/'b' after/before in time, 'r' and 'l'
    between i and i+polarity). NaN for thresholds not found, and everywhere if w_in,
    a_threshold or t_start has a NaN or t_start is outside [0, len). DSPFatal for polarity 0 or
    an unknown mode. As dspeed, a falling search reaching sample 0 compares with w_in[-1].
    """
    t_out[:] = np.nan
    if any_nan(np.ascontiguousarray(w_in)) or any_nan(np.ascontiguousarray(a_threshold)):
        return
    if np.isnan(t_start):
        return
    n = w_in.shape[0]
    if t_start < 0 or t_start >= n:
        return
    if polarity > 0:
        sign = 1
    elif polarity < 0:
        sign = -1
    else:
        raise DSPFatal("polarity cannot be 0")
    order = np.argsort(a_threshold)
    m = order.shape[0]
    start = int(t_start)
    first_above = m
    for k in range(m):
        if a_threshold[order[k]] >= w_in[start]:
            first_above = k
            break
    # thresholds at or above the start value, walking with the slope
    k = first_above
    stop = n - 1 if sign > 0 else -1
    i_wf = start
    while k < m and i_wf != stop:
        thr = a_threshold[order[k]]
        while w_in[i_wf] <= thr < w_in[i_wf + sign]:
            t_out[order[k]] = _multi_crossing(w_in, thr, i_wf, sign, mode_in)
            k += 1
            if k >= m:
                break
            thr = a_threshold[order[k]]
        i_wf += sign
    # thresholds below it, walking against the slope from the previous sample
    k = first_above - 1
    stop = n - 1 if sign < 0 else -1
    i_wf = start - 1
    while k >= 0 and i_wf != stop:
        thr = a_threshold[order[k]]
        while w_in[i_wf] <= thr < w_in[i_wf + sign]:
            t_out[order[k]] = _multi_crossing(w_in, thr, i_wf, sign, mode_in)
            k -= 1
            if k < 0:
                break
            thr = a_threshold[order[k]]
        i_wf -= sign


@lazy_gufunc(
    [
        "void(float32[:], float32, float32, float32, float32, uint32[:], float32[:], float32[:])",
        "void(float64[:], float64, float64, float64, float64, uint32[:], float64[:], float64[:])",
    ],
    "(n),(),(),(),(),(),(m),(m)",
    **GUFUNC_OPTIONS,
)
def bi_level_zero_crossing_time_points(
    w_in: np.ndarray,
    a_pos_threshold_in: float,
    a_neg_threshold_in: float,
    gate_time_in: float,
    t_start_in: float,
    n_crossings_out: np.ndarray,
    polarity_out: np.ndarray,
    t_trig_times_out: np.ndarray,
) -> None:
    """Zero crossings of bipolar pulses that pass both thresholds within a gate (samples).

    Walking forward from t_start_in: a pulse that went below a_neg_threshold_in, crossed zero
    upward and then rose past a_pos_threshold_in less than gate_time_in samples after the
    negative crossing is recorded with polarity 0 at the sample before its zero crossing;
    the mirror sequence (above the positive threshold, down through zero, below the negative
    one) with polarity 1. n_crossings_out counts all such pulses; the first len(polarity_out)
    are stored, the rest of the outputs stay NaN. As dspeed, a threshold crossing "remembered"
    at sample 0 counts as none. NaN outputs (count untouched) if w_in, a threshold or
    t_start_in is NaN; DSPFatal for a non-integer or out-of-range t_start_in or outputs of
    different lengths.
    """
    t_trig_times_out[:] = np.nan
    polarity_out[:] = np.nan
    if any_nan(np.ascontiguousarray(w_in)):
        return
    if np.isnan(a_pos_threshold_in) or np.isnan(a_neg_threshold_in) or np.isnan(t_start_in):
        return
    if np.floor(t_start_in) != t_start_in:
        raise DSPFatal("The starting index must be an integer")
    n = w_in.shape[0]
    if int(t_start_in) < 0 or int(t_start_in) >= n:
        raise DSPFatal("The starting index is out of range")
    n_slots = polarity_out.shape[0]
    if n_slots != t_trig_times_out.shape[0]:
        raise DSPFatal("The output arrays are of different lengths.")
    gate = int(gate_time_in)
    pos_thr = a_pos_threshold_in
    neg_thr = a_neg_threshold_in
    # sample of the last threshold crossing of either sign; 0 means "none" (dspeed's falsy int)
    above_since = 0
    below_since = 0
    crossed_zero = False
    rising_zero = 0
    falling_zero = 0
    count = 0
    for i in range(int(t_start_in), n - 1):
        now = w_in[i]
        nxt = w_in[i + 1]
        if below_since != 0 and now <= 0 < nxt:
            crossed_zero = True
            rising_zero = i
        if now <= pos_thr < nxt:
            if crossed_zero and below_since != 0:
                if i - below_since < gate:
                    if count < n_slots:
                        t_trig_times_out[count] = rising_zero
                        polarity_out[count] = 0
                    count += 1
                else:
                    above_since = i
                below_since = 0
                crossed_zero = False
            else:
                above_since = i
        if above_since != 0 and now >= 0 > nxt:
            crossed_zero = True
            falling_zero = i
        if now >= neg_thr > nxt:
            if crossed_zero and above_since != 0:
                if i - above_since < gate:
                    if count < n_slots:
                        t_trig_times_out[count] = falling_zero
                        polarity_out[count] = 1
                    count += 1
                else:
                    below_since = i
                above_since = 0
                crossed_zero = False
            else:
                below_since = i
    n_crossings_out[0] = count
