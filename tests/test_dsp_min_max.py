"""min_max: first-occurrence extrema, against numpy's argmin/argmax."""

from __future__ import annotations

import numpy as np
import pytest

from pygama_ak.dsp.processors import lookup
from pygama_ak.dsp.processors.min_max import arg_extrema, min_max


@pytest.fixture(scope="module")
def waves(p03_waveforms):
    return p03_waveforms[0]


def expected(x: np.ndarray) -> np.ndarray:
    """(t_min, t_max, a_min, a_max) per row: numpy's argmin/argmax return the first extremum."""
    imin, imax = np.argmin(x, axis=1), np.argmax(x, axis=1)
    rows = np.arange(len(x))
    return np.stack([imin, imax, x[rows, imin], x[rows, imax]]).astype(x.dtype)


def test_interface():
    assert lookup("min_max") is min_max
    assert min_max.signature == "(n)->(),(),(),()"
    assert min_max.types == ["f->ffff", "d->dddd"]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", [1, 2, 255, 256, 257, 700, 8192])
def test_random_with_ties(dtype, n):
    rng = np.random.default_rng(n)
    x = rng.integers(-20, 20, size=(6, n)).astype(dtype)  # many repeated extrema
    out = np.stack(min_max(x))
    assert out.dtype == dtype
    np.testing.assert_array_equal(out, expected(x))


def test_real_waveforms(waves):
    out = np.stack(min_max(waves))  # uint16 → float32 loop, as numpy casts for dspeed
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, expected(waves.astype(np.float32)))
    out64 = np.stack(min_max(waves.astype(np.float64)))
    np.testing.assert_array_equal(out64, expected(waves.astype(np.float64)))
    np.testing.assert_array_equal(
        np.stack(min_max(-waves.astype(np.float32))), expected(-waves.astype(np.float32))
    )


def test_nan_rows_only():
    x = np.zeros((5, 600), np.float32)
    x[:, 100] = 5.0
    x[1, 599] = np.nan
    x[3, 0] = -np.nan  # sign bit set: the other end of the key range
    x[4, 300] = np.float32(np.nan) * -1
    out = np.stack(min_max(x))
    assert np.isnan(out[:, [1, 3, 4]]).all()
    np.testing.assert_array_equal(out[:, [0, 2]], expected(x[[0, 2]]))


def test_signed_zeros_compare_equal():
    # floats: −0 == +0, so the first zero of either sign is the extremum (like dspeed's <)
    x = np.zeros((2, 600), np.float32)
    x[0, :] = 1.0
    x[0, 10] = 0.0
    x[0, 400] = -0.0
    x[1, :] = -1.0
    x[1, 20] = -0.0
    x[1, 500] = 0.0
    t_min, t_max, a_min, a_max = min_max(x)
    assert t_min[0] == 10 and not np.signbit(a_min[0])
    assert t_max[1] == 20 and np.signbit(a_max[1])


def test_infinities_and_empty():
    x = np.array([[1.0, -np.inf, 3.0, np.inf, np.inf, -np.inf]])
    np.testing.assert_array_equal(np.stack(min_max(x))[:, 0], [1, 3, -np.inf, np.inf])
    assert np.isnan(np.stack(min_max(np.zeros((2, 0))))).all()


def test_arg_extrema_helper():
    x = np.array([3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 9.0])
    assert arg_extrema(x) == (1, 5, False)
    x[2] = np.nan
    assert arg_extrema(x)[2]


# ----------------------------------------------------------------------------- min_max_norm
def test_min_max_norm(waves):
    from pygama_ak.dsp.processors.min_max import min_max_norm

    assert lookup("min_max_norm") is min_max_norm
    assert min_max_norm.signature == "(n),(),()->(n)" and min_max_norm.types == ["fff->f", "ddd->d"]
    x = waves[:6].astype(np.float32) - np.float32(waves[:6].mean())
    a_min, a_max = x.min(axis=1), x.max(axis=1)
    out = min_max_norm(x, a_min, a_max)
    scale = np.maximum(np.abs(a_min), np.abs(a_max))
    np.testing.assert_array_equal(out, x / scale[:, None])
    assert np.abs(out).max() == 1


def test_min_max_norm_zero_and_nan():
    from pygama_ak.dsp.processors.min_max import min_max_norm

    x = np.array([[1.0, -4.0, 2.0]] * 5)
    x[4, 1] = np.nan
    a_min = np.array([-4.0, 0.0, -4.0, -4.0, -4.0])
    a_max = np.array([2.0, 2.0, 0.0, np.nan, 2.0])
    out = min_max_norm(x, a_min, a_max)
    np.testing.assert_array_equal(out[0], x[0] / 4)
    np.testing.assert_array_equal(out[1:3], x[1:3])  # a zero extreme: copied
    assert np.isnan(out[3:]).all()  # NaN extreme or NaN sample
