"""Rounding to multiples: round_to_nearest, floor_to_nearest, ceil_to_nearest, trunc_to_nearest.

The engine uses them for ``round(x, to_nearest)`` and friends. Elementwise gufuncs over the
same ten types as dspeed's ``@vectorize`` versions (cached on disk, unlike a DUFunc). Integer
inputs are divided in float64 and the result is cast back with numba's conversions, so
out-of-range cases wrap exactly as dspeed's do; ``round`` is half-to-even through an int64.
"""

from __future__ import annotations

import numpy as np

from ._util import GUFUNC_OPTIONS
from .gufunc import lazy_gufunc

_TYPES = ["uint8", "uint16", "uint32", "uint64", "int8", "int16", "int32", "int64"]
_TYPES += ["float32", "float64"]
_SIGNATURES = [f"void({t}, {t}, {t}[:])" for t in _TYPES]


@lazy_gufunc(_SIGNATURES, "(),()->()", **GUFUNC_OPTIONS)
def round_to_nearest(val: float, to_nearest: float, out: np.ndarray) -> None:
    """The multiple of to_nearest closest to val, ties to even (units of val); NaN stays NaN."""
    if np.isnan(val):
        out[0] = np.nan
    else:
        steps = round(val / to_nearest)  # an int64, as Python's round
        out[0] = to_nearest * steps


@lazy_gufunc(_SIGNATURES, "(),()->()", **GUFUNC_OPTIONS)
def floor_to_nearest(val: float, to_nearest: float, out: np.ndarray) -> None:
    """The largest multiple of to_nearest ≤ val (units of val); NaN stays NaN."""
    if np.isnan(val):
        out[0] = np.nan
    else:
        out[0] = to_nearest * np.floor(val / to_nearest)


@lazy_gufunc(_SIGNATURES, "(),()->()", **GUFUNC_OPTIONS)
def ceil_to_nearest(val: float, to_nearest: float, out: np.ndarray) -> None:
    """The smallest multiple of to_nearest ≥ val (units of val); NaN stays NaN."""
    if np.isnan(val):
        out[0] = np.nan
    else:
        out[0] = to_nearest * np.ceil(val / to_nearest)


@lazy_gufunc(_SIGNATURES, "(),()->()", **GUFUNC_OPTIONS)
def trunc_to_nearest(val: float, to_nearest: float, out: np.ndarray) -> None:
    """The multiple of to_nearest closest to val towards zero (units of val); NaN stays NaN."""
    if np.isnan(val):
        out[0] = np.nan
    else:
        out[0] = to_nearest * np.trunc(val / to_nearest)
