"""round/floor/ceil/trunc_to_nearest: half-to-even, NaN kept, all ten dtypes."""

from __future__ import annotations

import numpy as np
import pytest

from pygama_ak.dsp.processors import lookup
from pygama_ak.dsp.processors.rounding import (
    ceil_to_nearest,
    floor_to_nearest,
    round_to_nearest,
    trunc_to_nearest,
)

TYPES = ["BB->B", "HH->H", "II->I", "LL->L", "bb->b", "hh->h", "ii->i", "ll->l", "ff->f", "dd->d"]
FUNCS = {
    "round_to_nearest": (round_to_nearest, np.rint),
    "floor_to_nearest": (floor_to_nearest, np.floor),
    "ceil_to_nearest": (ceil_to_nearest, np.ceil),
    "trunc_to_nearest": (trunc_to_nearest, np.trunc),
}


@pytest.mark.parametrize("name", FUNCS)
def test_interface(name):
    func = lookup(name)
    assert func is FUNCS[name][0]
    assert func.types == TYPES
    assert func.nin == 2 and func.nout == 1


@pytest.mark.parametrize("name", FUNCS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_floats_against_numpy(name, dtype):
    func, op = FUNCS[name]
    rng = np.random.default_rng(0)
    x = (rng.normal(size=500) * 1e4).astype(dtype)
    for step in (dtype(1), dtype(16), dtype(1000), dtype(0.25)):
        out = func(x, step)
        assert out.dtype == dtype
        expected = (step * op(x / step)).astype(dtype)
        np.testing.assert_array_equal(out, expected)  # == ignores the sign of zero


def test_half_to_even_and_nan():
    x = np.array([0.5, 1.5, 2.5, -0.5, -2.5, 3.5, np.nan], np.float32)
    np.testing.assert_array_equal(round_to_nearest(x, np.float32(1)), [0, 2, 2, 0, -2, 4, np.nan])
    # dsp.md §3.8: 1 µs to the 16 ns grid is 62.5 periods → 62 → 992 ns
    assert round_to_nearest(1000.0, 16.0) == 992.0
    for func, _ in FUNCS.values():
        assert np.isnan(func(np.float64(np.nan), 5.0))
    # round goes through an int64 like Python's round: −0.3 → +0.0 (not −0.0)
    assert not np.signbit(round_to_nearest(np.float32(-0.3), np.float32(1)))
    assert np.signbit(ceil_to_nearest(np.float32(-0.3), np.float32(1)))


@pytest.mark.parametrize(
    "dtype", [np.uint8, np.uint16, np.uint32, np.uint64, np.int8, np.int16, np.int32, np.int64]
)
def test_integers(dtype):
    x = np.array([5, 15, 25, 7, 100], dtype)
    ten = dtype(10)
    np.testing.assert_array_equal(round_to_nearest(x, ten), np.array([0, 20, 20, 10, 100], dtype))
    np.testing.assert_array_equal(floor_to_nearest(x, ten), np.array([0, 10, 20, 0, 100], dtype))
    np.testing.assert_array_equal(ceil_to_nearest(x, ten), np.array([10, 20, 30, 10, 100], dtype))
    np.testing.assert_array_equal(trunc_to_nearest(x, ten), np.array([0, 10, 20, 0, 100], dtype))
    assert round_to_nearest(x, ten).dtype == dtype


def test_negative_integers():
    x = np.array([-5, -15, -25, -7], np.int32)
    np.testing.assert_array_equal(floor_to_nearest(x, np.int32(10)), [-10, -20, -30, -10])
    np.testing.assert_array_equal(ceil_to_nearest(x, np.int32(10)), [0, -10, -20, 0])
    np.testing.assert_array_equal(trunc_to_nearest(x, np.int32(10)), [0, -10, -20, 0])
    np.testing.assert_array_equal(round_to_nearest(x, np.int32(10)), [0, -20, -20, -10])


def test_broadcast_block():
    tp = np.arange(16, dtype=np.float32).reshape(16, 1) * 333.3
    out = np.empty_like(tp)
    round_to_nearest(tp, np.float32(100), out)
    np.testing.assert_array_equal(out, np.rint(tp / np.float32(100)) * np.float32(100))
