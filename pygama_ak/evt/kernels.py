"""Per-event reductions over the hits of a TCM, vectorised with numpy.

The TCM keeps the hits of one event contiguous: event ``e`` owns hits
``offsets[e]:offsets[e+1]``, and ``event_of_hit`` maps hits back to events. A boolean
``mask`` marks the hits that take part (the operation's channels and query). Every function
is a few whole-array numpy passes (no Python loop over events, no JIT start-up).
"""

from __future__ import annotations

import numpy as np


def _segment_reduce(ufunc: np.ufunc, values: np.ndarray, offsets: np.ndarray, empty) -> np.ndarray:
    """``ufunc.reduceat`` per event, with ``empty`` for events without hits."""
    n = len(offsets) - 1
    if len(values) == 0:
        return np.full(n, empty, dtype=values.dtype)
    starts = np.minimum(offsets[:-1], len(values) - 1)
    out = ufunc.reduceat(values, starts)
    out[offsets[1:] == offsets[:-1]] = empty
    return out


def segment_count(offsets: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Number of masked hits per event."""
    return _segment_reduce(np.add, mask.astype(np.int64), offsets, 0)


def segment_sum(offsets: np.ndarray, mask: np.ndarray, values: np.ndarray, start: np.ndarray) -> np.ndarray:
    """``start[e]`` plus the sum of ``values`` over the masked hits of event e."""
    zero = np.zeros((), dtype=values.dtype)
    return start + _segment_reduce(np.add, np.where(mask, values, zero), offsets, zero)


def segment_truth(offsets: np.ndarray, mask: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per event: number of masked hits, and how many of them have a true ``values``."""
    return segment_count(offsets, mask), segment_count(offsets, mask & values.astype(bool))


def _first_per_event(candidates: np.ndarray, event_of_hit: np.ndarray, n_events: int) -> np.ndarray:
    """Index of the first candidate hit of every event; -1 where there is none."""
    out = np.full(n_events, -1, np.int64)
    hits = np.flatnonzero(candidates)
    events = event_of_hit[hits]
    first = np.ones(len(hits), dtype=bool)
    first[1:] = events[1:] != events[:-1]  # hits are in event order
    out[events[first]] = hits[first]
    return out


def segment_pick(offsets: np.ndarray, event_of_hit: np.ndarray, mask: np.ndarray,
                 sorter: np.ndarray, largest: bool) -> np.ndarray:
    """Per event, the masked hit with the smallest (``largest``: largest) non-NaN ``sorter``;
    ties go to the earlier hit; -1 where there is none."""
    n = len(offsets) - 1
    key = sorter.astype(np.float64, copy=False)
    if largest:
        key = -key
    valid = mask & ~np.isnan(key)
    keyed = np.where(valid, key, np.inf)
    best = _segment_reduce(np.minimum, keyed, offsets, np.inf)
    candidates = valid & (keyed == best[event_of_hit]) if len(keyed) else valid
    return _first_per_event(candidates, event_of_hit, n)


def segment_match(offsets: np.ndarray, event_of_hit: np.ndarray, mask: np.ndarray, keys: np.ndarray,
                  target_offsets: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """For every target listed for event e (``targets[target_offsets[e]:target_offsets[e+1]]``),
    the first masked hit of e whose ``keys`` equals it; -1 where there is none."""
    hits = np.flatnonzero(mask)
    out = np.full(len(targets), -1, np.int64)
    if len(hits) == 0 or len(targets) == 0:
        return out
    # masked hits ordered by (event, key, hit): the first of each (event, key) pair wins
    order = np.lexsort((hits, keys[hits], event_of_hit[hits]))
    hits = hits[order]
    pair_evt, pair_key = event_of_hit[hits], keys[hits].astype(np.int64)
    target_evt = np.repeat(np.arange(len(target_offsets) - 1, dtype=np.int64), np.diff(target_offsets))
    # search (event, key) lexicographically: first by event range, then by key inside it
    lo = np.searchsorted(pair_evt, target_evt, side="left")
    hi = np.searchsorted(pair_evt, target_evt, side="right")
    # binary search of the key within [lo, hi): keys are sorted inside each event block
    left, right = lo.copy(), hi.copy()
    while True:
        active = left < right
        if not active.any():
            break
        mid = (left + right) // 2
        go_right = active & (pair_key[np.minimum(mid, len(pair_key) - 1)] < targets)
        left = np.where(go_right, mid + 1, left)
        right = np.where(active & ~go_right, mid, right)
    for_key = left
    found = (for_key < hi) & (pair_key[np.minimum(for_key, len(pair_key) - 1)] == targets)
    out[found] = hits[for_key[found]]
    return out
