"""Recursive (IIR) filters: the generic recursive_filter and the scipy-designed factories.

``recursive_filter`` runs y[i] = (Σ a[j]·x[i−j] − Σ_{j≥1} b[j]·y[i−j]) / b[0] in float64 and
stores in the waveform's type; samples before the start are ``init_in`` (input) and
``init_out`` (output). ``iir_filter``, ``notch_filter`` and ``peak_filter`` design ``(a, b)``
with scipy.signal once, at chain build, and return a ``(n)->(n)`` block processor.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import numpy as np

from ..errors import DSPFatal
from ..factory import VariableInfo
from . import block_processor
from ._util import GUFUNC_OPTIONS, any_nan, float_dtype
from .gufunc import lazy_gufunc


@lazy_gufunc(
    [
        "void(float32[:], float64[:], float64[:], float32, float32, float32[:])",
        "void(float64[:], float64[:], float64[:], float64, float64, float64[:])",
    ],
    "(n),(p),(q),(),()->(n)",
    **GUFUNC_OPTIONS,
)
def recursive_filter(
    w_in: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    init_in: float,
    init_out: float,
    w_out: np.ndarray,
) -> None:
    """IIR filter y[i] = (Σ_j a[j]·x[i−j] − Σ_{j≥1} b[j]·y[i−j]) / b[0] (float64 recursion).

    w_in, w_out: waveform (samples); a: feed-forward (numerator) and b: feedback (denominator)
    coefficients; x[i<0] = init_in and y[i<0] = init_out. NaN output if any input is NaN;
    DSPFatal if b is empty or the waveform is not longer than b.
    """
    w_out[:] = np.nan
    if any_nan(w_in) or any_nan(a) or any_nan(b) or np.isnan(init_in) or np.isnan(init_out):
        return
    n_b = b.shape[0]
    if n_b == 0:
        raise DSPFatal("b cannot be scalar")
    if w_in.shape[0] <= n_b:
        raise DSPFatal("The length of the waveform must be larger than len(b) for the filter")
    history = np.full(n_b, np.float64(init_out))  # y[i−n_b+1 .. i] as a ring
    for i in range(w_in.shape[0]):
        slot = i % n_b
        acc = 0.0
        for j in range(a.shape[0]):
            if j <= i:
                acc += a[j] * w_in[i - j]
            else:
                acc += a[j] * init_in
        for j in range(1, n_b):
            acc -= b[j] * history[(slot - j) % n_b]
        acc /= b[0]
        history[slot] = acc
        w_out[i] = acc


def _run_filter(a: np.ndarray, b: np.ndarray, gain: float | None) -> Any:
    """A ``(n)->(n)`` block processor running recursive_filter with fixed (a, b).

    init_in = x[0]; init_out = gain·x[0] (gain None: 0).
    """

    # dspeed 2.4.3's wrapper lists "ff->f"/"dd->d" for this one-input signature; we list
    # the numpy-consistent "f->f"/"d->d" that the engine's type selection needs
    @block_processor("(n)->(n)", ["f->f", "d->d"])
    def iir(w_in: np.ndarray, w_out: np.ndarray | None = None) -> np.ndarray | None:
        first = np.asarray(w_in)[..., 0]
        init_out = 0 if gain is None else gain * first
        given = w_out is not None
        # zeros, not empty: numpy casts the output's old content into the float64 loop's
        # buffer, and uninitialised memory may hold signalling NaNs (a RuntimeWarning)
        out = w_out if given else np.zeros(np.shape(w_in), float_dtype(w_in))
        recursive_filter(w_in, a, b, first, init_out, out)
        return None if given else out

    iir.coefficients = (a, b)  # type: ignore[attr-defined]
    return iir


def _sampling_frequency(f_samp: Any) -> Any:
    """1/period for a chain variable, the value itself otherwise (Quantity, float or None)."""
    if isinstance(f_samp, VariableInfo):
        if f_samp.period is None:
            raise DSPFatal(f"{f_samp.name} has no sampling period")
        return 1 / f_samp.period
    return f_samp


def _fraction_of_nyquist(freq: Any, f_samp: Any) -> float:
    value = float(2 * freq / f_samp) if f_samp is not None else freq
    if not 0 <= value <= 1:
        raise DSPFatal("Critical frequency must be positive and < nyquist frequency")
    return value


def iir_filter(
    freq: Any,
    order: int,
    rp: float | None = None,
    rs: float | None = None,
    f_samp: Any = None,
    ftype: str = "butter",
    btype: str = "lowpass",
) -> Any:
    """Factory: scipy.signal.iirfilter design run through recursive_filter, ``(n)->(n)``.

    freq: critical frequency (Quantity such as 15 MHz, or a fraction of Nyquist without
    f_samp; two values for band filters); order; rp, rs: ripple / attenuation (dB) for
    Chebyshev/elliptic; f_samp: sampling frequency or a chain variable (its 1/period);
    ftype: butter, cheby1, cheby2, ellip, bessel; btype: lowpass, highpass, bandpass, bandstop.
    init_in = x[0], init_out = x[0]·Σa/Σb (the DC steady state). Differences from dspeed
    2.4.3: keyword init args (``ftype=``, ``btype=``) are honoured (dspeed drops them), and a
    chain variable given as third positional argument (dspeed's ``rp`` slot, as in
    ``["15*MHz", 4, "waveform"]``) is taken as f_samp.
    """
    import scipy.signal as sg

    if isinstance(rp, VariableInfo) and f_samp is None:
        rp, f_samp = None, rp
    f_samp = _sampling_frequency(f_samp)
    if btype in ("lowpass", "highpass"):
        if isinstance(freq, Collection | np.ndarray):
            raise DSPFatal(f"{btype} filter requires one freq value")
        f_c: Any = _fraction_of_nyquist(freq, f_samp)
    elif btype in ("bandpass", "bandstop"):
        if not (isinstance(freq, Collection | np.ndarray) and len(freq) == 2):
            raise DSPFatal(f"{btype} filter requires two freq values")
        f_c = [_fraction_of_nyquist(f, f_samp) for f in freq]
    else:
        raise DSPFatal("Invalid type of filter")
    a, b = sg.iirfilter(int(order), f_c, rp=rp, rs=rs, btype=btype, ftype=ftype)
    gain = sum(a) / sum(b)
    return _run_filter(np.asarray(a, np.float64), np.asarray(b, np.float64), gain)


def notch_filter(freq: Any, bandwidth: Any, f_samp: Any = None) -> Any:
    """Factory: scipy.signal.iirnotch at freq with Q = freq/bandwidth, ``(n)->(n)``.

    freq, bandwidth: Quantities (Hz) or fractions of Nyquist without f_samp; f_samp: sampling
    frequency or a chain variable. init_in = init_out = x[0].
    """
    import scipy.signal as sg

    f_c = _fraction_of_nyquist(freq, _sampling_frequency(f_samp))
    a, b = sg.iirnotch(f_c, float(freq / bandwidth))
    return _run_filter(np.asarray(a, np.float64), np.asarray(b, np.float64), 1.0)


def peak_filter(freq: Any, bandwidth: Any, f_samp: Any = None) -> Any:
    """Factory: scipy.signal.iirpeak at freq with Q = freq/bandwidth, ``(n)->(n)``.

    freq, bandwidth: Quantities (Hz) or fractions of Nyquist without f_samp; f_samp: sampling
    frequency or a chain variable. init_in = x[0], init_out = 0.
    """
    import scipy.signal as sg

    f_c = _fraction_of_nyquist(freq, _sampling_frequency(f_samp))
    a, b = sg.iirpeak(f_c, float(freq / bandwidth))
    return _run_filter(np.asarray(a, np.float64), np.asarray(b, np.float64), None)
