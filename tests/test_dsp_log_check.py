"""log_check against numpy's log."""

from __future__ import annotations

import numpy as np
import pytest

from pygama_ak.dsp.processors import lookup
from pygama_ak.dsp.processors.log_check import log_check


def test_interface():
    assert lookup("log_check") is log_check
    assert log_check.signature == "(n)->(n)" and log_check.types == ["f->f", "d->d"]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_real_waveforms(p03_waveforms, dtype):
    x = p03_waveforms[0][:6].astype(dtype)
    out = log_check(x)
    np.testing.assert_allclose(out, np.log(x), rtol=2e-7 if dtype == np.float32 else 1e-15)
    shifted = x - x[:, :1]  # starts at 0: not all positive
    assert np.isnan(log_check(shifted)).all()


def test_nonpositive_and_nan_rows():
    x = np.array([[1.0, np.e, 10.0], [1.0, 0.0, 2.0], [1.0, -1.0, 2.0], [1.0, np.nan, 2.0]])
    out = log_check(x)
    np.testing.assert_allclose(out[0], [0.0, 1.0, np.log(10.0)])
    assert np.isnan(out[1:]).all()
