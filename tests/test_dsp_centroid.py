"""get_wf_centroid: the zero crossing between the lobes of a bipolar pulse."""

from __future__ import annotations

import numpy as np
import pytest

from pygama_ak.dsp.errors import DSPFatal
from pygama_ak.dsp.processors import centroid, lookup


def centroid_ref(w: np.ndarray, shift: float) -> float:
    """round((last negative + first positive sample between argmin and argmax) / 2) + shift."""
    if np.isnan(w).any():
        return np.nan
    lo, hi = int(np.argmin(w)), int(np.argmax(w))
    if lo == hi:
        return np.nan
    path = list(range(lo, hi + 1)) if hi > lo else list(range(lo, hi - 1, -1))
    negative = [i for i in path if w[i] < 0]
    positive = [i for i in path if w[i] > 0]
    if not negative or not positive:
        return np.nan
    return round((negative[-1] + positive[0]) / 2) + shift


@pytest.fixture(scope="module")
def bipolar(p03_waveforms):
    """Smoothed second derivative of the real waveforms' rising edges (bipolar pulses)."""
    waves = p03_waveforms[0].astype(np.float64)
    box = np.ones(25) / 25
    current = np.array([np.convolve(np.diff(w), box, "same") for w in waves])
    return np.array([np.convolve(np.diff(c), box, "same") for c in current])


def test_interface():
    assert lookup("get_wf_centroid") is centroid.get_wf_centroid
    assert centroid.get_wf_centroid.signature == "(n),()->()"
    assert centroid.get_wf_centroid.types == ["ff->f", "dd->d"]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shift", [0, 3, 17])
def test_real_bipolar_pulses(bipolar, dtype, shift):
    w = bipolar.astype(dtype)
    out = centroid.get_wf_centroid(w, dtype(shift))
    expected = [centroid_ref(row, shift) for row in w]
    np.testing.assert_array_equal(out, np.array(expected, dtype))
    assert np.isfinite(out).sum() > 20


def test_synthetic_and_ties():
    f = centroid.get_wf_centroid
    w = np.array([0, -1, -3, -1, 0, 0, 2, 4, 1], np.float64)  # last < 0 at 3, first > 0 at 6
    assert f(w, 0.0) == 4  # round(4.5) is 4 (ties to even)
    assert f(w[::-1].copy(), 2.0) == round((2 + 5) / 2) + 2  # maximum before the minimum
    assert np.isnan(f(np.zeros(5), 0.0))  # argmin == argmax
    assert np.isnan(f(np.array([1.0, 2.0, 3.0]), 0.0))  # no negative sample


def test_nan_and_fatal():
    f = centroid.get_wf_centroid
    w = np.array([0.0, -1.0, 1.0, np.nan])
    assert np.isnan(f(w, np.nan))  # NaN waveform first: no error
    good = np.array([0.0, -1.0, 1.0, 0.0])
    for shift, msg in [(np.nan, "nan"), (-1.0, "positive"), (4.0, "shorter")]:
        with pytest.raises(DSPFatal, match=msg):
            f(good, shift)
    assert f(good, 3.0) == round(1.5) + 3
