"""min_max: first-occurrence argmin/argmax and the extreme values of each waveform.

The search runs on integer keys (the float's bits mapped to a monotonic signed integer), whose
min/max reductions vectorise without reordering any float comparison; a NaN anywhere shows up
as a NaN bit pattern at one end of the key range, so no separate NaN scan is needed.
"""

from __future__ import annotations

import numba
import numpy as np
from numba import types
from numba.extending import overload

from ._util import GUFUNC_OPTIONS, NJIT_OPTIONS, any_nan
from .gufunc import lazy_gufunc

_BLOCK = 256
_KEY_MAX = np.int64(2**63 - 1)  # float64 keys use the whole int64 range
_KEY_MIN = np.int64(-(2**63))


def float_bits(values: np.ndarray) -> np.ndarray:
    """The float buffer viewed as signed integers of the same width."""
    return values.view(np.int32 if values.dtype == np.float32 else np.int64)


@overload(float_bits)
def _float_bits_numba(values):  # no annotations: numba compares them with the lambdas'
    if values.dtype == types.float32:
        return lambda values: values.view(np.int32)
    if values.dtype == types.float64:
        return lambda values: values.view(np.int64)
    return None


@numba.njit(**NJIT_OPTIONS)
def _block_key_range(bits: np.ndarray, shift: int, mask: int) -> tuple[int, int]:
    """Smallest and largest monotonic key of a block of float bits."""
    lo = _KEY_MAX
    hi = _KEY_MIN
    for j in range(bits.shape[0]):
        b = np.int64(bits[j])
        key = b ^ ((b >> shift) & mask)
        lo = key if key < lo else lo
        hi = key if key > hi else hi
    return lo, hi


@numba.njit(**NJIT_OPTIONS)
def _first_key(bits: np.ndarray, start: int, target: int, shift: int, mask: int) -> int:
    """Index of the first element from ``start`` on whose key equals ``target``."""
    for j in range(start, bits.shape[0]):
        b = np.int64(bits[j])
        if b ^ ((b >> shift) & mask) == target:
            return j
    return start


@numba.njit(**NJIT_OPTIONS)
def _first_zero(w: np.ndarray) -> int:
    """Index of the first ±0 (which compare equal as floats)."""
    for j in range(w.shape[0]):
        if w[j] == 0:
            return j
    return 0


@numba.njit(**NJIT_OPTIONS)
def arg_extrema(w: np.ndarray) -> tuple[int, int, bool]:
    """(index of the first minimum, index of the first maximum, has NaN) of a C-contiguous
    float array, with float comparison semantics (the first of equal values wins)."""
    bits = float_bits(w)
    shift = bits.itemsize * 8 - 1
    mask = ~(np.int64(-1) << shift)
    n = w.shape[0]
    kmin = _KEY_MAX
    kmax = _KEY_MIN
    smin = smax = 0
    for start in range(0, n, _BLOCK):
        lo, hi = _block_key_range(bits[start : start + _BLOCK], shift, mask)
        if lo < kmin:
            kmin = lo
            smin = start
        if hi > kmax:
            kmax = hi
            smax = start
    imin = _first_key(bits, smin, kmin, shift, mask)
    imax = _first_key(bits, smax, kmax, shift, mask)
    if np.isnan(w[imin]) or np.isnan(w[imax]):
        return imin, imax, True
    # keys order −0 below +0, floats do not: the first zero of either sign wins
    if w[imin] == 0:
        imin = _first_zero(w)
    if w[imax] == 0:
        imax = _first_zero(w)
    return imin, imax, False


@lazy_gufunc(
    [
        "void(float32[:], float32[:], float32[:], float32[:], float32[:])",
        "void(float64[:], float64[:], float64[:], float64[:], float64[:])",
    ],
    "(n)->(),(),(),()",
    **GUFUNC_OPTIONS,
)
def min_max(
    w_in: np.ndarray, t_min: np.ndarray, t_max: np.ndarray, a_min: np.ndarray, a_max: np.ndarray
) -> None:
    """Sample indices (t_min, t_max: samples) and values (a_min, a_max: ADC) of the first
    minimum and first maximum of w_in. NaN outputs if w_in holds a NaN (or is empty)."""
    t_min[0] = t_max[0] = a_min[0] = a_max[0] = np.nan
    if w_in.shape[0] == 0:
        return
    w = np.ascontiguousarray(w_in)
    imin, imax, nan = arg_extrema(w)
    if nan:
        return
    t_min[0] = imin
    t_max[0] = imax
    a_min[0] = w[imin]
    a_max[0] = w[imax]


@lazy_gufunc(
    [
        "void(float32[:], float32, float32, float32[:])",
        "void(float64[:], float64, float64, float64[:])",
    ],
    "(n),(),()->(n)",
    **GUFUNC_OPTIONS,
)
def min_max_norm(w_in: np.ndarray, a_min: float, a_max: float, w_out: np.ndarray) -> None:
    """w_in / max(|a_min|, |a_max|) (in the waveform's type); a copy if either is 0.

    a_min, a_max: the waveform's extremes (ADC, e.g. from min_max). NaN output for a NaN in
    w_in, a_min or a_max.
    """
    w_out[:] = np.nan
    if any_nan(w_in):
        return
    low = abs(a_min)
    high = abs(a_max)
    if high == 0 or low == 0:
        w_out[:] = w_in
    elif high >= low:
        for i in range(w_in.shape[0]):
            w_out[i] = w_in[i] / high
    elif high < low:
        for i in range(w_in.shape[0]):
            w_out[i] = w_in[i] / low
