"""Histogram of a waveform's samples (over its range or around its mode) and the mode/width of
such a histogram (histogram_stats, histogram_peakstats)."""

from __future__ import annotations

import numba
import numpy as np

from ..errors import DSPFatal
from ._util import GUFUNC_OPTIONS, NJIT_OPTIONS, any_nan
from .gufunc import lazy_gufunc


@lazy_gufunc(
    [
        "void(float32[:], float32[:], float32[:])",
        "void(float64[:], float64[:], float64[:])",
    ],
    "(n),(m),(p)",
    **GUFUNC_OPTIONS,
)
def histogram(w_in: np.ndarray, weights_out: np.ndarray, borders_out: np.ndarray) -> None:
    """Histogram of the samples of w_in in len(weights_out) equal bins over [min, max).

    w_in: values (any unit); weights_out: counts per bin; borders_out: the len(weights_out)+1
    bin edges (unit of w_in). Samples equal to the maximum are not counted, so a flat
    waveform gives all-zero counts. NaN in w_in gives zero counts and NaN edges.
    """
    m = len(weights_out)
    if m + 1 != len(borders_out):
        raise DSPFatal("length borders_out must be exactly 1 + length of weights_out")
    weights_out[:] = 0
    if any_nan(w_in):
        borders_out[:] = np.nan
        return
    if len(w_in) == 0:
        raise DSPFatal("cannot histogram an empty waveform")
    src = np.ascontiguousarray(w_in)  # unit stride: the loops below vectorise
    lo = src[0]
    hi = src[0]
    for v in src:
        if v < lo:
            lo = v
        if v > hi:
            hi = v
    # edges as np.linspace in float64 (numba's formula), stored in the output dtype
    start = np.float64(lo)
    stop = np.float64(hi)
    if m == 0:
        borders_out[0] = start
        return
    step = (stop - start) / m
    for i in range(m):
        borders_out[i] = start + i * step
    borders_out[m] = stop
    delta = (hi - lo) / m
    if delta == 0:
        return
    first = borders_out[0]
    # bin numbers in vectorised chunks; counts in four interleaved copies (no store-to-load
    # stalls between neighbouring samples of the same bin), added up at the end
    pos = np.empty(256, np.int64)
    counts = np.zeros((4, m), np.int64)
    for c0 in range(0, len(src), 256):
        chunk = src[c0 : c0 + 256]
        nc = len(chunk)
        for i in range(nc):
            k = np.floor((chunk[i] - first) / delta)
            # samples at the maximum are not counted; rounding can put one just below it
            # past the last edge
            pos[i] = -1 if chunk[i] == hi else min(int(k), m - 1)
        for i in range(nc):
            if pos[i] >= 0:
                counts[i & 3, pos[i]] += 1
    for k in range(m):
        weights_out[k] = (counts[0, k] + counts[1, k]) + (counts[2, k] + counts[3, k])


@lazy_gufunc(
    [
        "void(float32[:], float32[:], float32[:], float32[:], float32[:], float32)",
        "void(float64[:], float64[:], float64[:], float64[:], float64[:], float64)",
    ],
    "(n),(m),(),(),(),()",
    **GUFUNC_OPTIONS,
)
def histogram_stats(
    weights_in: np.ndarray,
    edges_in: np.ndarray,
    mode_out: np.ndarray,
    max_out: np.ndarray,
    fwhm_out: np.ndarray,
    max_in: float,
) -> None:
    """Mode bin, its left edge and a half width of a histogram.

    weights_in: bin contents; edges_in: len(weights_in)+1 bin edges (any unit);
    mode_out: index of the mode bin (first maximum, or the bin whose left edge is nearest
    max_in when max_in is not NaN); max_out: left edge of that bin (biased low by up to one
    bin); fwhm_out: the larger of the two distances from max_out to the first non-empty bin
    edge at or below half the maximum, searching right from the mode and left from the first
    bin (a half width, not a full width). NaN in weights_in gives NaN outputs.
    """
    mode_out[0] = np.nan
    max_out[0] = np.nan
    fwhm_out[0] = np.nan
    if any_nan(weights_in):
        return
    m = len(weights_in)
    if m + 1 != len(edges_in):
        raise DSPFatal("length edges_in must be exactly 1 + length of weights_in")
    imax = 0
    if np.isnan(max_in):
        for i in range(m):
            if weights_in[i] > weights_in[imax]:
                imax = i
    elif max_in > edges_in[m - 1]:
        imax = m - 1
    else:
        for i in range(m):
            if abs(max_in - edges_in[i]) < abs(max_in - edges_in[imax]):
                imax = i
    mode_out[0] = imax
    max_out[0] = edges_in[imax]
    peak = max_out[0]
    half = 0.5 * weights_in[imax]
    for i in range(imax, m):
        if weights_in[i] <= half and weights_in[i] != 0:
            fwhm_out[0] = abs(peak - edges_in[i])
            break
    for i in range(imax):
        if weights_in[i] >= half and weights_in[i] != 0:
            if fwhm_out[0] < abs(peak - edges_in[i]):
                fwhm_out[0] = abs(peak - edges_in[i])
            break


@numba.njit(**NJIT_OPTIONS)
def _edges_over_range(lo: float, hi: float, borders_out: np.ndarray) -> None:
    """len(borders_out) edges from lo to hi as numba's np.linspace (float64, stored)."""
    m = len(borders_out) - 1
    start = np.float64(lo)
    stop = np.float64(hi)
    if m == 0:
        borders_out[0] = start
        return
    step = (stop - start) / m
    for i in range(m):
        borders_out[i] = start + i * step
    borders_out[m] = stop


@lazy_gufunc(
    [
        "void(float32[:], float32, float32, float32[:], float32[:])",
        "void(float64[:], float64, float64, float64[:], float64[:])",
    ],
    "(n),(),(),(m),(p)",
    **GUFUNC_OPTIONS,
)
def histogram_around_mode(
    w_in: np.ndarray,
    center: float,
    bin_width: float,
    weights_out: np.ndarray,
    borders_out: np.ndarray,
) -> None:
    """Histogram of w_in in len(weights_out) bins of bin_width (unit of w_in) centred on center.

    center NaN: the mode of a first histogram over [min, max) (centre of its fullest bin),
    rounded to a multiple of bin_width (the minimum for a flat waveform). Bin k covers
    [center - (m//2 + 0.5 - k)·bin_width, ... + bin_width); samples outside are not counted.
    DSPFatal if w_in has a NaN or len(borders_out) != len(weights_out) + 1.
    """
    m = len(weights_out)
    if m + 1 != len(borders_out):
        raise DSPFatal("length borders_out must be exactly 1 + length of weights_out")
    if any_nan(np.ascontiguousarray(w_in)):
        raise DSPFatal("input data contains nan")
    mid = np.float64(center)
    if np.isnan(mid):
        weights_out[:] = 0
        lo = np.min(w_in)
        hi = np.max(w_in)
        delta = (hi - lo) / m
        _edges_over_range(lo, hi, borders_out)
        if delta == 0:
            mid = lo
        else:
            for v in w_in:
                if v != hi:
                    k = int(np.floor((v - borders_out[0]) / delta))
                    weights_out[min(k, m - 1)] += 1  # rounding can put one past the end
            mid = borders_out[np.argmax(weights_out)] + 0.5 * delta
            mid = np.round(mid / bin_width) * bin_width
    weights_out[:] = 0
    first = mid - bin_width * (m // 2) - 0.5 * bin_width
    for i in range(m + 1):
        borders_out[i] = first + bin_width * np.float64(i)
    for v in w_in:
        k = int(np.floor((v - borders_out[0]) / bin_width))
        if 0 <= k < m:
            weights_out[k] += 1


@lazy_gufunc(
    [
        "void(float32[:], float32[:], float32, int32, int32, float32[:], float32[:])",
        "void(float64[:], float64[:], float64, int32, int32, float64[:], float64[:])",
    ],
    "(n),(m),(),(),()->(),()",
    **GUFUNC_OPTIONS,
)
def histogram_peakstats(
    weights_in: np.ndarray,
    edges_in: np.ndarray,
    max_in: float,
    skip_zeroes: int,
    width_type: int,
    mode_out: np.ndarray,
    width_out: np.ndarray,
) -> None:
    """Centre of the mode bin and a width of the peak of a histogram (unit of the edges).

    Mode bin: the first fullest bin, or the bin holding max_in when it is not NaN (clamped to
    the first/last bin). Each half width runs from the mode to the near edge of the first bin
    at or below half the mode's content, walking out from the mode bin (itself included;
    empty bins are skipped when skip_zeroes), or to the outer edge if none is.
    width_type: 0 left+right, 1 min, 2 max, 3 left, 4 right half width.
    DSPFatal if weights_in has a NaN, len(edges_in) != len(weights_in) + 1 or width_type
    is not 0..4.
    """
    mode_out[0] = np.nan
    width_out[0] = np.nan
    if any_nan(np.ascontiguousarray(weights_in)):
        raise DSPFatal("nan in input weights")
    m = len(weights_in)
    if m + 1 != len(edges_in):
        raise DSPFatal("length edges_in must be exactly 1 + length of weights_in")
    imax = 0
    if np.isnan(max_in):
        for i in range(m):
            if weights_in[i] > weights_in[imax]:
                imax = i
    elif max_in > edges_in[m]:
        imax = m - 1
    elif max_in < edges_in[0]:
        imax = 0
    else:
        for i in range(m):
            if edges_in[i] <= max_in < edges_in[i + 1]:
                imax = i
                break
    mode_out[0] = edges_in[imax] + 0.5 * (edges_in[imax + 1] - edges_in[imax])
    mode = mode_out[0]
    half = 0.5 * weights_in[imax]
    right = abs(mode - edges_in[m])
    for i in range(imax, m):
        if skip_zeroes and weights_in[i] == 0:
            continue
        if weights_in[i] <= half:
            right = abs(mode - edges_in[i])
            break
    left = abs(mode - edges_in[0])
    for i in range(imax, -1, -1):
        if skip_zeroes and weights_in[i] == 0:
            continue
        if weights_in[i] <= half:
            left = abs(mode - edges_in[i + 1])
            break
    if width_type == 0:
        width_out[0] = np.float64(left) + np.float64(right)
    elif width_type == 1:
        width_out[0] = min(left, right)
    elif width_type == 2:
        width_out[0] = max(left, right)
    elif width_type == 3:
        width_out[0] = left
    elif width_type == 4:
        width_out[0] = right
    else:
        raise DSPFatal("Unknown width_type, must be [0...4]")
