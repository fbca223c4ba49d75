"""Histogram of a waveform's samples and the mode/width of such a histogram."""

from __future__ import annotations

import numba
import numpy as np

from ..errors import DSPFatal
from ._util import GUFUNC_OPTIONS, any_nan


@numba.guvectorize(
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


@numba.guvectorize(
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
