"""saturation, time_over_threshold and mean_below_threshold."""

from __future__ import annotations

import numpy as np
import pytest

from pygama_ak.dsp.errors import DSPFatal
from pygama_ak.dsp.processors import lookup
from pygama_ak.dsp.processors.saturation import (
    mean_below_threshold,
    saturation,
    time_over_threshold,
)


@pytest.fixture(scope="module")
def waves(p03_waveforms):
    return p03_waveforms[0]


def test_interface():
    for name, types in [
        ("saturation", ["ff->ff", "dd->dd"]),
        ("time_over_threshold", ["ff->f", "dd->d"]),
        ("mean_below_threshold", ["ff->f", "dd->d"]),
    ]:
        assert lookup(name).types == types
    assert saturation.signature == "(n),()->(),()"


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_saturation_counts(dtype):
    x = np.full((3, 100), 1000, dtype)
    x[0, :7] = 0
    x[0, 50:55] = 2**16 - 16  # dspeed's "high" value: 2^bits − bits
    x[0, 60:62] = 2**16 - 1  # not counted
    x[1, 10:13] = 2**14 - 14
    lo, hi = saturation(x, dtype(16))
    assert lo.dtype == dtype
    np.testing.assert_array_equal(lo, [7, 0, 0])
    np.testing.assert_array_equal(hi, [5, 0, 0])
    lo, hi = saturation(x, dtype(14))
    np.testing.assert_array_equal(hi, [0, 3, 0])


def test_saturation_real(waves):
    lo, hi = saturation(waves, np.float32(16))
    np.testing.assert_array_equal(lo, (waves == 0).sum(axis=1))
    np.testing.assert_array_equal(hi, (waves == 2**16 - 16).sum(axis=1))


def test_saturation_nan_and_fatal():
    x = np.zeros((2, 10), np.float32)
    x[1, 3] = np.nan
    lo, hi = saturation(x, np.float32(16))
    assert lo[0] == 10 and np.isnan(lo[1]) and np.isnan(hi[1])
    assert np.isnan(saturation(x[:1], np.float32(np.nan))).all()
    for bits, msg in [(15.5, "not an integer"), (0, "not positive"), (-3, "not positive")]:
        with pytest.raises(DSPFatal, match=msg):
            saturation(x[:1], np.float32(bits))
    # a NaN row returns before the bit depth is checked, like dspeed
    assert np.isnan(saturation(x[1:], np.float32(15.5))).all()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_time_over_threshold(dtype):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(5, 1000)).astype(dtype)
    x[3, 5] = np.nan
    out = time_over_threshold(x, dtype(0.5))
    ok = [0, 1, 2, 4]
    np.testing.assert_array_equal(out[ok], (x[ok] > dtype(0.5)).sum(axis=1))
    assert np.isnan(out[3])
    assert np.isnan(time_over_threshold(x[0], dtype(np.nan)))


def test_time_over_threshold_real(waves):
    thr = np.float32(16000)
    np.testing.assert_array_equal(time_over_threshold(waves, thr), (waves > thr).sum(axis=1))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_mean_below_threshold(dtype):
    rng = np.random.default_rng(1)
    x = (rng.normal(size=(4, 3000)) * 100).astype(dtype)
    x[2, 7] = np.nan
    out = mean_below_threshold(x, dtype(20))
    for r in (0, 1, 3):
        below = x[r][x[r] < 20].astype(np.float64)
        # float64 sum in sample order (np.cumsum is sequential)
        assert out[r] == dtype(np.cumsum(below)[-1] / below.size)
    assert np.isnan(out[2])
    assert np.isnan(mean_below_threshold(x[0], dtype(-1e9)))  # nothing below


def test_mean_below_threshold_real(waves):
    x = waves.astype(np.float32)
    out = mean_below_threshold(x, np.float32(15100))
    for r in range(len(x)):
        below = x[r][x[r] < 15100].astype(np.float64)
        expected = np.float32(np.cumsum(below)[-1] / below.size) if below.size else np.nan
        np.testing.assert_array_equal(out[r], expected)
