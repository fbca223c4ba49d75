"""time_point_thresh: the asymmetric forward/backward crossing search of dspeed."""

from __future__ import annotations

import numpy as np
import pytest

from pygama_ak.dsp.errors import DSPFatal
from pygama_ak.dsp.processors import lookup
from pygama_ak.dsp.processors.baseline import bl_subtract
from pygama_ak.dsp.processors.time_point_thresh import time_point_thresh


@pytest.fixture(scope="module")
def blsub(p03_waveforms):
    waves, bases = p03_waveforms
    return bl_subtract(waves, bases.astype(np.float32))


def reference(w: np.ndarray, thr: float, start: int, forward: bool) -> float:
    """Forward: first i ≥ start with w[i] ≤ thr < w[i+1] or w[i] ≥ thr > w[i+1] (sample before
    the crossing). Backward: first i ≤ start with w[i−1] < thr ≤ w[i] or w[i−1] > thr ≥ w[i]
    (sample after it)."""
    if forward:
        for i in range(start, len(w) - 1):
            if w[i] <= thr < w[i + 1] or w[i] >= thr > w[i + 1]:
                return i
    else:
        for i in range(start, 0, -1):
            if w[i - 1] < thr <= w[i] or w[i - 1] > thr >= w[i]:
                return i
    return np.nan


def test_interface():
    assert lookup("time_point_thresh") is time_point_thresh
    assert time_point_thresh.signature == "(n),(),(),()->()"
    assert time_point_thresh.types == ["ffff->f", "dddd->d"]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_random_both_directions(dtype):
    rng = np.random.default_rng(7)
    x = rng.integers(-5, 6, size=(40, 60)).astype(dtype)  # plateaus: equality matters
    thr = rng.integers(-5, 6, size=40).astype(dtype)
    start = rng.integers(0, 60, size=40).astype(dtype)
    for walk in (0, 1):
        out = time_point_thresh(x, thr, start, dtype(walk))
        assert out.dtype == dtype
        expected = [reference(x[r], thr[r], int(start[r]), walk == 1) for r in range(40)]
        np.testing.assert_array_equal(out, np.array(expected, dtype))


def test_asymmetry_on_a_ramp():
    w = np.arange(10, dtype=np.float32)  # crosses 4.5 between samples 4 and 5
    assert time_point_thresh(w, np.float32(4.5), np.float32(0), np.float32(1)) == 4
    assert time_point_thresh(w, np.float32(4.5), np.float32(9), np.float32(0)) == 5
    # exact hits: forward needs w[i] ≤ thr < w[i+1], backward w[i−1] < thr ≤ w[i]
    assert time_point_thresh(w, np.float32(4), np.float32(0), np.float32(1)) == 4
    assert time_point_thresh(w, np.float32(4), np.float32(9), np.float32(0)) == 4
    # falling crossings are found too; any integer other than 1 walks backward
    assert time_point_thresh(w[::-1].copy(), np.float32(4.5), np.float32(0), np.float32(1)) == 4
    assert time_point_thresh(w, np.float32(4.5), np.float32(9), np.float32(-1)) == 5
    # no crossing, or starting at the last sample going forward: NaN
    assert np.isnan(time_point_thresh(w, np.float32(20), np.float32(0), np.float32(1)))
    assert np.isnan(time_point_thresh(w, np.float32(4.5), np.float32(9), np.float32(1)))
    assert np.isnan(time_point_thresh(w, np.float32(4.5), np.float32(0), np.float32(0)))


def test_real_rising_edges(blsub):
    tmax = np.argmax(blsub, axis=1).astype(np.float32)
    amp = blsub.max(axis=1)
    for frac in (0.1, 0.5, 0.9):
        out = time_point_thresh(blsub, np.float32(frac) * amp, tmax, np.float32(0))
        for r in range(len(blsub)):
            exp = reference(blsub[r], np.float32(frac) * amp[r], int(tmax[r]), False)
            np.testing.assert_array_equal(out[r], exp)
            if not np.isnan(out[r]):  # the sample after a crossing (either direction)
                i, thr = int(out[r]), np.float32(frac) * amp[r]
                assert blsub[r, i - 1] < thr <= blsub[r, i] or blsub[r, i - 1] > thr >= blsub[r, i]
    start = np.full(len(blsub), 100, np.float32)
    out = time_point_thresh(blsub.astype(np.float64), 0.5 * amp.astype(np.float64), start, 1.0)
    expected = [
        reference(blsub[r].astype(np.float64), 0.5 * float(amp[r]), 100, True)
        for r in range(len(blsub))
    ]
    np.testing.assert_array_equal(out, expected)


def test_nan_inputs_give_nan():
    w = np.arange(10, dtype=np.float32)
    bad = w.copy()
    bad[8] = np.nan  # a NaN anywhere, even outside the searched part
    assert np.isnan(time_point_thresh(bad, np.float32(2.5), np.float32(0), np.float32(1)))
    for args in [(np.nan, 0, 1), (2.5, np.nan, 1), (2.5, 0, np.nan)]:
        assert np.isnan(time_point_thresh(w, *map(np.float32, args)))
    # NaN start comes before the range check: no DSPFatal
    assert np.isnan(time_point_thresh(w, np.float32(2.5), np.float32(np.nan), np.float32(7.5)))
    rows = np.stack([w, bad, w])
    out = time_point_thresh(rows, np.float32(2.5), np.float32(0), np.float32(1))
    np.testing.assert_array_equal(out, [2, np.nan, 2])


@pytest.mark.parametrize(
    ("start", "walk", "msg"),
    [
        (1.5, 1, "must be an integer"),
        (1, 0.5, "search direction"),
        (-1, 1, "out of range"),
        (10, 0, "out of range"),
    ],
)
def test_fatal(start, walk, msg):
    w = np.arange(10, dtype=np.float64)
    with pytest.raises(DSPFatal, match=msg):
        time_point_thresh(w, 2.5, float(start), float(walk))
