"""soft_pileup_corr(_bl) against least-squares fits of a + b·exp(−i/τ) done with numpy."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pygama_ak.dsp.errors import DSPFatal
from pygama_ak.dsp.processors import lookup
from pygama_ak.dsp.processors.soft_pileup_corr import soft_pileup_corr, soft_pileup_corr_bl


def sums_reference(x: np.ndarray, n: int, tau: float, baseline: float | None = None) -> np.ndarray:
    """The closed-form least-squares solution from float64 sums, as the definition states it."""
    s1 = s2 = s3 = s4 = s5 = 0.0
    for i in range(n):
        e = math.exp(-1.0 * i / float(tau))
        s1 += 1.0
        s2 += e
        s3 += math.exp(-2.0 * i / float(tau))
        s4 += e * float(x[i])
        s5 += float(x[i])
    if baseline is None:
        b = (s5 - s2 * (s4 * s1 - s2 * s5) / (s3 * s1 - s2 * s2)) / s1
    else:
        b = float(baseline)
    a = (s4 - b * s2) / s3
    i = np.arange(len(x))
    return (x.astype(np.float64) - (a * np.exp(-1.0 * i / float(tau)) + b)).astype(x.dtype)


def test_interface():
    assert lookup("soft_pileup_corr") is soft_pileup_corr
    assert lookup("soft_pileup_corr_bl") is soft_pileup_corr_bl
    assert soft_pileup_corr.signature == "(n),(),()->(n)" and soft_pileup_corr.types == [
        "fff->f",
        "ddd->d",
    ]
    assert soft_pileup_corr_bl.signature == "(n),(),(),()->(n)"
    assert soft_pileup_corr_bl.types == ["ffff->f", "dddd->d"]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_real_waveforms(p03_waveforms, dtype):
    waves, bases = p03_waveforms
    x = waves[:4].astype(dtype)
    out = soft_pileup_corr(x, dtype(1000), dtype(5000.5))
    out_bl = soft_pileup_corr_bl(x, dtype(1000), dtype(5000.5), bases[:4].astype(dtype))
    for r in range(4):
        np.testing.assert_allclose(
            out[r], sums_reference(x[r], 1000, dtype(5000.5)), rtol=1e-5, atol=1e-3
        )
        np.testing.assert_allclose(
            out_bl[r],
            sums_reference(x[r], 1000, dtype(5000.5), dtype(bases[r])),
            rtol=1e-5,
            atol=1e-3,
        )


def test_recovers_an_exponential_baseline():
    i = np.arange(3000)
    x = 120.0 + 40.0 * np.exp(-i / 700.0)
    np.testing.assert_allclose(soft_pileup_corr(x, 1500.0, 700.0), 0, atol=1e-9)
    np.testing.assert_allclose(soft_pileup_corr_bl(x, 200.0, 700.0, 120.0), 0, atol=1e-9)
    # same as numpy's least-squares fit on the first n samples
    rng = np.random.default_rng(0)
    y = x + rng.normal(size=3000)
    design = np.stack([np.ones(800), np.exp(-i[:800] / 700.0)], axis=1)
    b, a = np.linalg.lstsq(design, y[:800], rcond=None)[0]
    np.testing.assert_allclose(
        soft_pileup_corr(y, 800.0, 700.0), y - (a * np.exp(-i / 700.0) + b), atol=1e-8
    )


def test_nan_and_fatal():
    x = np.ones((2, 50))
    x[1, 3] = np.nan
    assert np.isnan(soft_pileup_corr(x, 10.0, 5.0)[1]).all()
    assert np.isnan(soft_pileup_corr(x[0], np.nan, 5.0)).all()
    assert np.isnan(soft_pileup_corr_bl(x[0], 10.0, 5.0, np.nan)).all()
    for n, match in ((2.5, "integer"), (1.0, "not enough"), (51.0, "more than")):
        with pytest.raises(DSPFatal, match=match):
            soft_pileup_corr(x[0], n, 5.0)
    soft_pileup_corr_bl(x[0], 1.0, 5.0, 0.0)  # one sample is enough with a known baseline
    for n, match in ((0.0, "not enough"), (3.5, "integer"), (60.0, "more than")):
        with pytest.raises(DSPFatal, match=match):
            soft_pileup_corr_bl(x[0], n, 5.0, 0.0)
