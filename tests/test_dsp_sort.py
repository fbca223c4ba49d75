"""sort against numpy's sort."""

from __future__ import annotations

import numpy as np
import pytest

from pygama_ak.dsp.processors import lookup
from pygama_ak.dsp.processors.sort import sort


def test_interface():
    assert lookup("sort") is sort
    assert sort.signature == "(n)->(n)" and sort.types == ["f->f", "d->d"]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_real_waveforms(p03_waveforms, dtype):
    x = p03_waveforms[0][:6].astype(dtype)
    out = sort(x)
    np.testing.assert_array_equal(out, np.sort(x, axis=1))
    np.testing.assert_array_equal(x, p03_waveforms[0][:6])  # the input is untouched


def test_nan_rows_and_ties():
    x = np.array([[3.0, -1.0, 3.0, 0.5], [1.0, np.nan, 0.0, 2.0]])
    out = sort(x)
    np.testing.assert_array_equal(out[0], [-1.0, 0.5, 3.0, 3.0])
    assert np.isnan(out[1]).all()
