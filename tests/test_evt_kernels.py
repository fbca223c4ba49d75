"""The vectorised per-event reductions against plain Python loops, on random events."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pygama_ak.evt import kernels


@pytest.fixture(params=range(5))
def events(request):
    rng = np.random.default_rng(request.param)
    counts = rng.integers(0, 5, size=200)
    counts[:3] = [0, 1, 0]
    offsets = np.zeros(len(counts) + 1, np.int64)
    np.cumsum(counts, out=offsets[1:])
    n = int(offsets[-1])
    sorter = rng.integers(0, 4, n).astype(float)  # many ties
    sorter[rng.random(n) < 0.2] = np.nan
    return {
        "offsets": offsets,
        "event_of_hit": np.repeat(np.arange(len(counts)), counts),
        "mask": rng.random(n) < 0.7,
        "values": rng.normal(size=n),
        "flags": rng.random(n) < 0.5,
        "keys": rng.integers(1, 5, n),
        "sorter": sorter,
    }


def hits_of(ev, e):
    return [h for h in range(ev["offsets"][e], ev["offsets"][e + 1]) if ev["mask"][h]]


def test_sum_and_truth(events):
    ev = events
    start = np.full(len(ev["offsets"]) - 1, 1.5)
    sums = kernels.segment_sum(ev["offsets"], ev["mask"], ev["values"], start)
    n_pass, n_true = kernels.segment_truth(ev["offsets"], ev["mask"], ev["flags"])
    for e in range(len(start)):
        hits = hits_of(ev, e)
        assert sums[e] == pytest.approx(1.5 + sum(ev["values"][h] for h in hits))
        assert n_pass[e] == len(hits) and n_true[e] == sum(bool(ev["flags"][h]) for h in hits)


@pytest.mark.parametrize("largest", [False, True])
def test_pick(events, largest):
    ev = events
    got = kernels.segment_pick(ev["offsets"], ev["event_of_hit"], ev["mask"], ev["sorter"], largest)
    for e in range(len(got)):
        best = -1
        for h in hits_of(ev, e):
            s = ev["sorter"][h]
            if math.isnan(s):
                continue
            if best < 0 or (s > ev["sorter"][best] if largest else s < ev["sorter"][best]):
                best = h
        assert got[e] == best


def test_match(events):
    ev = events
    rng = np.random.default_rng(9)
    n_events = len(ev["offsets"]) - 1
    per_event = rng.integers(0, 3, n_events)
    target_offsets = np.zeros(n_events + 1, np.int64)
    np.cumsum(per_event, out=target_offsets[1:])
    targets = rng.integers(0, 6, int(target_offsets[-1]))
    got = kernels.segment_match(ev["offsets"], ev["event_of_hit"], ev["mask"], ev["keys"],
                                target_offsets, targets)
    for e in range(n_events):
        for j in range(target_offsets[e], target_offsets[e + 1]):
            expected = next((h for h in hits_of(ev, e) if ev["keys"][h] == targets[j]), -1)
            assert got[j] == expected


@pytest.mark.parametrize("max_hits", [1, 3, 8, 12])
@pytest.mark.parametrize("start_value", [0.0, -0.0, 2.5])
def test_sum_is_bit_for_bit_reduceat(max_hits, start_value):
    """The bincount path sums exactly as np.add.reduceat (signed zeros included); events
    without hits (also at the end) get ``start``."""
    rng = np.random.default_rng(max_hits)
    counts = rng.integers(0, max_hits + 1, 5000)
    counts[-3:] = [2, 0, 0]
    offsets = np.zeros(len(counts) + 1, np.int64)
    np.cumsum(counts, out=offsets[1:])
    n = int(offsets[-1])
    values = rng.normal(size=n) * 10.0 ** rng.integers(-6, 6, n)
    values[rng.random(n) < 0.05] = -0.0
    mask = rng.random(n) < 0.8
    start = np.full(len(counts), start_value)
    got = kernels.segment_sum(offsets, mask, values, start)
    masked = np.where(mask, values, 0.0)
    want = start + 0.0  # events without hits: start + an empty sum (+0.0)
    for e in range(len(counts)):
        if counts[e]:
            want[e] = start[e] + np.add.reduceat(masked[offsets[e]:offsets[e + 1]], [0])[0]
    np.testing.assert_array_equal(got, want)
    assert np.array_equal(np.signbit(got), np.signbit(want))
    assert got[-3] == start_value + masked[-2] + masked[-1] and got[-1] == start_value


def test_match_one_target_per_event(events):
    ev = events
    n_events = len(ev["offsets"]) - 1
    targets = np.random.default_rng(5).integers(0, 6, n_events)
    got = kernels.segment_match(ev["offsets"], ev["event_of_hit"], ev["mask"], ev["keys"],
                                np.arange(n_events + 1), targets)
    for e in range(n_events):
        expected = next((h for h in hits_of(ev, e) if ev["keys"][h] == targets[e]), -1)
        assert got[e] == expected


def test_counts_without_hits():
    offsets = np.array([0, 0, 2, 2, 3, 3])
    mask = np.array([True, False, True])
    assert kernels.segment_count(offsets, mask).tolist() == [0, 1, 0, 1, 0]
    assert kernels.segment_pick(offsets, kernels._event_of_hit(offsets), mask,
                                np.array([2.0, 1.0, np.nan]), False).tolist() == [-1, 0, -1, -1, -1]
    assert kernels.segment_count(np.array([0, 0]), np.zeros(0, bool)).tolist() == [0]
