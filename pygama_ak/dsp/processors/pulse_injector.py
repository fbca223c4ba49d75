"""Add model pulses to waveforms (simulation, efficiency studies): logistic rise with
exponential decay, exponential rise and decay, Gumbel (PMT-like) and generalised logistic.

Times are in samples, amplitudes in the unit of the waveform. Every processor returns an
all-NaN waveform if the waveform or a parameter is NaN.
"""

from __future__ import annotations

from math import exp, log

import numpy as np

from ._util import GUFUNC_OPTIONS, any_nan
from .gufunc import lazy_gufunc

_FOUR_PARAMS = [
    "void(float32[:], float32, float32, float32, float32, float32[:])",
    "void(float64[:], float64, float64, float64, float64, float64[:])",
]


@lazy_gufunc(_FOUR_PARAMS, "(n),(),(),(),()->(n)", **GUFUNC_OPTIONS)
def inject_sig_pulse(
    wf_in: np.ndarray, t0: float, rt: float, a: float, decay: float, wf_out: np.ndarray
) -> None:
    """wf_in + a·σ(k·(t - t0 - rt/2))·exp(-(t - t0)/decay), σ the logistic function with
    k = 4·ln(99)/rt (1 % to 99 % in rt samples); t0: start, rt: rise time, decay: samples."""
    wf_out[:] = np.nan
    if any_nan(np.ascontiguousarray(wf_in)):
        return
    if np.isnan(rt) or np.isnan(t0) or np.isnan(a) or np.isnan(decay):
        return
    steepness = 4 * log(99) / rt
    middle = t0 + rt / 2
    for t in range(len(wf_out)):
        rise = a / (1 + exp(-steepness * (t - middle)))
        wf_out[t] = wf_in[t] + rise * exp(-(1 / decay) * (t - t0))


@lazy_gufunc(_FOUR_PARAMS, "(n),(),(),(),()->(n)", **GUFUNC_OPTIONS)
def inject_exp_pulse(
    wf_in: np.ndarray, t0: float, rt: float, a: float, decay: float, wf_out: np.ndarray
) -> None:
    """wf_in plus a pulse rising as exp((t - t0 - rt)/rt) up to t0 and decaying as
    a·exp(-(t - t0)/decay) after t0 + rt (samples). As dspeed, nothing is added for
    t0 < t ≤ t0 + rt."""
    wf_out[:] = np.nan
    if any_nan(np.ascontiguousarray(wf_in)):
        return
    if np.isnan(rt) or np.isnan(t0) or np.isnan(a) or np.isnan(decay):
        return
    wf_out[:] = wf_in
    for t in range(len(wf_out)):
        fall = exp(-(1 / decay) * (t - t0))
        if t <= t0 and t <= t0 + rt:
            wf_out[t] = wf_out[t] + a * exp((t - t0 - rt) / rt) * fall
        elif t > t0 + rt:
            wf_out[t] = wf_out[t] + a * fall


@lazy_gufunc(
    [
        "void(float32[:], float32, float32, float32, float32[:])",
        "void(float64[:], float64, float64, float64, float64[:])",
    ],
    "(n),(),(),()->(n)",
    **GUFUNC_OPTIONS,
)
def inject_gumbel(wf_in: np.ndarray, a: float, t0: float, beta: float, wf_out: np.ndarray) -> None:
    """wf_in + (a/beta)·exp(-(z + exp(-z))), z = (t - t0 - 2·beta)/beta (Gumbel density of
    area a, mode at t0 + 2·beta samples), added on samples int(t0) ≤ t < int(t0 + 10·beta)
    only (within the waveform)."""
    wf_out[:] = np.nan
    if any_nan(np.ascontiguousarray(wf_in)):
        return
    if np.isnan(a) or np.isnan(t0) or np.isnan(beta):
        return
    wf_out[:] = wf_in
    mode = t0 + 2 * beta
    first = max(t0, 0.0)
    stop = min(mode + 8 * beta, len(wf_in))
    for t in range(int(first), int(stop)):
        z = (t - mode) / beta
        wf_out[t] = wf_out[t] + a / beta * np.exp(-(z + np.exp(-z)))


@lazy_gufunc(
    [
        "void(float32[:], float32, float32, float32, float32, float32, float32, float32[:])",
        "void(float64[:], float64, float64, float64, float64, float64, float64, float64[:])",
    ],
    "(n),(),(),(),(),(),()->(n)",
    **GUFUNC_OPTIONS,
)
def inject_general_logistic(
    wf_in: np.ndarray,
    a: float,
    t0: float,
    rt: float,
    q: float,
    v: float,
    decay: float,
    wf_out: np.ndarray,
) -> None:
    """wf_in + a / (1 + q·exp(-k·(t - t0 - rt/2)))^(1/v) · exp(-(t - t0)/decay) with
    k = 4·ln(99)/rt (generalised logistic rise; q, v shape it; times in samples)."""
    wf_out[:] = np.nan
    if any_nan(np.ascontiguousarray(wf_in)):
        return
    if np.isnan(a) or np.isnan(t0) or np.isnan(rt) or np.isnan(q) or np.isnan(v):
        return
    if np.isnan(decay):
        return
    steepness = 4 * np.log(99) / rt
    for t in range(len(wf_out)):
        rise = a / (1 + q * np.exp(-steepness * (t - t0 - rt / 2))) ** (1 / v)
        wf_out[t] = wf_in[t] + rise * np.exp(-(1 / decay) * (t - t0))
