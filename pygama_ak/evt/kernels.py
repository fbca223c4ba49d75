"""Per-event reductions over the hits of a TCM, vectorised with numpy.

The TCM keeps the hits of one event contiguous: event ``e`` owns hits
``offsets[e]:offsets[e+1]``, and ``event_of_hit`` maps hits back to events. A boolean
``mask`` marks the hits that take part (the operation's channels and query). Every function
is a few whole-array numpy passes (no Python loop over events, no JIT start-up).

Events hold few hits (one per triggered channel), so ``ufunc.reduceat`` — about 10 ns per
event — is avoided where possible: counts and float64 sums use ``np.bincount`` (for events
of up to 8 hits the float64 sums are bit for bit those of ``reduceat``, which sums
``first + (0.0 + second + ...)``; longer events go through ``reduceat``), and picks walk
the events hit position by hit position (the first hit of every event, the second of those
with two or more, ...), which is O(hits) in total.
"""

from __future__ import annotations

import numpy as np

BINCOUNT_MAX_HITS = 8  # numpy sums ≤ 8 values sequentially; beyond, reduceat sums pairwise


def _segment_reduce(ufunc: np.ufunc, values: np.ndarray, offsets: np.ndarray, empty) -> np.ndarray:
    """``ufunc.reduceat`` per event, with ``empty`` for events without hits."""
    counts = np.diff(offsets)
    if len(values) and counts.min() > 0:
        return ufunc.reduceat(values, offsets[:-1])
    out = np.full(len(counts), empty, dtype=values.dtype)
    if len(values):  # reduce over the non-empty events only: a segment ends at the next start
        filled = counts > 0
        out[filled] = ufunc.reduceat(values, offsets[:-1][filled])
    return out


def _event_of_hit(offsets: np.ndarray) -> np.ndarray:
    counts = np.diff(offsets)
    return np.repeat(np.arange(len(counts), dtype=np.int64), counts)


def segment_count(offsets: np.ndarray, mask: np.ndarray,
                  event_of_hit: np.ndarray | None = None) -> np.ndarray:
    """Number of masked hits per event (int64)."""
    n = len(offsets) - 1
    if event_of_hit is None:
        event_of_hit = _event_of_hit(offsets)
    if len(mask) == 0:
        return np.zeros(n, np.int64)
    return np.bincount(event_of_hit, weights=mask, minlength=n).astype(np.int64)


def segment_sum(offsets: np.ndarray, mask: np.ndarray, values: np.ndarray, start: np.ndarray,
                event_of_hit: np.ndarray | None = None) -> np.ndarray:
    """``start[e]`` plus the sum of ``values`` over the masked hits of event e, in the dtype of
    ``values`` and bit for bit as ``np.add.reduceat`` sums: first value + (-0.0 + the others
    in order) — for float64 and ≤ 8 hits per event through ``np.bincount``, whose sums start
    from +0.0 (the same after adding ``start`` unless ``start`` is -0.0)."""
    n = len(offsets) - 1
    counts = np.diff(offsets)
    start = np.asarray(start)
    if values.dtype != np.float64 or not len(values) or counts.max() > BINCOUNT_MAX_HITS or \
            np.any(np.signbit(start) & (start == 0)):  # only -0.0 + a sum shows its zero's sign
        zero = np.zeros((), dtype=values.dtype)
        return start + _segment_reduce(np.add, np.where(mask, values, zero), offsets, zero)
    if event_of_hit is None:
        event_of_hit = _event_of_hit(offsets)
    masked = np.where(mask, values, 0.0)
    if counts.min() > 0:
        heads = offsets[:-1]
        first = masked[heads]
    else:
        filled = counts > 0
        heads = offsets[:-1][filled]
        first = np.zeros(n, np.float64)
        first[filled] = masked[heads]
    masked[heads] = 0.0
    # first + (the others from +0.0): a -0.0 that differs from reduceat vanishes in start + …
    return start + (first + np.bincount(event_of_hit, weights=masked, minlength=n))


def segment_truth(offsets: np.ndarray, mask: np.ndarray, values: np.ndarray,
                  event_of_hit: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Per event: number of masked hits, and how many of them have a true ``values``."""
    if event_of_hit is None:
        event_of_hit = _event_of_hit(offsets)
    return (segment_count(offsets, mask, event_of_hit),
            segment_count(offsets, mask & values.astype(bool, copy=False), event_of_hit))


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
    counts = np.diff(offsets)
    # numbers compare as they are (float32 → float64 keeps the order): no float64 copy
    key = sorter if sorter.dtype.kind in "iuf" else sorter.astype(np.float64)
    valid = mask & ~np.isnan(key) if key.dtype.kind == "f" else mask
    best_hit = np.full(n, -1, np.int64)
    if len(key) == 0 or n == 0:
        return best_hit
    # position 0: the first hit of every non-empty event
    live = np.flatnonzero(counts > 0) if counts.min() == 0 else None
    hit = offsets[:-1] if live is None else offsets[:-1][live]
    ok = valid[hit]
    best_key = key[hit]
    if live is None:
        best_hit[ok] = hit[ok]
        best_valid, best_val = ok, best_key
    else:
        best_hit[live[ok]] = hit[ok]
        best_valid = np.zeros(n, bool)
        best_valid[live] = ok
        best_val = np.zeros(n, key.dtype)
        best_val[live] = best_key
    # positions 1, 2, ...: only the events that have that many hits
    live = np.flatnonzero(counts > 1)
    j = 1
    while len(live):
        hit = offsets[live] + j
        k = key[hit]
        cur = best_val[live]
        better = valid[hit] & (~best_valid[live] | ((k > cur) if largest else (k < cur)))
        won = live[better]
        best_hit[won] = hit[better]
        best_val[won] = k[better]
        best_valid[won] = True
        j += 1
        live = live[counts[live] > j]
    return best_hit


def segment_match(offsets: np.ndarray, event_of_hit: np.ndarray, mask: np.ndarray, keys: np.ndarray,
                  target_offsets: np.ndarray | None, targets: np.ndarray) -> np.ndarray:
    """For every target listed for event e (``targets[target_offsets[e]:target_offsets[e+1]]``;
    ``target_offsets=None``: one target per event), the first masked hit of e whose ``keys``
    equals it; -1 where there is none."""
    n = len(offsets) - 1
    out = np.full(len(targets), -1, np.int64)
    if len(keys) == 0 or len(targets) == 0:
        return out
    if target_offsets is None or (len(targets) == n and
                                  np.array_equal(target_offsets, np.arange(n + 1))):
        # one target per event: compare every hit with its event's target
        candidates = mask & (keys == targets[event_of_hit])
        return _first_per_event(candidates, event_of_hit, n)
    # several targets per event: look (event, key) pairs up in the sorted masked hits
    hits = np.flatnonzero(mask)
    if len(hits) == 0:
        return out
    uniq, rank = np.unique(keys[hits], return_inverse=True)
    width = np.int64(len(uniq) + 1)
    pair = event_of_hit[hits] * width + rank  # (event, key) as one sortable number
    order = np.argsort(pair, kind="stable")  # stable: the first hit of a pair comes first
    pair, hits = pair[order], hits[order]
    target_evt = np.repeat(np.arange(n, dtype=np.int64), np.diff(target_offsets))
    t_rank = np.searchsorted(uniq, targets)
    known = (t_rank < len(uniq)) & (uniq[np.minimum(t_rank, len(uniq) - 1)] == targets)
    want = target_evt * width + np.where(known, t_rank, len(uniq))
    at = np.searchsorted(pair, want, side="left")
    found = known & (at < len(pair)) & (pair[np.minimum(at, len(pair) - 1)] == want)
    out[found] = hits[at[found]]
    return out
