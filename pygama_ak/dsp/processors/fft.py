"""Fourier transforms of whole blocks of waveforms: fft (rfft), ifft (irfft) and psd.

Block processors on numpy's pocketfft: the transform of each row is the same as dspeed's
row-by-row ``np.fft.rfft``/``irfft``; rows holding a NaN give NaN rows.
"""

from __future__ import annotations

import numpy as np

from ..errors import DSPFatal
from . import block_processor

_COMPLEX = {
    np.dtype(np.float32): np.dtype(np.complex64),
    np.dtype(np.float64): np.dtype(np.complex128),
}
_REAL = {c: r for r, c in _COMPLEX.items()}


def _real_rows(values: np.ndarray, dtype: np.dtype | None = None) -> np.ndarray:
    array = np.asarray(values)
    if dtype is None:
        dtype = (
            np.dtype(np.float32) if np.can_cast(array.dtype, np.float32) else np.dtype(np.float64)
        )
    return np.atleast_2d(array.astype(dtype, copy=False))


def _nan_rows(values: np.ndarray) -> np.ndarray:
    """True for the rows (last axis) holding a NaN."""
    return np.isnan(values).any(axis=-1)


def _spectrum(
    w_in: np.ndarray, out: np.ndarray | None, dtype: np.dtype
) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool]:
    """(rows, output rows, NaN-row mask, given) for the rfft-shaped outputs of fft and psd."""
    x = _real_rows(w_in, None if out is None else _REAL.get(out.dtype, out.dtype))
    given = out is not None
    n_out = x.shape[-1] // 2 + 1
    if given and out.shape[-1] != n_out:
        raise DSPFatal(f"Size of the output must be len(w_in)//2+1 = {n_out}")
    if not given:
        out = np.empty((x.shape[0], n_out), dtype if dtype.kind == "c" else x.dtype)
    rows = out.reshape(x.shape[0], n_out)
    return x, rows, _nan_rows(x), given


@block_processor("(n),(m)", ["fF->", "dD->"])
def fft(w_in: np.ndarray, dft_out: np.ndarray | None = None) -> np.ndarray | None:
    """Real FFT of each waveform: dft_out = rfft(w_in), m = n//2 + 1 frequencies.

    w_in: rows × n samples; dft_out: rows × m, complex64 for float32 input (single-precision
    transform, like numpy's), complex128 for float64. NaN row for a NaN input; DSPFatal if
    m ≠ n//2 + 1. dft_out is written in place (allocated and returned if omitted).
    """
    x0 = _real_rows(w_in)
    x, rows, bad, given = _spectrum(w_in, dft_out, _COMPLEX[x0.dtype])
    rows[...] = np.fft.rfft(x, axis=-1)
    rows[bad] = np.nan
    return None if given else rows.reshape(*np.shape(w_in)[:-1], rows.shape[-1])


@block_processor("(n),(m)", ["Ff->", "Dd->"])
def ifft(dft_in: np.ndarray, w_out: np.ndarray | None = None) -> np.ndarray | None:
    """Inverse real FFT of each spectrum: w_out = irfft(dft_in), n = 2·(m − 1) samples.

    dft_in: rows × m (complex64 → float32 output, complex128 → float64); NaN row for a NaN
    input; DSPFatal if n ≠ 2·(m − 1). w_out is written in place (allocated if omitted).
    """
    spectrum = np.atleast_2d(np.asarray(dft_in))
    if spectrum.dtype not in _REAL:
        spectrum = spectrum.astype(np.complex128)
    n_out = (spectrum.shape[-1] - 1) * 2
    given = w_out is not None
    if given and w_out.shape[-1] != n_out:
        raise DSPFatal(f"Size of wf must be (len(dft_in)-1)*2 = {n_out}")
    if given and w_out.dtype in _COMPLEX and _COMPLEX[w_out.dtype] != spectrum.dtype:
        spectrum = spectrum.astype(_COMPLEX[w_out.dtype])
    out = w_out if given else np.empty((spectrum.shape[0], n_out), _REAL[spectrum.dtype])
    rows = out.reshape(spectrum.shape[0], n_out)
    rows[...] = np.fft.irfft(spectrum, n=n_out, axis=-1)
    rows[_nan_rows(spectrum)] = np.nan
    return None if given else rows.reshape(*np.shape(dft_in)[:-1], n_out)


@block_processor("(n),(m)", ["ff->", "dd->"])
def psd(w_in: np.ndarray, psd_out: np.ndarray | None = None) -> np.ndarray | None:
    """Power spectral density |rfft(w)|²/n of each waveform (m = n//2 + 1 frequencies).

    w_in: rows × n samples; psd_out: rows × m, same float type ((re² + im²)/n in float64 from
    the transform in the waveform's precision, then rounded). NaN row for a NaN input;
    DSPFatal if m ≠ n//2 + 1.
    """
    x, rows, bad, given = _spectrum(w_in, psd_out, np.dtype(np.float64))
    spectrum = np.fft.rfft(x, axis=-1)
    re = spectrum.real.astype(np.float64)
    im = spectrum.imag.astype(np.float64)
    rows[...] = (re * re + im * im) / np.float64(x.shape[-1])
    rows[bad] = np.nan
    return None if given else rows.reshape(*np.shape(w_in)[:-1], rows.shape[-1])
