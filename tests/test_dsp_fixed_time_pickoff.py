"""fixed_time_pickoff: every interpolation mode, range handling and the 'i' rule."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.interpolate import CubicSpline

from pygama_ak.dsp.errors import DSPFatal
from pygama_ak.dsp.processors import lookup
from pygama_ak.dsp.processors.fixed_time_pickoff import fixed_time_pickoff


def mode(char: str) -> np.int8:
    return np.int8(ord(char))


@pytest.fixture(scope="module")
def waves(p03_waveforms):
    return p03_waveforms[0].astype(np.float32)


def hermite(w: np.ndarray, t: float) -> float:
    i, t0 = int(t), t - int(t)
    t1 = 1 - t0
    w = w.astype(np.float64)
    m0 = w[1] - w[0] if i == 0 else (w[i + 1] - w[i - 1]) / 2
    m1 = w[-1] - w[-2] if i == len(w) - 2 else (w[i + 2] - w[i]) / 2
    h00, h01 = 2 * t1**3 - 3 * t1**2, 2 * t0**3 - 3 * t0**2
    return -h00 * w[i] - h01 * w[i + 1] - (t1**3 - t1**2) * m0 + (t0**3 - t0**2) * m1


def test_interface():
    assert lookup("fixed_time_pickoff") is fixed_time_pickoff
    assert fixed_time_pickoff.signature == "(n),(),()->()"
    assert fixed_time_pickoff.types == ["ffb->f", "ddb->d"]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_simple_modes_exact(dtype):
    rng = np.random.default_rng(0)
    w = (rng.normal(size=(5, 50)) * 100).astype(dtype)
    t = np.array([0.3, 10.5, 20.7, 48.99, 33.49], dtype)
    i = t.astype(int)
    f = t.astype(np.float64) - i
    rows = np.arange(5)
    lo, hi = w[rows, i], w[rows, i + 1]
    expected = {
        "n": np.where(f < 0.5, lo, hi),
        "f": lo,
        "c": hi,
        "l": ((1 - f) * lo + f * hi).astype(dtype),
    }
    for m, exp in expected.items():
        out = fixed_time_pickoff(w, t, mode(m))
        assert out.dtype == dtype
        np.testing.assert_array_equal(out, exp)


def test_integral_times_any_mode():
    w = np.arange(20, dtype=np.float32) ** 2
    for m in "inlfchsx":  # even an unknown mode: an integral time is just the sample
        np.testing.assert_array_equal(
            fixed_time_pickoff(w, np.float32([0, 7, 19]), mode(m)), [0, 49, 361]
        )


def test_out_of_range_and_nan():
    w = np.arange(20, dtype=np.float64)
    for t in (-0.5, -1.0, 19.01, 25.0, np.nan):
        assert np.isnan(fixed_time_pickoff(w, t, mode("l")))
    assert fixed_time_pickoff(w, 19.0, mode("l")) == 19
    bad = np.stack([w, w])
    bad[1, 3] = np.nan
    np.testing.assert_array_equal(fixed_time_pickoff(bad, 5.5, mode("l")), [5.5, np.nan])


def test_fatal_modes():
    w = np.arange(20, dtype=np.float32)
    with pytest.raises(DSPFatal, match="requires integer t_in"):
        fixed_time_pickoff(w, np.float32(3.5), mode("i"))
    with pytest.raises(DSPFatal, match="Unrecognized"):
        fixed_time_pickoff(w, np.float32(3.5), mode("x"))
    # out-of-range times return NaN before the mode is looked at
    assert np.isnan(fixed_time_pickoff(w, np.float32(30.5), mode("i")))


def test_hermite_and_spline(waves):
    rows = waves[:6]
    t = np.array([0.25, 100.5, 3000.75, 8190.5, 4000.1, 2.9], np.float32)
    out_h = fixed_time_pickoff(rows, t, mode("h"))
    exp_h = [hermite(rows[r], float(t[r])) for r in range(6)]
    np.testing.assert_allclose(out_h, exp_h, rtol=1e-6)
    # a cubic is reproduced exactly by the Hermite form with exact tangents inside
    cubic = (np.arange(30.0) - 10) ** 3 / 100
    assert fixed_time_pickoff(cubic, 12.5, mode("h")) == pytest.approx(2.5**3 / 100, rel=0.05)
    short = rows[:, :400]
    out_s = fixed_time_pickoff(short, np.float32(123.4), mode("s"))
    for r in range(6):
        spline = CubicSpline(np.arange(400), short[r].astype(np.float64), bc_type="natural")
        assert out_s[r] == pytest.approx(spline(float(np.float32(123.4))), rel=1e-5, abs=1e-3)


def test_real_linear(waves):
    t = np.float32(3500.25)
    out = fixed_time_pickoff(waves, t, mode("l"))
    exp = (0.75 * waves[:, 3500].astype(np.float64) + 0.25 * waves[:, 3501]).astype(np.float32)
    np.testing.assert_array_equal(out, exp)
    out64 = fixed_time_pickoff(waves.astype(np.float64), 50.0, mode("i"))
    np.testing.assert_array_equal(out64, waves[:, 50])
