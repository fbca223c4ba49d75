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


# ------------------------------------------------------------- interpolated_time_point_thresh
def interp_value(w: np.ndarray, thr: float, i: int, step: int, mode: str) -> float:
    """Crossing between samples i and i+step (w[i] on the near side) for a mode character."""
    t = w.dtype.type
    if mode == "i":
        return i
    if mode in "af":
        return i if step < 0 else i + 1
    if mode in "bc":
        return i if step > 0 else i - 1
    if mode == "r":
        return i if t(thr - w[i]) < t(w[i + step] - thr) else i + step
    if mode == "n":
        return i + 0.5 * step
    return i + float(t(t(thr - w[i]) / t(w[i + step] - w[i])))


def interpolated_ref(w: np.ndarray, thr: float, start: float, forward: int, mode: str) -> float:
    """Sample i before the crossing (forward from start, or backward from start but not below
    i = 1), then refined by the mode; NaN for no crossing or start outside [0, len)."""
    if not 0 <= start < len(w):
        return np.nan
    before = None
    if forward > 0:
        for i in range(int(start), len(w) - 1):
            if w[i] <= thr < w[i + 1] or w[i] >= thr > w[i + 1]:
                before = i
                break
    else:
        for i in range(int(start), 1, -1):
            if w[i - 1] < thr <= w[i] or w[i - 1] > thr >= w[i]:
                before = i - 1
                break
    if before is None:
        return np.nan
    t = w.dtype.type
    if mode == "r":
        return before if abs(t(thr - w[before])) < abs(t(thr - w[before + 1])) else before + 1
    return interp_value(w, thr, before, 1, "b" if mode in "ic" else mode)


def test_interpolated_interface():
    f = lookup("interpolated_time_point_thresh")
    assert f.signature == "(n),(),(),(),()->()"
    assert f.types == ["ffflb->f", "dddlb->d"]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("mode", list("ibarnlfc"))
def test_interpolated_random(dtype, mode):
    rng = np.random.default_rng(11)
    x = np.cumsum(rng.integers(-3, 4, size=(40, 60)), axis=1).astype(dtype)
    thr = (rng.integers(-8, 8, size=40) + 0.5 * rng.integers(0, 2, size=40)).astype(dtype)
    start = rng.integers(-2, 62, size=40).astype(dtype)
    f = lookup("interpolated_time_point_thresh")
    for walk in (0, 1, -3, 5):
        out = f(x, thr, start, walk, np.int8(ord(mode)))
        expected = [interpolated_ref(x[r], thr[r], start[r], walk, mode) for r in range(40)]
        np.testing.assert_array_equal(out, np.array(expected, dtype))


def test_interpolated_real_rising_edges(blsub):
    f = lookup("interpolated_time_point_thresh")
    tmax = np.argmax(blsub, axis=1).astype(np.float32)
    thr = np.float32(0.5) * blsub.max(axis=1)
    out = f(blsub, thr, tmax, 0, np.int8(ord("l")))
    for r in range(len(blsub)):
        assert out[r] == np.float32(interpolated_ref(blsub[r], thr[r], tmax[r], 0, "l"))
        i = int(out[r])  # linear interpolation lands between the two samples around thr
        assert blsub[r, i] <= thr[r] <= blsub[r, i + 1] or blsub[r, i] >= thr[r] >= blsub[r, i + 1]


def test_interpolated_nan_and_fatal():
    f = lookup("interpolated_time_point_thresh")
    w = np.arange(10, dtype=np.float32)
    l_mode = np.int8(ord("l"))
    assert f(w, np.float32(4.25), np.float32(0), 1, l_mode) == np.float32(4.25)
    bad = w.copy()
    bad[9] = np.nan
    assert np.isnan(f(bad, np.float32(4.25), np.float32(0), 1, l_mode))
    assert np.isnan(f(w, np.float32(np.nan), np.float32(0), 1, l_mode))
    assert np.isnan(f(w, np.float32(4.25), np.float32(np.nan), 1, l_mode))
    assert np.isnan(f(w, np.float32(4.25), np.float32(10), 1, l_mode))  # out of range: NaN
    assert np.isnan(f(w, np.float32(0.5), np.float32(9), 0, l_mode))  # backward: not w[0]..w[1]
    assert f(w, np.float32(1.5), np.float32(9), 0, l_mode) == np.float32(1.5)
    assert np.isnan(f(w, np.float32(20), np.float32(0), 1, np.int8(ord("x"))))  # no crossing
    with pytest.raises(DSPFatal, match="Unrecognized"):
        f(w, np.float32(4.25), np.float32(0), 1, np.int8(ord("x")))


# ------------------------------------------------------------------ multi_time_point_thresh
def multi_ref(w: np.ndarray, thr: np.ndarray, start: float, polarity: float, mode: str):
    """Thresholds ≥ w[start] in increasing order, each searched walking with the slope from
    the previous one's crossing (first: start); lower ones in decreasing order walking back
    from start-1. A crossing at i: w[i] ≤ thr < w[i+step] (negative indices wrap)."""
    out = np.full(len(thr), np.nan, w.dtype)
    if np.isnan(w).any() or np.isnan(thr).any() or not 0 <= start < len(w):
        return out
    step = 1 if polarity > 0 else -1
    s = int(start)
    order = sorted(range(len(thr)), key=lambda k: thr[k])
    up = [k for k in order if thr[k] >= w[s]]
    down = [k for k in order if thr[k] < w[s]][::-1]
    for ks, i, walk, last in ((up, s, step, len(w) - 1 if step > 0 else -1),
                              (down, s - 1, -step, len(w) - 1 if step < 0 else -1)):
        for k in ks:
            while i != last and not w[i] <= thr[k] < w[i + step]:
                i += walk
            if i == last:
                break
            out[k] = interp_value(w, thr[k], i, step, mode)
    return out


def test_multi_interface():
    f = lookup("multi_time_point_thresh")
    assert f.signature == "(n),(m),(),(),()->(m)"
    assert f.types == ["ffffb->f", "ddddb->d"]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("mode", list("ibarnlfc"))
def test_multi_random(dtype, mode):
    rng = np.random.default_rng(5)
    x = np.cumsum(rng.normal(size=(30, 80)), axis=1).astype(dtype)
    thr = (rng.normal(size=(30, 6)) * 4).astype(dtype)
    thr[:, 5] = thr[:, 4]  # a repeated threshold
    start = rng.integers(0, 80, size=30).astype(dtype)
    f = lookup("multi_time_point_thresh")
    for polarity in (1.0, -2.0):
        out = f(x, thr, start, dtype(polarity), np.int8(ord(mode)))
        for r in range(30):
            np.testing.assert_array_equal(out[r], multi_ref(x[r], thr[r], start[r], polarity, mode))


def test_multi_real_rise_times(blsub):
    """10/50/90 % points of the rising edges, searched back from the maximum."""
    f = lookup("multi_time_point_thresh")
    tmax = np.argmax(blsub, axis=1).astype(np.float32)
    thr = blsub.max(axis=1)[:, None] * np.array([0.9, 0.1, 0.5], np.float32)
    out = f(blsub, thr, tmax, np.float32(1), np.int8(ord("l")))
    for r in range(len(blsub)):
        np.testing.assert_array_equal(out[r], multi_ref(blsub[r], thr[r], tmax[r], 1, "l"))
    found = ~np.isnan(out).any(axis=1)
    assert found.sum() > 20
    assert (out[found, 1] < out[found, 2]).all() and (out[found, 2] < out[found, 0]).all()


def test_multi_nan_and_fatal():
    f = lookup("multi_time_point_thresh")
    w = np.arange(10, dtype=np.float64)
    thr = np.array([2.5, 7.5])
    i_mode = np.int8(ord("i"))
    np.testing.assert_array_equal(f(w, thr, 5.0, 1.0, i_mode), [2, 7])
    for args in [(w, np.array([2.5, np.nan]), 5.0), (w, thr, np.nan), (w, thr, 10.0)]:
        assert np.isnan(f(*args, 1.0, i_mode)).all()
    bad = w.copy()
    bad[0] = np.nan
    assert np.isnan(f(bad, thr, 5.0, 1.0, i_mode)).all()
    with pytest.raises(DSPFatal, match="polarity"):
        f(w, thr, 5.0, 0.0, i_mode)
    with pytest.raises(DSPFatal, match="Unrecognized"):
        f(w, thr, 5.0, 1.0, np.int8(ord("x")))


# ------------------------------------------------------- bi_level_zero_crossing_time_points
def bi_level_ref(w, pos, neg, gate, start, slots):
    """A bipolar pulse is below neg (sample a), crosses 0 upward (sample z), then passes pos
    at sample b < a + gate: polarity 0 at z; mirror for polarity 1. A threshold passage that
    does not complete a pulse starts a new one; passages remembered at sample 0 count as none."""
    times, polarities = [], []
    above = below = 0
    zero = {"up": None, "down": None}
    crossed = False
    for i in range(int(start), len(w) - 1):
        a, b = w[i], w[i + 1]
        if below and a <= 0 < b:
            crossed, zero["up"] = True, i
        if a <= pos < b:
            if crossed and below:
                if i - below < gate:
                    times.append(zero["up"])
                    polarities.append(0)
                else:
                    above = i
                below, crossed = 0, False
            else:
                above = i
        if above and a >= 0 > b:
            crossed, zero["down"] = True, i
        if a >= neg > b:
            if crossed and above:
                if i - above < gate:
                    times.append(zero["down"])
                    polarities.append(1)
                else:
                    below = i
                above, crossed = 0, False
            else:
                below = i
    t_out = np.full(slots, np.nan)
    p_out = np.full(slots, np.nan)
    t_out[: min(slots, len(times))] = times[:slots]
    p_out[: min(slots, len(times))] = polarities[:slots]
    return len(times), p_out, t_out


def test_bi_level_interface():
    f = lookup("bi_level_zero_crossing_time_points")
    assert f.signature == "(n),(),(),(),(),(),(m),(m)"
    assert f.types == ["fffffIff->", "dddddIdd->"]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("gate", [4, 15, 1000])
def test_bi_level_random(dtype, gate):
    rng = np.random.default_rng(9)
    t = np.arange(400)
    x = np.sin(t / rng.uniform(4, 12, size=(25, 1))) * rng.uniform(0.5, 3, size=(25, 1))
    x = (x + rng.normal(scale=0.3, size=x.shape)).astype(dtype)
    count = np.zeros(25, np.uint32)
    pol = np.zeros((25, 6), dtype)
    times = np.zeros((25, 6), dtype)
    f = lookup("bi_level_zero_crossing_time_points")
    f(x, dtype(1), dtype(-1), dtype(gate), dtype(3), count, pol, times)
    for r in range(25):
        n, p_ref, t_ref = bi_level_ref(x[r], dtype(1), dtype(-1), gate, 3, 6)
        assert count[r] == n
        np.testing.assert_array_equal(pol[r], p_ref.astype(dtype))
        np.testing.assert_array_equal(times[r], t_ref.astype(dtype))
    if gate == 1000:
        assert count.max() > 6  # some rows overflow the slots


def test_bi_level_nan_and_fatal():
    f = lookup("bi_level_zero_crossing_time_points")
    w = np.sin(np.arange(100) / 5.0)
    count = np.full(1, 7, np.uint32)
    pol, times = np.zeros(3), np.zeros(3)
    f(w, 0.5, -0.5, 100.0, np.nan, count, pol, times)
    assert count[0] == 7 and np.isnan(pol).all() and np.isnan(times).all()
    f(w, 0.5, -0.5, 100.0, 0.0, count, pol, times)
    assert count[0] > 0 and not np.isnan(times).any()
    with pytest.raises(DSPFatal, match="integer"):
        f(w, 0.5, -0.5, 100.0, 0.5, count, pol, times)
    with pytest.raises(DSPFatal, match="out of range"):
        f(w, 0.5, -0.5, 100.0, 100.0, count, pol, times)
    with pytest.raises(ValueError):  # both outputs are (m): numpy rejects different lengths
        f(w, 0.5, -0.5, 100.0, 0.0, count, pol, np.zeros(4))
