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


# ------------------------------------------------------------------- histogram_around_mode
def around_mode_ref(w: np.ndarray, center: float, width: float, bins: int):
    """Bins of width centred on center (NaN: the fullest bin's centre of hist_ref's histogram,
    rounded to a multiple of width; a flat waveform: its value)."""
    t = w.dtype.type
    if math.isnan(center):
        lo, hi = w.min(), w.max()
        delta = float(t(hi - lo)) / bins
        if delta == 0:
            center = float(lo)
        else:
            counts, edges = hist_ref(w, bins)
            center = float(edges[int(np.argmax(counts))]) + 0.5 * delta
            center = float(np.round(center / float(t(width)))) * float(t(width))
    first = center - float(t(width)) * (bins // 2) - 0.5 * float(t(width))
    edges = np.array([first + float(t(width)) * i for i in range(bins + 1)]).astype(w.dtype)
    counts = np.zeros(bins, w.dtype)
    for v in w:
        k = math.floor(float(t(t(v - edges[0]) / t(width))))
        if 0 <= k < bins:
            counts[k] += 1
    return counts, edges


def test_around_mode_and_peakstats_interface():
    f = lookup("histogram_around_mode")
    assert f is histogram.histogram_around_mode
    assert f.signature == "(n),(),(),(m),(p)" and f.types == ["fffff->", "ddddd->"]
    g = lookup("histogram_peakstats")
    assert g is histogram.histogram_peakstats
    assert g.signature == "(n),(m),(),(),()->(),()" and g.types == ["fffii->ff", "dddii->dd"]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("center", "width", "bins"), [(math.nan, 1.0, 64), (math.nan, 0.37, 31),
                                                       (15000.0, 2.0, 40), (0.0, 5.0, 9)])
def test_histogram_around_mode_real_baselines(p03_waveforms, dtype, center, width, bins):
    waves = p03_waveforms[0][:, :3000].astype(dtype)
    counts = np.zeros((len(waves), bins), dtype)
    edges = np.zeros((len(waves), bins + 1), dtype)
    histogram.histogram_around_mode(waves, dtype(center), dtype(width), counts, edges)
    for r in range(len(waves)):
        c, e = around_mode_ref(waves[r], float(dtype(center)), width, bins)
        np.testing.assert_array_equal(edges[r], e)
        np.testing.assert_array_equal(counts[r], c)
    if math.isnan(center):  # the baseline's mode is inside the histogram
        assert (counts.sum(axis=1) > 0).all()


def test_histogram_around_mode_flat_and_fatal():
    counts, edges = np.zeros(4), np.zeros(5)
    histogram.histogram_around_mode(np.full(10, 3.2), np.nan, 1.0, counts, edges)
    np.testing.assert_allclose(edges, 3.2 + np.arange(-2.5, 2.0))
    assert counts[2] == 10
    with pytest.raises(DSPFatal, match="nan"):
        histogram.histogram_around_mode(np.array([1.0, np.nan]), 0.0, 1.0, counts, edges)
    with pytest.raises(DSPFatal, match="borders_out"):
        histogram.histogram_around_mode(np.ones(3), 0.0, 1.0, counts, np.zeros(4))


# --------------------------------------------------------------------- histogram_peakstats
def peakstats_ref(weights, edges, max_in, skip_zeroes, width_type):
    """Centre of the mode bin; half widths to the near edge of the first bin (walking out,
    mode bin included, empty bins skipped if asked) at or below half the maximum."""
    t = weights.dtype.type
    m = len(weights)
    if math.isnan(max_in):
        imax = int(np.argmax(weights))
    elif max_in > edges[-1]:
        imax = m - 1
    elif max_in < edges[0]:
        imax = 0
    else:
        imax = next((i for i in range(m) if edges[i] <= max_in < edges[i + 1]), 0)
    mode = t(float(edges[imax]) + 0.5 * float(t(edges[imax + 1] - edges[imax])))
    half = 0.5 * float(weights[imax])

    def first_low(indices):
        for i in indices:
            if not (skip_zeroes and weights[i] == 0) and weights[i] <= half:
                return i
        return None

    i = first_low(range(imax, m))
    right = abs(t(mode - edges[m if i is None else i]))
    i = first_low(range(imax, -1, -1))
    left = abs(t(mode - edges[0 if i is None else i + 1]))
    width = [float(left) + float(right), min(left, right), max(left, right), left, right]
    return mode, t(width[width_type])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("skip_zeroes", [0, 1])
@pytest.mark.parametrize("max_in", [math.nan, -100.0, 0.3, 2.0, 100.0])
def test_histogram_peakstats(dtype, skip_zeroes, max_in):
    rng = np.random.default_rng(4)
    for _ in range(20):
        weights = rng.integers(0, 9, size=12).astype(dtype)
        weights[rng.integers(0, 12, size=3)] = 0
        edges = np.sort(rng.normal(size=13) * 4).astype(dtype)
        for width_type in range(5):
            mode, width = histogram.histogram_peakstats(
                weights, edges, dtype(max_in), np.int32(skip_zeroes), np.int32(width_type))
            ref = peakstats_ref(weights, edges, float(dtype(max_in)), skip_zeroes, width_type)
            assert (mode, width) == ref


def test_histogram_peakstats_of_real_baselines(p03_waveforms):
    """The baseline's mode and FWHM from histogram_around_mode (width_type 0: left + right)."""
    waves = p03_waveforms[0][:, :3000].astype(np.float32)
    counts = np.zeros((len(waves), 64), np.float32)
    edges = np.zeros((len(waves), 65), np.float32)
    histogram.histogram_around_mode(waves, np.float32(np.nan), np.float32(1), counts, edges)
    mode, fwhm = histogram.histogram_peakstats(counts, edges, np.float32(np.nan), 0, 0)
    for r in range(len(waves)):
        assert (mode[r], fwhm[r]) == peakstats_ref(counts[r], edges[r], math.nan, 0, 0)
    assert ((mode >= waves.min(axis=1)) & (mode <= waves.max(axis=1))).all()
    assert (fwhm > 0).all()


def test_histogram_peakstats_fatal():
    with pytest.raises(DSPFatal, match="nan"):
        histogram.histogram_peakstats(np.array([1.0, np.nan]), np.zeros(3), np.nan, 0, 0)
    with pytest.raises(DSPFatal, match="edges_in"):
        histogram.histogram_peakstats(np.ones(3), np.zeros(3), np.nan, 0, 0)
    with pytest.raises(DSPFatal, match="width_type"):
        histogram.histogram_peakstats(np.ones(3), np.arange(4.0), np.nan, 0, 5)
