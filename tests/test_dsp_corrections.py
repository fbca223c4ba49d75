"""inl_correction and wf_correction against numpy restatements."""

from __future__ import annotations

import numpy as np
import pytest

from pygama_ak.dsp.errors import DSPFatal
from pygama_ak.dsp.processors import lookup
from pygama_ak.dsp.processors.corrections import inl_correction, wf_correction


def test_interface():
    assert lookup("inl_correction") is inl_correction and lookup("wf_correction") is wf_correction
    assert inl_correction.signature == "(n),(p)->(n)" and inl_correction.types == ["if->f", "id->d"]
    assert wf_correction.signature == "(n),(m),(),()->(n)" and wf_correction.types == [
        "ffii->f",
        "ddii->d",
    ]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_inl_correction_real_waveforms(p03_waveforms, dtype):
    codes = p03_waveforms[0][:6].astype(np.int32)
    inl = np.random.default_rng(5).normal(scale=0.5, size=2**16).astype(dtype)
    out = inl_correction(codes, inl)
    assert out.dtype == dtype
    np.testing.assert_array_equal(out, (codes + inl[codes].astype(np.float64)).astype(dtype))


def test_inl_nan_and_fatal():
    inl = np.zeros(10, np.float32)
    codes = np.array([[1, 2, 3], [4, 5, 9]], np.int32)
    np.testing.assert_array_equal(inl_correction(codes, inl), codes)
    inl[7] = np.nan
    assert np.isnan(inl_correction(codes, inl)).all()  # a NaN anywhere in the table
    with pytest.raises(DSPFatal, match="out of range"):
        inl_correction(np.array([1, 10], np.int32), np.zeros(10))
    with pytest.raises(DSPFatal, match="out of range"):
        inl_correction(np.array([-1], np.int32), np.zeros(10))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_wf_correction_real_waveforms(p03_waveforms, dtype):
    x = p03_waveforms[0][:4].astype(dtype)
    corr = np.linspace(-3, 3, 700).astype(dtype)
    out = wf_correction(x, corr, 100, 600)
    expected = x.copy()
    expected[:, 100:600] -= corr[:500]
    np.testing.assert_array_equal(out, expected)


def test_wf_correction_nan_and_fatal():
    x = np.ones((2, 20))
    x[1, 0] = np.nan
    out = wf_correction(x, np.ones(5), 2, 7)
    assert np.isnan(out[1]).all() and (out[0, 2:7] == 0).all() and (out[0, 7:] == 1).all()
    assert np.isnan(wf_correction(x[0], np.array([np.nan]), 0, 1)).all()
    for start, stop in ((-1, 3), (21, 22), (0, 0), (0, 21), (5, 5), (0, 6)):
        with pytest.raises(DSPFatal):
            wf_correction(x[0], np.ones(5), start, stop)
