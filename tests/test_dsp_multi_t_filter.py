"""multi_t_filter and remove_duplicates on real SiPM pulses, against Python re-statements."""

from __future__ import annotations

import awkward as ak
import numpy as np
import pytest

from pygama_ak.dsp.errors import DSPFatal
from pygama_ak.dsp.processors import lookup, multi_t_filter
from pygama_ak.lh5 import read

SIPM = "lh5/L200-comm-20211130-phy-spms.lh5"


def dedupe_ref(t_in: np.ndarray, vt_min: np.ndarray) -> np.ndarray:
    """A value equal to an earlier t_in[i] becomes vt_min[i] (kept if that is NaN); a first
    value in (-1, 1) is dropped."""
    out = np.full(len(t_in), np.nan, t_in.dtype)
    if np.isnan(t_in).all() and np.isnan(vt_min).all():
        return out
    for i, t in enumerate(t_in):
        earlier = [k for k in range(i) if t_in[k] == t]  # NaN equals nothing
        out[i] = vt_min[earlier[-1]] if earlier else t  # the last earlier match wins
        if np.isnan(out[i]):
            out[i] = t
    if not np.isnan(out[0]) and int(out[0]) == 0:
        out = np.append(out[1:], np.nan).astype(t_in.dtype)
    return out


def leading_edges_ref(w, thr, vt_max, vt_min, dtype):
    """Backward time_point_thresh from each maximum (float32 slots), then dedupe_ref."""
    if np.isnan(w).any() or np.isnan(thr) or (np.isnan(vt_max).all() and np.isnan(vt_min).all()):
        return np.full(len(vt_max), np.nan, dtype)
    edges = np.full(len(vt_max), np.nan, np.float32)
    for k, start in enumerate(vt_max):
        if np.isnan(start):
            continue
        for i in range(int(start), 0, -1):
            if w[i - 1] < thr <= w[i] or w[i - 1] > thr >= w[i]:
                edges[k] = i
                break
    return dedupe_ref(edges.astype(dtype), vt_min.astype(dtype))


def test_interface():
    assert lookup("multi_t_filter") is multi_t_filter.multi_t_filter
    assert lookup("remove_duplicates") is multi_t_filter.remove_duplicates
    assert multi_t_filter.multi_t_filter.signature == "(n),(),(m),(m),(m)"
    assert multi_t_filter.multi_t_filter.types == ["fffff->", "ddddd->"]
    assert multi_t_filter.remove_duplicates.signature == "(n),(n)->(n)"
    assert multi_t_filter.remove_duplicates.types == ["ff->f", "dd->d"]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_remove_duplicates(dtype):
    rng = np.random.default_rng(1)
    t = rng.integers(0, 6, size=(60, 8)).astype(dtype)
    t[t == 5] = np.nan
    t[:5] = np.nan
    vt_min = rng.normal(size=(60, 8)).astype(dtype)
    vt_min[:3] = np.nan
    out = multi_t_filter.remove_duplicates(t, vt_min)
    for r in range(60):
        np.testing.assert_array_equal(out[r], dedupe_ref(t[r], vt_min[r]))
    assert np.isnan(out[:3]).all()


@pytest.fixture(scope="module")
def sipm_pulses(testdata_dir):
    path = testdata_dir / SIPM
    if not path.exists():
        pytest.skip(f"{path} not in the test data")
    waves = np.concatenate([ak.to_numpy(read(path, f"{ch}/raw/waveform")["values"])
                            for ch in ("ch0", "ch1", "ch2", "ch3")]).astype(np.float64)
    current = (waves[:, 5:] - waves[:, :-5]) / 5.0
    n = len(current)
    vt_max, vt_min = np.zeros((n, 20)), np.zeros((n, 20))
    n_max, n_min = np.zeros(n, np.uint32), np.zeros(n, np.uint32)
    std = current[:, :500].std(axis=1)
    lookup("get_multi_local_extrema")(current, 5.0, 0.1, 1.0, 5 * std, 0.0, vt_max, vt_min,
                                      n_max, n_min)
    return current, vt_max, vt_min, std


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_real_sipm_leading_edges(sipm_pulses, dtype):
    current, vt_max, vt_min, std = (a.astype(dtype) for a in sipm_pulses)
    out = np.zeros(vt_max.shape, dtype)
    multi_t_filter.multi_t_filter(current, 2 * std, vt_max, vt_min, out)
    for r in range(len(current)):
        expected = leading_edges_ref(current[r], 2 * std[r], vt_max[r], vt_min[r], dtype)
        np.testing.assert_array_equal(out[r], expected)
    assert np.isfinite(out).sum() > 20


def test_nan_and_fatal():
    f = multi_t_filter.multi_t_filter
    w = np.sin(np.arange(100) / 8.0)
    vt_max = np.array([12.0, 62.0, np.nan])
    vt_min = np.array([37.0, 87.0, np.nan])
    out = np.zeros(3)
    f(w, 0.5, vt_max, vt_min, out)
    np.testing.assert_array_equal(out, leading_edges_ref(w, 0.5, vt_max, vt_min, np.float64))
    for args in [(np.where(np.arange(100) == 5, np.nan, w), 0.5, vt_max, vt_min),
                 (w, np.nan, vt_max, vt_min), (w, 0.5, np.full(3, np.nan), np.full(3, np.nan))]:
        f(*args, out)
        assert np.isnan(out).all()
    with pytest.raises(DSPFatal, match="integer"):
        f(w, 0.5, np.array([1.5, 2.0, 3.0]), vt_min, out)
    with pytest.raises(DSPFatal, match="out of range"):
        f(w, 0.5, np.array([100.0, 2.0, 3.0]), vt_min, out)
    with pytest.raises(DSPFatal, match="smaller"):
        f(w[:2], 0.5, vt_max, vt_min, out)
