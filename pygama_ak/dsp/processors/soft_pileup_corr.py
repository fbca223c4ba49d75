"""Soft pile-up correction: fit a + b·exp(−i/τ) (or a·exp(−i/τ) + baseline) to the first
n samples of a waveform and subtract it from the whole waveform."""

from __future__ import annotations

import numpy as np

from ..errors import DSPFatal
from ._util import GUFUNC_OPTIONS, any_nan
from .gufunc import lazy_gufunc


@lazy_gufunc(
    [
        "void(float32[:], float32, float32, float32[:])",
        "void(float64[:], float64, float64, float64[:])",
    ],
    "(n),(),()->(n)",
    **GUFUNC_OPTIONS,
)
def soft_pileup_corr(w_in: np.ndarray, n_in: float, tau_in: float, w_out: np.ndarray) -> None:
    """w − (a·exp(−i/τ) + b), with a, b least-squares fitted on the first n_in samples.

    w_in, w_out: waveform; n_in: number of samples (integer valued); tau_in: samples. Float64
    sums. NaN output for a NaN input; DSPFatal unless n_in is an integer in [2, len(w_in)].
    """
    w_out[:] = np.nan
    if any_nan(w_in) or np.isnan(n_in) or np.isnan(tau_in):
        return
    if not np.floor(n_in) == n_in:
        raise DSPFatal("The number of samples is not an integer")
    if n_in < 2:
        raise DSPFatal("The number of samples is not enough for a fit")
    if n_in > w_in.shape[0]:
        raise DSPFatal("The number of samples is more than the waveform length")
    count = 0.0
    sum_e = 0.0
    sum_e2 = 0.0
    sum_ew = 0.0
    sum_w = 0.0
    for i in range(int(n_in)):
        count += 1.0
        sum_e += np.exp(-1.0 * i / tau_in)
        sum_e2 += np.exp(-2.0 * i / tau_in)
        sum_ew += np.exp(-1.0 * i / tau_in) * w_in[i]
        sum_w += w_in[i]
    offset = (
        sum_w - sum_e * (sum_ew * count - sum_e * sum_w) / (sum_e2 * count - sum_e * sum_e)
    ) / count
    amplitude = (sum_ew - offset * sum_e) / sum_e2
    for i in range(w_in.shape[0]):
        w_out[i] = w_in[i] - (amplitude * np.exp(-1.0 * i / tau_in) + offset)


@lazy_gufunc(
    [
        "void(float32[:], float32, float32, float32, float32[:])",
        "void(float64[:], float64, float64, float64, float64[:])",
    ],
    "(n),(),(),()->(n)",
    **GUFUNC_OPTIONS,
)
def soft_pileup_corr_bl(
    w_in: np.ndarray, n_in: float, tau_in: float, b_in: float, w_out: np.ndarray
) -> None:
    """w − (a·exp(−i/τ) + b_in), with a least-squares fitted on the first n_in samples.

    w_in, w_out: waveform; n_in: number of samples (integer valued); tau_in: samples; b_in:
    the known baseline (ADC). NaN output for a NaN input; DSPFatal unless n_in is an integer in
    [1, len(w_in)].
    """
    w_out[:] = np.nan
    if any_nan(w_in) or np.isnan(n_in) or np.isnan(tau_in) or np.isnan(b_in):
        return
    if not np.floor(n_in) == n_in:
        raise DSPFatal("The number of samples is not an integer")
    if n_in < 1:
        raise DSPFatal("The number of samples is not enough for a fit")
    if n_in > w_in.shape[0]:
        raise DSPFatal("The number of samples is more than the waveform length")
    sum_e = 0.0
    sum_e2 = 0.0
    sum_ew = 0.0
    for i in range(int(n_in)):
        sum_e += np.exp(-1.0 * i / tau_in)
        sum_e2 += np.exp(-2.0 * i / tau_in)
        sum_ew += np.exp(-1.0 * i / tau_in) * w_in[i]
    amplitude = (sum_ew - b_in * sum_e) / sum_e2
    for i in range(w_in.shape[0]):
        w_out[i] = w_in[i] - (amplitude * np.exp(-1.0 * i / tau_in) + b_in)
