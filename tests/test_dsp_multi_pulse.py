"""Peak finding, the SNR cut and peak amplitudes against plain Python re-statements."""

from __future__ import annotations

import math

import awkward as ak
import numpy as np
import pytest

from pygama_ak.dsp.errors import DSPFatal
from pygama_ak.dsp.processors import lookup, multi_pulse
from pygama_ak.lh5 import read

SIPM = "lh5/L200-comm-20211130-phy-spms.lh5"


def peakdet_ref(w, d_max, d_min, abs_max, abs_min, backward, cap):
    """Billauer's peakdet: tag a maximum once the data drop d_max below it, then look for a
    minimum until they rise d_min above it, and so on (lists stop at `cap`)."""
    t = w.dtype.type
    order = range(len(w) - 1, -1, -1) if backward else range(len(w))
    maxima, minima = [], []
    imax = imin = order[0]
    looking_for_max = True
    for i in order:
        if w[i] > w[imax]:
            imax = i
        if w[i] < w[imin]:
            imin = i
        if looking_for_max:
            if w[i] < t(w[imax] - t(d_max)) and len(maxima) < cap and w[imax] > t(abs_max):
                maxima.append(imax)
                imin = i
                looking_for_max = False
        elif w[i] > t(w[imin] + t(d_min)) and len(minima) < cap and w[imin] < t(abs_min):
            minima.append(imin)
            imax = i
            looking_for_max = True
    return maxima, minima


def extrema_ref(w, d_max, d_min, direction, abs_max, abs_min, cap):
    left = peakdet_ref(w, d_max, d_min, abs_max, abs_min, False, cap)
    right = peakdet_ref(w, d_max, d_min, abs_max, abs_min, True, cap)
    if direction == 0:
        return left
    if direction == 1:
        return right
    if direction == 2:
        return tuple([i for i in lst if i in set(other)] for lst, other in zip(left, right))
    return tuple(sorted(set(lst) | set(other))[:cap] for lst, other in zip(left, right))


def padded(values, cap, dtype):
    out = np.full(cap, np.nan, dtype)
    out[: len(values)] = values
    return out


def noisy_pulses(rng, n=3000, rows=3):
    w = rng.normal(size=(rows, n)) * 0.5
    for row in range(rows):
        for pos in rng.integers(100, n - 100, size=rng.integers(0, 30)):
            w[row, pos : pos + 60] += rng.uniform(3, 20) * np.exp(-np.arange(60) / 12.0)
    return w


def test_registered():
    for name in ("get_multi_local_extrema", "peak_snr_threshold", "multi_a_filter"):
        assert lookup(name) is getattr(multi_pulse, name)
    assert multi_pulse.get_multi_local_extrema.signature == "(n),(),(),(),(),(),(m),(m),(),()"
    assert multi_pulse.get_multi_local_extrema.types == ["ffffffffII->", "ddddddddII->"]
    assert multi_pulse.peak_snr_threshold.signature == "(n),(m),(),()->(m),()"
    assert multi_pulse.peak_snr_threshold.types == ["ffff->fI", "dddd->dI"]
    assert multi_pulse.multi_a_filter.signature == "(n),(m)->(m)"


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("direction", [0, 1, 2, 3])
@pytest.mark.parametrize("cap", [3, 20])
def test_get_multi_local_extrema(dtype, direction, cap):
    rng = np.random.default_rng(direction + cap)
    w = noisy_pulses(rng).astype(dtype)
    shape = (len(w), cap)
    vt_max, vt_min = np.zeros(shape, dtype), np.zeros(shape, dtype)
    n_max, n_min = np.zeros(len(w), np.uint32), np.zeros(len(w), np.uint32)
    abs_max = np.array([1.5, -np.inf, np.nan], dtype)
    multi_pulse.get_multi_local_extrema(
        w, dtype(2), dtype(0.5), dtype(direction), abs_max, dtype(0), vt_max, vt_min, n_max, n_min
    )
    for row in range(len(w)):
        maxima, minima = extrema_ref(w[row], 2, 0.5, direction, abs_max[row], 0, cap)
        assert n_max[row] == len(maxima) and n_min[row] == len(minima)
        np.testing.assert_array_equal(vt_max[row], padded(maxima, cap, dtype))
        np.testing.assert_array_equal(vt_min[row], padded(minima, cap, dtype))


def test_get_multi_local_extrema_nan_and_fatal():
    w = np.sin(np.arange(100) / 5.0)
    out = [np.zeros(5), np.zeros(5), np.ones(1, np.uint32), np.ones(1, np.uint32)]
    multi_pulse.get_multi_local_extrema(w, np.nan, 0.1, 0.0, 0.0, 0.0, *out)
    assert np.isnan(out[0]).all() and out[2][0] == 0 and out[3][0] == 0
    w_nan = w.copy()
    w_nan[50] = np.nan
    multi_pulse.get_multi_local_extrema(w_nan, 0.1, 0.1, 0.0, 0.0, 0.0, *out)
    assert np.isnan(out[1]).all() and out[2][0] == 0
    bad = [
        (w[:5], 0.1, 0.1, 0.0),  # capacity not below the waveform length
        (w, -0.1, 0.1, 0.0),  # negative delta
        (w, 0.1, 0.1, 4.0),  # unknown direction
    ]
    for wave, d_max, d_min, direction in bad:
        with pytest.raises(DSPFatal):
            multi_pulse.get_multi_local_extrema(wave, d_max, d_min, direction, 0.0, 0.0, *out)


def snr_ref(w, idx, ratio, width):
    t = w.dtype.type
    kept = []
    for v in idx:
        if math.isnan(v) or not -1 < v < len(w):
            continue
        peak = int(v)
        lo, hi = max(peak - int(width), 0), min(peak + int(width), len(w) - 1)
        low = lo
        for j in range(lo, hi):
            if w[j] < w[low]:
                low = j
        if abs(t(w[low] / w[peak])) < t(ratio):
            kept.append(v)
    return kept


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_peak_snr_threshold(dtype):
    rng = np.random.default_rng(7)
    w = (noisy_pulses(rng, rows=4) + 1).astype(dtype)
    idx = np.full((4, 20), np.nan, dtype)
    for row in range(4):
        cand = rng.integers(0, w.shape[1], size=rng.integers(0, 20))
        idx[row, : len(cand)] = cand
    idx[0, 0], idx[0, 1] = 0, w.shape[1] - 1  # windows clipped at both ends
    out = np.zeros_like(idx)
    count = np.zeros(4, np.uint32)
    multi_pulse.peak_snr_threshold(w, idx, dtype(0.8), dtype(10), out, count)
    for row in range(4):
        kept = snr_ref(w[row], idx[row], 0.8, 10)
        assert count[row] == len(kept)
        np.testing.assert_array_equal(out[row], padded(kept, 20, dtype))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_multi_a_filter(dtype):
    w = np.arange(100, dtype=dtype) * dtype(1.5)
    idx = np.array([3, 99, np.nan, 0, -1, 100, np.nan, 42], dtype)
    out = np.zeros(8, dtype)
    multi_pulse.multi_a_filter(w, idx, out)
    np.testing.assert_array_equal(out, [4.5, 148.5, np.nan, 0, np.nan, np.nan, np.nan, 63])
    w_nan = w.copy()
    w_nan[7] = np.nan
    multi_pulse.multi_a_filter(w_nan, idx, out)
    assert np.isnan(out).all()
    with pytest.raises(DSPFatal):
        multi_pulse.multi_a_filter(w, np.array([2.5], dtype), out[:1])
    with pytest.raises(DSPFatal):
        multi_pulse.multi_a_filter(w[:8], idx, out)


def test_sipm_chain_on_real_waveforms(testdata_dir):
    """curr -> extrema (5, 0.1, right, 3*fwhm-like, 0; 20 slots) -> SNR 0.8/10 -> amplitudes."""
    path = testdata_dir / SIPM
    if not path.exists():
        pytest.skip(f"{path} not in the test data")
    wf = ak.to_numpy(read(path, "ch2/raw/waveform")["values"]).astype(np.float64)
    curr = (wf[:, 5:] - wf[:, :-5]) / 5.0
    rows = len(curr)
    abs_max = 3 * np.std(curr, axis=1)
    vt_max, vt_min = np.zeros((rows, 20)), np.zeros((rows, 20))
    n_max, n_min = np.zeros(rows, np.uint32), np.zeros(rows, np.uint32)
    multi_pulse.get_multi_local_extrema(
        curr, 5.0, 0.1, 1.0, abs_max, 0.0, vt_max, vt_min, n_max, n_min
    )
    trig = np.zeros((rows, 20))
    n_trig = np.zeros(rows, np.uint32)
    multi_pulse.peak_snr_threshold(curr, vt_max, 0.8, 10.0, trig, n_trig)
    amps = np.zeros((rows, 20))
    multi_pulse.multi_a_filter(curr, trig, amps)
    assert n_max.sum() > 0
    for row in range(rows):
        maxima, minima = peakdet_ref(curr[row], 5.0, 0.1, abs_max[row], 0.0, True, 20)
        np.testing.assert_array_equal(vt_max[row], padded(maxima, 20, np.float64))
        np.testing.assert_array_equal(vt_min[row], padded(minima, 20, np.float64))
        kept = snr_ref(curr[row], vt_max[row], 0.8, 10.0)
        np.testing.assert_array_equal(trig[row], padded(kept, 20, np.float64))
        np.testing.assert_array_equal(
            amps[row], padded(curr[row][np.array(kept, int)], 20, np.float64)
        )
