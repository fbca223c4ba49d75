"""bl_subtract and the shared NaN scan / block glue of the A-set kernels."""

from __future__ import annotations

import numpy as np
import pytest

from pygama_ak.dsp.processors import lookup
from pygama_ak.dsp.processors._util import (
    any_nan,
    as_rows,
    cast_like,
    fill_nan,
    float_dtype,
    out_array,
    per_row,
)
from pygama_ak.dsp.processors.baseline import bl_subtract


@pytest.fixture(scope="module")
def real(p03_waveforms):
    """The real p03 cal waveforms (uint16, 8192 samples) and their DAQ baselines."""
    return p03_waveforms


def test_lookup_finds_it():
    assert lookup("bl_subtract") is bl_subtract
    assert bl_subtract.signature == "(n),()->(n)"
    assert bl_subtract.types == ["ff->f", "dd->d"]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_random_equals_difference(dtype):
    rng = np.random.default_rng(1)
    x = (rng.normal(size=(7, 301)) * 1000).astype(dtype)
    base = (rng.normal(size=7) * 100).astype(dtype)
    out = bl_subtract(x, base)
    assert out.dtype == dtype
    np.testing.assert_array_equal(out, x - base[:, None])


def test_real_waveforms(real):
    wave, base = real
    out = bl_subtract(wave, base.astype(np.float32))  # uint16 → float32 loop, as in dspeed
    assert out.dtype == np.float32
    expected = wave.astype(np.float32) - base.astype(np.float32)[:, None]
    np.testing.assert_array_equal(out, expected)
    out64 = bl_subtract(wave.astype(np.float64), base.astype(np.float64))
    np.testing.assert_array_equal(out64, wave - base[:, None].astype(np.float64))


def test_nan_input_gives_nan_row_only():
    x = np.arange(40, dtype=np.float32).reshape(4, 10)
    x[1, 7] = np.nan
    base = np.array([1, 2, np.nan, 4], dtype=np.float32)
    out = bl_subtract(x, base)
    assert np.isnan(out[1]).all() and np.isnan(out[2]).all()
    np.testing.assert_array_equal(out[[0, 3]], x[[0, 3]] - base[[0, 3], None])


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_inf_minus_inf_is_not_a_nan_row():
    # dspeed only NaN-fills for a NaN *input*; inf − inf stays a lone NaN
    x = np.array([[np.inf, 1.0, 2.0]], dtype=np.float32)
    out = bl_subtract(x, np.float32(np.inf))
    assert np.isnan(out[0, 0]) and out[0, 1] == -np.inf


def test_strided_output_view():
    x = np.arange(24, dtype=np.float64).reshape(3, 8)
    big = np.zeros((3, 16))
    bl_subtract(x, 1.0, big[:, ::2])
    np.testing.assert_array_equal(big[:, ::2], x - 1.0)
    assert not big[:, 1::2].any()


@pytest.mark.parametrize("n", [0, 1, 63, 64, 65, 200])
def test_any_nan_every_position(n):
    x = np.zeros(n, dtype=np.float32)
    assert not any_nan(x)
    for pos in range(n):
        x[pos] = np.nan
        assert any_nan(x)
        x[pos] = 0
    assert not any_nan(np.full(n, np.inf))


def test_fill_nan_and_cast_like():
    x = np.zeros(5)
    fill_nan(x)
    assert np.isnan(x).all()
    assert cast_like(np.float32(0), 0.1) == np.float32(0.1)
    assert isinstance(cast_like(np.float32(0), 0.1), np.float32)


def test_block_glue():
    assert float_dtype(np.zeros(3, np.uint16)) == np.float32
    assert float_dtype(np.zeros(3, np.int32)) == np.float64
    assert as_rows(np.arange(5), np.dtype(np.float32)).shape == (1, 5)
    with pytest.raises(ValueError):
        as_rows(np.zeros((2, 2, 2)), np.dtype(np.float64))
    np.testing.assert_array_equal(per_row(3.7, 4, np.int32), [3, 3, 3, 3])
    np.testing.assert_array_equal(per_row(np.array([5.0]), 2, np.float32), [5, 5])
    np.testing.assert_array_equal(per_row(np.arange(3), 3, np.float64), [0, 1, 2])
    with pytest.raises(ValueError):
        per_row(np.arange(3), 4, np.float64)
    col = np.zeros((4, 1), np.float32)
    view = out_array(col, (4,), np.dtype(np.float32))
    view[2] = 1
    assert col[2, 0] == 1
    with pytest.raises(TypeError):
        out_array(np.zeros(4), (4,), np.dtype(np.float32))
    with pytest.raises(TypeError):  # would need a copy
        out_array(np.zeros((3, 3), np.float32)[:2, :2], (4,), np.dtype(np.float32))
