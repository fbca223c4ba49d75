"""fft, ifft and psd against numpy's rfft/irfft applied row by row."""

from __future__ import annotations

import numpy as np
import pytest

from pygama_ak.dsp.errors import DSPFatal
from pygama_ak.dsp.processors import lookup
from pygama_ak.dsp.processors.fft import fft, ifft, psd


def test_interface():
    for func, types in ((fft, ["fF->", "dD->"]), (ifft, ["Ff->", "Dd->"]), (psd, ["ff->", "dd->"])):
        assert lookup(func.__name__) is func and func.is_block_processor
        assert func.signature == "(n),(m)" and func.types == types


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_real_waveforms(p03_waveforms, dtype):
    x = p03_waveforms[0][:5].astype(dtype)
    n = x.shape[1]
    ctype = np.complex64 if dtype == np.float32 else np.complex128
    spectrum = np.zeros((5, n // 2 + 1), ctype)
    fft(x, spectrum)
    power = np.zeros((5, n // 2 + 1), dtype)
    psd(x, power)
    back = np.zeros((5, n), dtype)
    ifft(spectrum, back)
    for r in range(5):
        row = np.fft.rfft(x[r])
        np.testing.assert_array_equal(spectrum[r], row)
        expected = (row.real.astype(np.float64) ** 2 + row.imag.astype(np.float64) ** 2) / n
        np.testing.assert_array_equal(power[r], expected.astype(dtype))
        np.testing.assert_array_equal(back[r], np.fft.irfft(spectrum[r]))
    np.testing.assert_allclose(back, x, rtol=1e-5 if dtype == np.float32 else 1e-12)
    # Parseval: Σ psd over the two-sided spectrum = Σ x²
    two_sided = power[:, 0] + 2 * power[:, 1:-1].sum(axis=1) + power[:, -1]
    np.testing.assert_allclose(two_sided, (x.astype(np.float64) ** 2).sum(axis=1), rtol=1e-4)


def test_allocating_calls_and_odd_lengths():
    x = np.random.default_rng(1).normal(size=(3, 101))
    np.testing.assert_array_equal(fft(x), np.fft.rfft(x, axis=1))
    assert psd(x).shape == (3, 51)
    spec = fft(x[:, :100])
    np.testing.assert_allclose(ifft(spec), x[:, :100], atol=1e-12)


def test_nan_rows_and_fatal():
    x = np.ones((3, 16), np.float32)
    x[1, 2] = np.nan
    spectrum = np.zeros((3, 9), np.complex64)
    fft(x, spectrum)
    assert np.isnan(spectrum[1]).all() and not np.isnan(spectrum[[0, 2]]).any()
    power = np.zeros((3, 9), np.float32)
    psd(x, power)
    assert np.isnan(power[1]).all() and not np.isnan(power[[0, 2]]).any()
    back = np.zeros((3, 16), np.float32)
    ifft(spectrum, back)
    assert np.isnan(back[1]).all() and not np.isnan(back[[0, 2]]).any()
    with pytest.raises(DSPFatal):
        fft(x, np.zeros((3, 8), np.complex64))
    with pytest.raises(DSPFatal):
        psd(x, np.zeros((3, 10), np.float32))
    with pytest.raises(DSPFatal):
        ifft(spectrum, np.zeros((3, 17), np.float32))
