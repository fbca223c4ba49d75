"""Sample counts: saturation, time_over_threshold and mean_below_threshold."""

from __future__ import annotations

import numba
import numpy as np

from ..errors import DSPFatal
from ._util import GUFUNC_OPTIONS, NJIT_OPTIONS, any_nan
from .gufunc import lazy_gufunc


@numba.njit(**NJIT_OPTIONS)
def _count_equal(w: np.ndarray, value: float) -> int:
    """Number of samples equal to value."""
    count = 0
    for i in range(w.shape[0]):
        count += w[i] == value
    return count


@lazy_gufunc(
    [
        "void(float32[:], float32, float32[:], float32[:])",
        "void(float64[:], float64, float64[:], float64[:])",
    ],
    "(n),()->(),()",
    **GUFUNC_OPTIONS,
)
def saturation(
    w_in: np.ndarray, bit_depth_in: float, n_lo_out: np.ndarray, n_hi_out: np.ndarray
) -> None:
    """Numbers of samples at the ADC's low (0) and high limits (w_in: ADC; bit_depth_in: bits).

    The high limit is dspeed's 2^bits − bits (not 2^bits − 1). NaN outputs for a NaN input;
    DSPFatal if the bit depth is not a positive integer.
    """
    n_lo_out[0] = np.nan
    n_hi_out[0] = np.nan
    if np.isnan(bit_depth_in):
        return
    w = np.ascontiguousarray(w_in)
    if any_nan(w):
        return
    if np.floor(bit_depth_in) != bit_depth_in:
        raise DSPFatal("The bit depth is not an integer")
    if bit_depth_in <= 0:
        raise DSPFatal("The bit depth is not positive")
    bits = int(bit_depth_in)
    # int64 arithmetic as dspeed (wraps for absurd bit depths)
    high = np.float64(np.power(2, bits) - bits)
    n_lo_out[0] = _count_equal(w, 0.0)
    # a sample counts as low first (dspeed's elif), so a zero high limit counts nothing
    n_hi_out[0] = _count_equal(w, high) if high != 0 else 0


@numba.njit(**NJIT_OPTIONS)
def _count_above(w: np.ndarray, threshold: float) -> int:
    count = 0
    for i in range(w.shape[0]):
        count += w[i] > threshold
    return count


@lazy_gufunc(
    ["void(float32[:], float32, float32[:])", "void(float64[:], float64, float64[:])"],
    "(n),()->()",
    **GUFUNC_OPTIONS,
)
def time_over_threshold(w_in: np.ndarray, a_threshold: float, n_samples: np.ndarray) -> None:
    """Number of samples strictly above a_threshold (w_in, a_threshold: ADC; out: samples).

    NaN for a NaN input.
    """
    n_samples[0] = np.nan
    if np.isnan(a_threshold):
        return
    w = np.ascontiguousarray(w_in)
    if any_nan(w):
        return
    n_samples[0] = _count_above(w, a_threshold)


@lazy_gufunc(
    ["void(float32[:], float32, float32[:])", "void(float64[:], float64, float64[:])"],
    "(n),()->()",
    **GUFUNC_OPTIONS,
)
def mean_below_threshold(w_in: np.ndarray, threshold: float, result: np.ndarray) -> None:
    """Mean of the samples strictly below threshold (all ADC), summed in float64 in order.

    NaN if no sample is below, or for a NaN input.
    """
    result[0] = np.nan
    if np.isnan(threshold):
        return
    w = np.ascontiguousarray(w_in)
    if any_nan(w):
        return
    total = 0.0
    count = 0
    for i in range(w.shape[0]):
        below = w[i] < threshold
        # branch-free; adding +0.0 is exact since total (from +0.0) is never −0.0
        total += w[i] if below else 0.0
        count += below
    if count:
        result[0] = total / count
