"""Waveform corrections: ADC integral non-linearity (inl_correction) and a fixed correction
array subtracted over a sample range (wf_correction)."""

from __future__ import annotations

import numpy as np

from ..errors import DSPFatal
from ._util import GUFUNC_OPTIONS, any_nan
from .gufunc import lazy_gufunc


@lazy_gufunc(
    ["void(int32[:], float32[:], float32[:])", "void(int32[:], float64[:], float64[:])"],
    "(n),(p)->(n)",
    **GUFUNC_OPTIONS,
)
def inl_correction(w_in: np.ndarray, inl: np.ndarray, w_out: np.ndarray) -> None:
    """w_out[i] = w_in[i] + inl[w_in[i]] (sum in float64, stored in inl's type).

    w_in: int32 ADC codes; inl: correction per code (ADC). NaN output if inl holds a NaN;
    DSPFatal if a code is outside [0, len(inl)).
    """
    w_out[:] = np.nan
    if any_nan(inl):
        return
    for i in range(w_in.shape[0]):
        code = w_in[i]
        if 0 <= code < inl.shape[0]:
            w_out[i] = np.float64(code) + np.float64(inl[code])
        else:
            raise DSPFatal("ADC code out of range for the INL array")


@lazy_gufunc(
    [
        "void(float32[:], float32[:], int32, int32, float32[:])",
        "void(float64[:], float64[:], int32, int32, float64[:])",
    ],
    "(n),(m),(),()->(n)",
    **GUFUNC_OPTIONS,
)
def wf_correction(
    w_in: np.ndarray, w_corr: np.ndarray, start_idx: int, stop_idx: int, w_out: np.ndarray
) -> None:
    """w_out = w_in with w_corr[: stop−start] subtracted from samples [start_idx, stop_idx).

    Indices in samples. NaN output for a NaN in w_in or w_corr; DSPFatal unless
    0 ≤ start_idx < stop_idx ≤ len(w_in) and stop_idx − start_idx ≤ len(w_corr).
    """
    w_out[:] = np.nan
    if any_nan(w_in) or any_nan(w_corr):
        return
    n = w_in.shape[0]
    if start_idx < 0:
        raise DSPFatal("start_idx must be positive")
    if start_idx > n:
        raise DSPFatal("start_idx must be shorter than input waveform size")
    if stop_idx <= 0:
        raise DSPFatal("stop_idx must be positive")
    if stop_idx > n:
        raise DSPFatal("stop_idx must be shorter than input waveform size")
    if start_idx >= stop_idx:
        raise DSPFatal("start_idx must be smaller than stop_idx")
    if stop_idx - start_idx > w_corr.shape[0]:
        raise DSPFatal("stop_idx - start_idx must be smaller than len(w_corr)")
    for i in range(n):
        w_out[i] = w_in[i]
    for i in range(start_idx, stop_idx):
        w_out[i] = w_in[i] - w_corr[i - start_idx]
