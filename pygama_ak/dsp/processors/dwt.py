"""discrete_wavelet_transform: multilevel Haar (= db1) wavelet coefficients of a waveform.

Restates pywt's ``downcoef(part, data, 'haar', mode='symmetric', level)`` for the wavelets
dspeed accepts ('h' haar, 'd' db1, the same filters): at each level the signal is extended by
half-sample symmetry (x[n] = x[n−1] for odd n) and split into c·x[2k] + c·x[2k+1]
(approximation) and c·x[2k] − c·x[2k+1] (detail), c = 1/√2 in the waveform's precision;
levels before the last keep the approximation. pywt itself is not needed.
"""

from __future__ import annotations

import numpy as np

from ..errors import DSPFatal
from ._util import GUFUNC_OPTIONS, any_nan
from .gufunc import lazy_gufunc

_SQRT_HALF = 0.7071067811865476  # pywt's haar filter tap


@lazy_gufunc(
    [
        "void(float32[:], int32, int8, int8, float32[:])",
        "void(float64[:], int64, int8, int8, float64[:])",
    ],
    "(n),(),(),(),(m)",
    **GUFUNC_OPTIONS,
)
def discrete_wavelet_transform(
    w_in: np.ndarray, level: int, wave_type: int, coeff: int, w_out: np.ndarray
) -> None:
    """Haar wavelet coefficients of w_in after ``level`` decompositions.

    w_in: waveform (n samples); level: number of decompositions (> 0); wave_type: ord('h')
    (haar) or ord('d') (db1); coeff: ord('a') approximation or ord('d') detail coefficients;
    w_out: the m coefficients (m = ⌈n/2^level⌉ by repeated (len+1)//2). DSPFatal if level ≤ 0,
    for another wavelet or coefficient kind, or a wrong m; NaN output for a NaN input.
    """
    w_out[:] = np.nan
    if level <= 0:
        raise DSPFatal("The level must be a positive integer")
    if any_nan(w_in):
        return
    if wave_type != 104 and wave_type != 100:  # 'h', 'd'
        raise DSPFatal("wave_type must be 'h' (haar) or 'd' (db1)")
    if coeff != 97 and coeff != 100:  # 'a', 'd'
        raise DSPFatal("coeff must be 'a' (approximation) or 'd' (detail)")
    tap = w_out.dtype.type(_SQRT_HALF)
    signal = w_in.copy()
    n = signal.shape[0]
    for lev in range(level):
        half = (n + 1) // 2
        detail = coeff == 100 and lev == level - 1
        for k in range(half):
            first = signal[2 * k]
            second = signal[2 * k + 1] if 2 * k + 1 < n else first  # symmetric extension
            if detail:
                signal[k] = -tap * second + tap * first
            else:
                signal[k] = tap * second + tap * first
        n = half
    if n == 1:
        w_out[:] = signal[0]
    elif n == w_out.shape[0]:
        w_out[:] = signal[:n]
    else:
        raise DSPFatal("w_out must have the length of the coefficients at this level")
