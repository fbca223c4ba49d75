"""Dead time of FlashCam channels: the bookkeeping fcio-py does per event, in numba.

Every event carries the last dead region the hardware reported (start and stop as PPS and
4 ns ticks) and the range of traces it affects. Per channel this module keeps:

* the trigger-enable time (ns on the FPGA clock): the stop of a first dead region that starts
  at 0 (per-card sparse mode), or else the run start ``timeoffset[5..6]``;
* a ring of pending dead intervals (at most 2048 per channel, as in the hardware): a region
  is queued once (when its stop is later than the last queued stop) and taken off the queue
  by the first event that comes after its end (3 ns of overlap tolerated);
* the interval taken by the current event (``dead_interval``) and the accumulated dead time.

Run time = FPGA time − trigger-enable time; life time = run time − dead time. Events of type
11 (per-card sparse readout) update only the channels ``deadregion[5] .. [5]+[6]``, other
events all ADC channels.
"""

from __future__ import annotations

import numba
import numpy as np

RING = 2048  # pending dead intervals per channel
NSEC_PER_SEC = 1_000_000_000
NSEC_PER_TICK = 4


class DeadTimeState:
    """Per-channel arrays of the bookkeeping for ``n`` traces (reset at every Config)."""

    def __init__(self, n: int) -> None:
        n = max(int(n), 1)
        self.trigger_enable_ns = np.full(n, -1, dtype=np.int64)
        self.dead_ns = np.zeros(n, dtype=np.int64)
        self.interval_ns = np.zeros(n, dtype=np.int64)
        # the rings: pages are only touched as intervals arrive (np.zeros maps lazily)
        self.ring_begin = np.zeros((n, RING), dtype=np.int64)
        self.ring_end = np.zeros((n, RING), dtype=np.int64)
        self.ring_write = np.full(n, RING - 1, dtype=np.int32)
        self.ring_read = np.zeros(n, dtype=np.int32)
        self.ring_fill = np.zeros(n, dtype=np.int32)
        self.scratch = np.zeros(n, dtype=np.int64)

    def arrays(self) -> tuple:
        """The arrays in the order :func:`tracker_update` takes them."""
        return (
            self.trigger_enable_ns,
            self.dead_ns,
            self.interval_ns,
            self.ring_begin,
            self.ring_end,
            self.ring_write,
            self.ring_read,
            self.ring_fill,
            self.scratch,
        )


@numba.njit(cache=True, nogil=True, inline="always")
def _clip(v, lo, hi):
    return lo if v < lo else (hi if v > hi else v)


@numba.njit(cache=True, nogil=True)
def _pending_before(ts_ns, first, n, ring_end, ring_read, ring_fill):
    """Whether the oldest pending interval of the range ends before ``ts_ns`` (+3 ns)."""
    nring = len(ring_fill)
    for k in range(n):
        c = first + k
        if c < 0 or c >= nring:
            continue
        if ring_fill[c] == 0:
            return False
        if ts_ns - ring_end[c, ring_read[c]] > -NSEC_PER_TICK:
            return True
    return False


@numba.njit(cache=True, nogil=True)
def tracker_update(
    evtype,
    fpga_ns,
    dr,
    start_sec,
    start_usec,
    adcs,
    trig_en,
    dead_ns,
    dint_ns,
    ring_begin,
    ring_end,
    ring_write,
    ring_read,
    ring_fill,
    scratch,
):
    """Update the per-channel state with one event; False if a ring overflows.

    ``dr``: the event's 10 dead-region words; ``start_sec``/``start_usec``: timeoffset[5..6].
    """
    nch = min(adcs, len(trig_en))
    nring = len(ring_fill)
    lo = 0
    hi = nch
    if evtype == 11:
        lo = _clip(dr[5], 0, nch)
        hi = _clip(dr[5] + dr[6], lo, nch)
    start = np.int64(dr[0]) * NSEC_PER_SEC + np.int64(dr[1]) * NSEC_PER_TICK
    stop = np.int64(dr[2]) * NSEC_PER_SEC + np.int64(dr[3]) * NSEC_PER_TICK
    unset = False
    for c in range(lo, hi):
        if trig_en[c] == -1:
            unset = True
            break
    if unset:
        if start == 0 and stop > 0:
            trig_en[lo:hi] = stop
        elif start == 0 and stop == 0:
            trig_en[lo:hi] = np.int64(start_sec) * NSEC_PER_SEC + np.int64(start_usec) * 1000
    first = dr[5]
    n = dr[6]
    if start > 0:
        for k in range(n):
            c = first + k
            if c < 0 or c >= nring:
                continue
            if ring_fill[c] >= RING:
                return False
            slot = ring_write[c]
            if stop > ring_end[c, slot]:
                slot = (slot + 1) % RING
                ring_fill[c] += 1
                ring_begin[c, slot] = start
                ring_end[c, slot] = stop
                ring_write[c] = slot
    dint_ns[lo:hi] = 0
    m = min(hi - lo, max(n, 0))
    while _pending_before(fpga_ns, first, n, ring_end, ring_read, ring_fill):
        for k in range(m):
            c = first + k
            scratch[k] = 0
            if 0 <= c < nring and ring_fill[c] > 0:
                slot = ring_read[c]
                scratch[k] = ring_end[c, slot] - ring_begin[c, slot]
                ring_read[c] = (slot + 1) % RING
                ring_fill[c] -= 1
        for k in range(m, n):  # channels beyond the updated range still leave the queue
            c = first + k
            if 0 <= c < nring and ring_fill[c] > 0:
                ring_read[c] = (ring_read[c] + 1) % RING
                ring_fill[c] -= 1
        for k in range(m):
            dint_ns[lo + k] = scratch[k]
            dead_ns[lo + k] += scratch[k]
    return True
