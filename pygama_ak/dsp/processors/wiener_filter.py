"""wiener_filter (factory): a frequency-domain Wiener filter from an LH5 file holding a
superpulse and a noise waveform (``spms/processed/superpulse``, ``spms/processed/noise_wf``).

With S = fft(superpulse), N = fft(noise) and the point-spread function P = S / fft(δ), δ the
superpulse's maximum placed at its argmax, the filter is W = P* / (|P|² + |N|²/|S|²) (all in
complex128). The returned processor multiplies a spectrum (an ``fft`` over the full
waveform, complex) by W; the result is still in the frequency domain.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import DSPFatal
from . import block_processor

SUPERPULSE = "spms/processed/superpulse"
NOISE_WF = "spms/processed/noise_wf"


def _read_array(file_name: str, name: str) -> np.ndarray:
    import awkward as ak

    from ... import lh5

    try:
        return np.asarray(ak.to_numpy(lh5.read(file_name, name)))
    except lh5.LH5NotFoundError:
        raise DSPFatal(f"lh5 file must have '{name}' as a group") from None


def wiener_filter(file_name_array: Sequence[str] | str) -> Any:
    """Factory: the Wiener filter of the LH5 file ``file_name_array[0]`` as a ``(n)->(n)``
    complex block processor (types F->F, D->D).

    file_name_array: a list whose first element is the file name (a plain string is also
    accepted, unlike dspeed). DSPFatal if the file is missing or not LH5, lacks either
    object, the two differ in length or are empty, or the superpulse peaks at sample 0; the
    processor gives a NaN row for a NaN input and DSPFatal for a spectrum whose length is
    not the filter's.
    """
    import h5py

    if isinstance(file_name_array, str | os.PathLike):
        file_name = os.fspath(file_name_array)
    else:
        try:
            file_name = str(file_name_array[0])
        except Exception:
            raise DSPFatal("init_args must be an array with the filename") from None
    if not os.path.isfile(file_name) or not h5py.is_hdf5(file_name):
        raise DSPFatal("File must be a valid lh5 file")
    superpulse = _read_array(file_name, SUPERPULSE)
    noise_wf = _read_array(file_name, NOISE_WF)
    if len(superpulse) <= 0:
        raise DSPFatal("The length of the filter must be positive")
    if len(superpulse) != len(noise_wf):
        raise DSPFatal(
            "The length of the superpulse must be equal to the length of the noise waveform"
        )
    peak = int(np.argmax(superpulse))
    if peak <= 0:
        raise DSPFatal("The index of the maximum of the superpulse must occur within the waveform")
    fft_superpulse = np.fft.fft(superpulse)
    fft_noise = np.fft.fft(noise_wf)
    delta = np.zeros_like(superpulse)
    delta[peak] = np.amax(superpulse)
    fft_psf = fft_superpulse / np.fft.fft(delta)
    psd_noise = fft_noise * np.conj(fft_noise)
    psd_superpulse = fft_superpulse * np.conj(fft_superpulse)
    w_filter = np.conj(fft_psf) / ((fft_psf * np.conj(fft_psf)) + (psd_noise / psd_superpulse))

    @block_processor("(n)->(n)", ["F->F", "D->D"])
    def wiener_out(fft_w_in: np.ndarray, fft_w_out: np.ndarray | None = None) -> np.ndarray | None:
        """fft_w_out = fft_w_in · W per row (complex); NaN row for a NaN input."""
        spectrum = np.asarray(fft_w_in)
        if spectrum.shape[-1] != len(w_filter):
            raise DSPFatal("The filter is not the same length of the input waveform")
        given = fft_w_out is not None
        if not given:
            dtype = spectrum.dtype if spectrum.dtype.kind == "c" else np.dtype(np.complex128)
            fft_w_out = np.empty(spectrum.shape, dtype)
        fft_w_out[...] = spectrum * w_filter
        fft_w_out[np.isnan(spectrum).any(axis=-1)] = np.nan
        return None if given else fft_w_out

    wiener_out.filter = w_filter  # type: ignore[attr-defined]
    return wiener_out
