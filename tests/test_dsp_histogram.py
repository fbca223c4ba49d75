"""histogram and histogram_stats against plain Python re-statements."""

from __future__ import annotations

import math

import awkward as ak
import numpy as np
import pytest

from pygama_ak.dsp.errors import DSPFatal
from pygama_ak.dsp.processors import histogram, lookup
from pygama_ak.lh5 import read

SIPM = "lh5/L200-comm-20211130-phy-spms.lh5"


def hist_ref(w: np.ndarray, bins: int) -> tuple[np.ndarray, np.ndarray]:
    """Edges lo + i*(hi-lo)/bins (float64, last = hi); samples == hi are not counted."""
    t = w.dtype.type
    lo, hi = float(w.min()), float(w.max())
    edges = np.array([lo + i * ((hi - lo) / bins) for i in range(bins)] + [hi]).astype(w.dtype)
    counts = np.zeros(bins, w.dtype)
    width = float(t(hi - lo)) / bins
    if width == 0:
        return counts, edges
    for v in w:
        if v == t(hi):
            continue
        k = min(math.floor(float(t(v - edges[0])) / width), bins - 1)
        counts[k] += 1
    return counts, edges


def stats_ref(weights: np.ndarray, edges: np.ndarray, max_in: float) -> tuple[float, float, float]:
    m = len(weights)
    if math.isnan(max_in):
        imax = int(np.argmax(weights))
    elif max_in > edges[m - 1]:
        imax = m - 1
    else:
        imax = 0
        for i in range(m):
            if abs(max_in - edges[i]) < abs(max_in - edges[imax]):
                imax = i
    peak = edges[imax]
    width = math.nan
    half = 0.5 * float(weights[imax])
    for i in range(imax, m):
        if weights[i] <= half and weights[i] != 0:
            width = float(abs(peak - edges[i]))
            break
    for i in range(imax):
        if weights[i] >= half and weights[i] != 0:
            width = max(width, float(abs(peak - edges[i]))) if not math.isnan(width) else width
            break
    return float(imax), float(peak), width


def test_registered():
    assert lookup("histogram") is histogram.histogram
    assert lookup("histogram_stats") is histogram.histogram_stats
    assert histogram.histogram.signature == "(n),(m),(p)"
    assert histogram.histogram_stats.signature == "(n),(m),(),(),(),()"
    assert histogram.histogram_stats.types == ["ffffff->", "dddddd->"]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("bins", [1, 3, 100])
def test_histogram(dtype, bins):
    rng = np.random.default_rng(bins)
    w = (rng.normal(size=(4, 999)) * 13.7 + 3).astype(dtype)
    w[3] = np.round(w[3])  # many samples on edges
    counts = np.zeros((4, bins), dtype)
    edges = np.zeros((4, bins + 1), dtype)
    histogram.histogram(w, counts, edges)
    for row in range(4):
        c, e = hist_ref(w[row], bins)
        np.testing.assert_array_equal(edges[row], e)
        np.testing.assert_array_equal(counts[row], c)
        assert counts[row].sum() == (w[row] != w[row].max()).sum()


def test_histogram_flat_nan_and_fatal():
    w = np.full((2, 50), 4.0)
    w[1, 3] = np.nan
    counts = np.ones((2, 10))
    edges = np.zeros((2, 11))
    histogram.histogram(w, counts, edges)
    assert (counts == 0).all()
    assert (edges[0] == 4.0).all() and np.isnan(edges[1]).all()
    with pytest.raises(DSPFatal):
        histogram.histogram(w[0], np.zeros(10), np.zeros(10))


def test_histogram_stats_and_real_sipm(testdata_dir):
    path = testdata_dir / SIPM
    if not path.exists():
        pytest.skip(f"{path} not in the test data")
    wf = ak.to_numpy(read(path, "ch1/raw/waveform")["values"]).astype(np.float64)
    curr = (wf[:, 5:] - wf[:, :-5]) / 5.0
    counts = np.zeros((len(curr), 100))
    edges = np.zeros((len(curr), 101))
    histogram.histogram(curr, counts, edges)
    outs = [np.zeros(len(curr)) for _ in range(3)]
    histogram.histogram_stats(counts, edges, *outs, np.nan)
    for row in range(len(curr)):
        c, e = hist_ref(curr[row], 100)
        np.testing.assert_array_equal(counts[row], c)
        np.testing.assert_array_equal(edges[row], e)
        ref = stats_ref(counts[row], edges[row], math.nan)
        np.testing.assert_array_equal([o[row] for o in outs], ref)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("max_in", [math.nan, -100.0, 0.3, 2.0, 7.9, 100.0])
def test_histogram_stats(dtype, max_in):
    rng = np.random.default_rng(3)
    for _ in range(20):
        weights = rng.integers(0, 9, size=12).astype(dtype)
        edges = np.sort(rng.normal(size=13) * 4).astype(dtype)
        outs = [np.zeros(1, dtype) for _ in range(3)]
        histogram.histogram_stats(weights, edges, *outs, dtype(max_in))
        ref = np.array(stats_ref(weights, edges, float(dtype(max_in))), dtype)
        np.testing.assert_array_equal(np.concatenate(outs), ref)


def test_histogram_stats_nan_and_fatal():
    outs = [np.zeros(1) for _ in range(3)]
    histogram.histogram_stats(np.array([1.0, np.nan]), np.zeros(5), *outs, np.nan)  # NaN first
    assert np.isnan(np.concatenate(outs)).all()
    with pytest.raises(DSPFatal):
        histogram.histogram_stats(np.ones(3), np.zeros(3), *outs, np.nan)
