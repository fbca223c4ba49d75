"""upsampler against a plain Python re-statement."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pygama_ak.dsp.errors import DSPFatal
from pygama_ak.dsp.processors import lookup, upsampler


def reference(w: np.ndarray, factor: float, m: int) -> np.ndarray:
    """Sample i copied to int(factor) outputs starting at int(i*factor - floor(factor/2))."""
    out = np.full(m, np.nan, w.dtype)
    if np.isnan(w).any():
        return out
    for i, value in enumerate(w):
        first = int(i * factor - math.floor(factor / 2))
        for j in range(first, first + int(factor)):
            if 0 <= j < m:
                out[j] = value
    return out


def test_registered():
    assert lookup("upsampler") is upsampler.upsampler
    assert upsampler.upsampler.signature == "(n),(),(m)"
    assert upsampler.upsampler.types == ["fff->", "ddd->"]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    ("factor", "n", "m"),
    [
        (16, 300, 4784),
        (16, 300, 4800),
        (3, 10, 40),
        (2.5, 10, 30),
        (1, 10, 10),
        (0.5, 10, 10),
        (4, 10, 20),
    ],
)
def test_upsampler(dtype, factor, n, m):
    rng = np.random.default_rng(n + m)
    w = rng.normal(size=(2, n)).astype(dtype)
    out = np.zeros((2, m), dtype)
    upsampler.upsampler(w, dtype(factor), out)
    for row in range(2):
        np.testing.assert_array_equal(out[row], reference(w[row], float(dtype(factor)), m))


def test_icpc_layout():
    """300 current samples ×16 into 4784: the first and last 8 copies are cut."""
    w = np.arange(300, dtype=np.float32)
    out = np.zeros(4784, np.float32)
    upsampler.upsampler(w, np.float32(16), out)
    assert (out[:8] == 0).all() and (out[8:24] == 1).all() and (out[-8:] == 299).all()


def test_upsampler_nan_and_fatal():
    w = np.ones((2, 5), np.float32)
    w[1, 2] = np.nan
    out = np.zeros((2, 9), np.float32)  # 5 samples x2, centred: outputs -1..8
    upsampler.upsampler(w, np.float32(2), out)
    assert np.isnan(out[1]).all() and not np.isnan(out[0]).any()
    for bad in (0.0, -1.0, np.nan):
        with pytest.raises(DSPFatal):
            upsampler.upsampler(w[0], np.float32(bad), out[0])
