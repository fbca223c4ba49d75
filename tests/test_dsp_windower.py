"""windower against a plain Python re-statement, on random and real waveforms."""

from __future__ import annotations

import math

import awkward as ak
import numpy as np
import pytest

from pygama_ak.dsp.errors import DSPFatal
from pygama_ak.dsp.processors import lookup, windower
from pygama_ak.lh5 import read

RAW = "lh5/prod-ref-l200/generated/tier/raw/cal/p03/r001/l200-p03-r001-cal-20230318T012144Z-tier_raw.lh5"


def reference(w: np.ndarray, t0: float, m: int) -> np.ndarray:
    """Sample int(t0)+i of w, NaN where that is outside w."""
    out = np.full(m, np.nan, w.dtype)
    if math.isnan(t0) or np.isnan(w).any():
        return out
    start = int(min(max(t0, -m), len(w)))
    for i in range(m):
        j = start + i
        if 0 <= j < len(w):
            out[i] = w[j]
    return out


def test_registered():
    assert lookup("windower") is windower.windower
    assert windower.windower.signature == "(n),(),(m)"
    assert windower.windower.types == ["fff->", "ddd->"]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_windower_positions(dtype):
    w = np.arange(50, dtype=dtype)
    starts = [0, 3, 3.9, -0.5, -1, -4, -10, -11, -1e30, 40, 45, 49, 50, 51, 1e30, np.nan]
    for t0 in starts:
        out = np.zeros(10, dtype)
        windower.windower(w, dtype(t0), out)
        np.testing.assert_array_equal(out, reference(w, float(dtype(t0)), 10), err_msg=f"t0={t0}")


def test_windower_rows_and_nan():
    rng = np.random.default_rng(0)
    w = rng.normal(size=(4, 30)).astype(np.float32)
    w[2, 29] = np.nan
    t0 = np.array([0, 5, 5, 25], np.float32)
    out = np.zeros((4, 8), np.float32)
    windower.windower(w, t0, out)
    for row in range(4):
        np.testing.assert_array_equal(out[row], reference(w[row], float(t0[row]), 8))
    assert np.isnan(out[2]).all() and not np.isnan(out[1]).any()


def test_windower_fatal():
    with pytest.raises(DSPFatal):
        windower.windower(np.zeros(10), 0.0, np.zeros(10))
    out = np.zeros(12)
    windower.windower(np.full(10, np.nan), 0.0, out)  # NaN is checked first
    assert np.isnan(out).all()


def test_windower_real_waveforms(testdata_dir):
    path = testdata_dir / RAW
    if not path.exists():
        pytest.skip(f"{path} not in the test data")
    wf = ak.to_numpy(read(path, "ch1084804/raw/waveform")["values"]).astype(np.float32)
    t0 = np.argmax(wf, axis=1).astype(np.float32) - 150
    out = np.zeros((len(wf), 301), np.float32)
    windower.windower(wf, t0, out)
    for row in range(len(wf)):
        np.testing.assert_array_equal(out[row], reference(wf[row], float(t0[row]), 301))
