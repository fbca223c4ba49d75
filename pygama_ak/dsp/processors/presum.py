"""presum: down-sample a waveform by summing (or averaging) chunks of samples."""

from __future__ import annotations

import numpy as np

from ..errors import DSPFatal
from ._util import GUFUNC_OPTIONS, any_nan
from .gufunc import lazy_gufunc


@lazy_gufunc(
    [
        "void(float32[:], float32, float32[:], float32[:])",
        "void(float64[:], float64, float64[:], float64[:])",
    ],
    "(n), (), (), (m)",
    **GUFUNC_OPTIONS,
)
def presum(w_in: np.ndarray, do_norm: float, ps_fact: np.ndarray, w_out: np.ndarray) -> None:
    """w_out[i] = Σ of the k = len(w_in)//len(w_out) samples from i·k (÷k each if do_norm).

    w_in: waveform (n samples); do_norm: 0 (sum) or 1 (mean, each sample divided by k before
    the sum); ps_fact (output, per row): k; w_out: m samples, summed in the waveform's type.
    The last len(w_in) − m·k samples are dropped. NaN outputs for a NaN input; DSPFatal if
    do_norm is not 0 or 1.
    """
    w_out[:] = np.nan
    ps_fact[0] = np.nan
    if any_nan(w_in):
        return
    if do_norm != 0 and do_norm != 1:
        raise DSPFatal("do_norm type not found.")
    factor = w_in.shape[0] // w_out.shape[0]
    ps_fact[0] = factor
    k = ps_fact[0]
    for i in range(w_out.shape[0]):
        start = i * factor
        if do_norm == 1:
            acc = w_in[start] / k
            for j in range(start + 1, start + factor):
                acc += w_in[j] / k
        else:
            acc = w_in[start]
            for j in range(start + 1, start + factor):
                acc += w_in[j]
        w_out[i] = acc
