"""wf_alignment: cut a fixed-size window of a waveform centred on a centroid."""

from __future__ import annotations

import numba
import numpy as np

from ..errors import DSPFatal
from ._util import GUFUNC_OPTIONS, NJIT_OPTIONS, any_nan
from .gufunc import lazy_gufunc


@numba.njit(**NJIT_OPTIONS)
def _copy_window(w_in: np.ndarray, lo: int, hi: int, w_out: np.ndarray, at: int) -> None:
    """w_out[at:] = w_in[lo:hi] with numpy's slice rules; DSPFatal if the lengths differ."""
    src = w_in[lo:hi]
    dst = w_out[at:]
    if len(src) != len(dst):
        raise DSPFatal("the aligned window does not fit the output (len(w_out) must be size)")
    dst[:] = src


@lazy_gufunc(
    [
        "void(float32[:], float32, float32, float32, float32[:])",
        "void(float64[:], float64, float64, float64, float64[:])",
    ],
    "(n),(),(),(),(m)",
    **GUFUNC_OPTIONS,
)
def wf_alignment(
    w_in: np.ndarray, centroid: float, shift: float, size: float, w_out: np.ndarray
) -> None:
    """Window of size samples (len(w_out) must be size) centred on centroid (samples).

    centroid NaN, or too close to either end: the first size samples. A centroid within
    shift samples before size/2: the start of w_in, padded in front with w_in[0].
    NaN output if w_in has a NaN; DSPFatal if shift or size is NaN, shift < 0,
    shift > len(w_in), size ≤ 0 or size > len(w_in).
    """
    w_out[:] = np.nan
    if any_nan(np.ascontiguousarray(w_in)):
        return
    n = len(w_in)
    if np.isnan(shift):
        raise DSPFatal("shift is nan")
    if shift < 0:
        raise DSPFatal("shift must be positive")
    if shift > n:
        raise DSPFatal("shift must be shorter than input waveform size")
    if np.isnan(size):
        raise DSPFatal("size is nan")
    if size <= 0:
        raise DSPFatal("size must be positive")
    if size > n:
        raise DSPFatal("size must be shorter than input waveform size")
    half = size / 2
    if np.isnan(centroid):
        _copy_window(w_in, 0, int(size), w_out, 0)
    elif half <= centroid < n - half:
        _copy_window(w_in, int(centroid - half), int(centroid + half), w_out, 0)
    elif half - shift < centroid < half:
        n_front = int((size + 1) / 2 - centroid)
        w_out[:n_front] = w_in[0]
        _copy_window(w_in, 0, int(centroid + half), w_out, n_front)
    else:
        _copy_window(w_in, 0, int(size), w_out, 0)
