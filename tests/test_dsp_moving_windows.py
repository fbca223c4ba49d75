"""Moving windows and avg_current against plain Python re-statements (same float order)."""

from __future__ import annotations

import awkward as ak
import numpy as np
import pytest

from pygama_ak.dsp.errors import DSPFatal
from pygama_ak.dsp.processors import lookup, moving_windows
from pygama_ak.lh5 import read

RAW = "lh5/prod-ref-l200/generated/tier/raw/cal/p03/r001/l200-p03-r001-cal-20230318T012144Z-tier_raw.lh5"
SIPM = "lh5/L200-comm-20211130-phy-spms.lh5"


def left_ref(w: np.ndarray, length: float) -> np.ndarray:
    """Running mean from the left: out[i] = out[i-1] + (w[i] - w[i-L or 0]) / length."""
    t = w.dtype.type
    win = int(length)
    out = np.empty_like(w)
    out[0] = w[0]
    for i in range(1, len(w)):
        old = w[0] if i < win else w[i - win]
        out[i] = t(out[i - 1] + t(t(w[i] - old) / t(length)))
    return out


def right_ref(w: np.ndarray, length: float) -> np.ndarray:
    return left_ref(w[::-1].copy(), length)[::-1]


def multi_ref(w: np.ndarray, length: float, passes: int, kind: int) -> np.ndarray:
    out = np.full_like(w, np.nan)
    src = w
    for k in range(passes):
        right = (k % 2 == 1 and kind == 0) or kind == 2
        out = right_ref(src, length) if right else left_ref(src, length)
        src = out
    return out


def test_registered():
    for name in ("avg_current", "moving_window_left", "moving_window_right", "moving_window_multi"):
        assert lookup(name) is getattr(moving_windows, name)
    assert moving_windows.moving_window_multi.signature == "(n),(),(),()->(n)"
    assert moving_windows.moving_window_multi.types == ["fffi->f", "dddi->d"]
    assert moving_windows.avg_current.signature == "(n),(),(m)"
    assert moving_windows.moving_window_left.types == ["ff->f", "dd->d"]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("length", [1.0, 2.0, 6.0, 48.0, 7.5])
def test_single_windows(dtype, length):
    rng = np.random.default_rng(int(length * 10))
    w = (np.cumsum(rng.normal(size=(2, 400)), axis=1) * 37).astype(dtype)
    for name, ref in (("moving_window_left", left_ref), ("moving_window_right", right_ref)):
        out = np.zeros_like(w)
        getattr(moving_windows, name)(w, dtype(length), out)
        for row in range(2):
            np.testing.assert_array_equal(out[row], ref(w[row], length), err_msg=name)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    ("length", "passes", "kind"),
    [(48, 3, 0), (5, 4, 0), (5, 2, 1), (5, 2, 2), (5, 1, 7), (5, 0, 0)],
)
def test_moving_window_multi(dtype, length, passes, kind):
    rng = np.random.default_rng(length + passes + kind)
    w = (rng.normal(size=(2, 300)) * 5).astype(dtype)
    out = np.zeros_like(w)
    moving_windows.moving_window_multi(w, dtype(length), dtype(passes), np.int32(kind), out)
    for row in range(2):
        np.testing.assert_array_equal(out[row], multi_ref(w[row], length, passes, kind))


def test_sub_sample_windows_give_nan():
    w = np.arange(10, dtype=np.float32)
    for name in ("moving_window_left", "moving_window_right"):
        out = np.zeros(10, np.float32)
        getattr(moving_windows, name)(w, np.float32(0.5), out)
        assert np.isnan(out).all()


def test_nan_rows_and_fatal():
    w = np.ones((3, 20), np.float32)
    w[1, 5] = np.nan
    for name in ("moving_window_left", "moving_window_right"):
        out = np.zeros_like(w)
        getattr(moving_windows, name)(w, np.float32(3), out)
        assert np.isnan(out[1]).all() and not np.isnan(out[[0, 2]]).any()
        for bad in (-1.0, 20.0, np.nan):
            with pytest.raises(DSPFatal):
                getattr(moving_windows, name)(w[0], np.float32(bad), out[0])
    out = np.zeros_like(w)
    moving_windows.moving_window_multi(w, np.float32(3), np.float32(2), np.int32(0), out)
    assert np.isnan(out[1]).all() and not np.isnan(out[[0, 2]]).any()
    for length, passes in ((2.5, 1), (3, 1.5), (20, 1), (-1, 1), (3, -1)):
        with pytest.raises(DSPFatal):
            moving_windows.moving_window_multi(
                w[0], np.float32(length), np.float32(passes), np.int32(0), out[0]
            )


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("length", [1.0, 5.0, 2.5])
def test_avg_current(dtype, length):
    rng = np.random.default_rng(9)
    w = (rng.normal(size=(3, 301)) * 100).astype(dtype)
    lag = int(length)
    out = np.zeros((3, 301 - lag), dtype)
    moving_windows.avg_current(w, dtype(length), out)
    np.testing.assert_array_equal(out, (w[:, lag:] - w[:, :-lag]) / dtype(length))


def test_avg_current_nan_and_fatal():
    w = np.ones((2, 10))
    w[0, 9] = np.nan
    out = np.zeros((2, 9))
    moving_windows.avg_current(w, 1.0, out)
    assert np.isnan(out[0]).all() and (out[1] == 0).all()
    for length, m in ((-1.0, 9), (10.0, 9), (0.5, 10), (1.0, 8)):
        with pytest.raises(DSPFatal):
            moving_windows.avg_current(w[1], length, np.zeros(m))


def test_real_chains(testdata_dir):
    """icpc current (avg 1 -> x16 -> 48,3,0) and SiPM avg_current 5 on real waveforms."""
    raw, sipm = testdata_dir / RAW, testdata_dir / SIPM
    if not raw.exists() or not sipm.exists():
        pytest.skip("real waveforms not in the test data")
    wf = ak.to_numpy(read(raw, "ch1121600/raw/waveform")["values"]).astype(np.float32)[:3]
    le = wf[:, 3000:3301] - np.float32(15000)
    curr = np.zeros((3, 300), np.float32)
    moving_windows.avg_current(le, np.float32(1), curr)
    np.testing.assert_array_equal(curr, le[:, 1:] - le[:, :-1])
    smooth = np.zeros_like(curr)
    moving_windows.moving_window_multi(curr, np.float32(48), np.float32(3), np.int32(0), smooth)
    for row in range(3):
        np.testing.assert_array_equal(smooth[row], multi_ref(curr[row], 48, 3, 0))
    sp = ak.to_numpy(read(sipm, "ch3/raw/waveform")["values"]).astype(np.float64)
    out = np.zeros((len(sp), sp.shape[1] - 5))
    moving_windows.avg_current(sp, 5.0, out)
    np.testing.assert_array_equal(out, (sp[:, 5:] - sp[:, :-5]) / 5.0)
