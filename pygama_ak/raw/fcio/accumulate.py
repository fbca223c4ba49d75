"""Collect decoded event records across input chunks into arrays of ≈ ``out_bytes``.

The kernels write straight into views of these arrays, so a batch handed to the writer is
never copied or concatenated. The next batch gets a set of arrays no batch refers to any
more (reused: its pages are mapped already) or a fresh one (``np.empty``: pages are only
mapped as they are filled).
"""

from __future__ import annotations

import sys

import numpy as np

from ..stream import Batch
from .config import FCIOConfig
from .events import N_REC_COLS
from .tables import event_table, eventheader_table

REC_BYTES = 4 * N_REC_COLS + 24  # per-record columns, unix time, packet id, flags
TRACE_BYTES = 6 + 32  # channel, trace header, 4 dead-time columns
# references to an array nobody else holds: the spare tuple, the loop variable, the argument
_FREE_REFS = 3


class EventAccumulator:
    """Decoded Event/SparseEvent/EventHeader records of one Config, up to ``out_bytes``."""

    def __init__(self, cfg: FCIOConfig, out_bytes: int) -> None:
        self.cfg = cfg
        self.out_bytes = max(int(out_bytes), 1)
        es = cfg.eventsamples
        self.wf_bytes = 2 * es
        # capacities: what out_bytes can hold, and at least one full event
        self.wcap = self.out_bytes // max(self.wf_bytes + TRACE_BYTES, 1) + cfg.ntraces + 1
        self.tcap = self.out_bytes // TRACE_BYTES + cfg.ntraces + 1
        self.rcap = self.out_bytes // REC_BYTES + 1
        self._spare: list[tuple] = []
        self._allocate()

    def _allocate(self) -> None:
        """Fresh output arrays — or a set handed out before that nobody uses any more (its
        pages are mapped already: no page faults, no zeroing)."""
        for i, arrays in enumerate(self._spare):
            if all(sys.getrefcount(a) <= _FREE_REFS for a in arrays):
                self._arrays = self._spare.pop(i)
                break
        else:
            es, t, r = self.cfg.eventsamples, self.tcap, self.rcap
            self._arrays = (
                np.empty((r, N_REC_COLS), dtype=np.int32),  # per-record header words
                np.empty(r, dtype=np.int64),  # unix time, ns
                np.empty(r, dtype=np.int64),  # packet ids
                np.empty(r, dtype=np.int64),  # traces per record
                np.empty(r, dtype=bool),  # record has waveforms
                np.empty(t, dtype=np.uint16),  # channel
                np.empty((t, 2), dtype=np.uint16),  # trace header
                *(np.empty(t, dtype=np.int64) for _ in range(4)),  # dead-time columns, ns
                np.empty((self.wcap, es), dtype=np.uint16),  # waveforms
            )
        (
            self.rec,
            self.unix,
            self.pids,
            self.ntr,
            self.is_wf,
            self.chan,
            self.theader,
            self.dint,
            self.dead,
            self.run,
            self.life,
            self.wf,
        ) = self._arrays
        self.nr = self.nt = self.nw = 0
        self.nbytes = 0

    def fit(self, ntr: np.ndarray, is_wf: np.ndarray) -> int:
        """How many of these records (in order) still fit (≥ 1 when empty)."""
        wf_tr = ntr * is_wf
        nbytes = self.nbytes + np.cumsum(REC_BYTES + ntr * TRACE_BYTES + wf_tr * self.wf_bytes)
        ok = (
            (nbytes <= self.out_bytes)
            & (self.nt + np.cumsum(ntr) <= self.tcap)
            & (self.nw + np.cumsum(wf_tr) <= self.wcap)
            & (self.nr + np.arange(1, len(ntr) + 1) <= self.rcap)
        )
        k = int(np.argmin(ok)) if not ok.all() else len(ntr)
        return max(k, 1) if self.nr == 0 else k

    def views(self) -> tuple:
        """Output arrays from the current fill on, in :func:`~.events.decode_events` order."""
        r, t = self.nr, self.nt
        return (
            self.rec[r:],
            self.unix[r:],
            self.chan[t:],
            self.theader[t:],
            self.dint[t:],
            self.dead[t:],
            self.run[t:],
            self.life[t:],
            self.wf[self.nw :],
        )

    def advance(self, pids: np.ndarray, ntr: np.ndarray, is_wf: np.ndarray) -> None:
        """Account for ``len(ntr)`` records just decoded into :meth:`views`."""
        k = len(ntr)
        r = self.nr
        self.pids[r : r + k] = pids
        self.ntr[r : r + k] = ntr
        self.is_wf[r : r + k] = is_wf
        self.nr += k
        self.nt += int(ntr.sum())
        wf_tr = int(ntr[is_wf].sum())
        self.nw += wf_tr
        self.nbytes += k * REC_BYTES + int(ntr.sum()) * TRACE_BYTES + wf_tr * self.wf_bytes

    @property
    def full(self) -> bool:
        return self.nbytes >= self.out_bytes

    def take(self) -> list[Batch]:
        """The collected records as FCEvent / FCEventHeader batches; starts afresh."""
        if self.nr == 0:
            return []
        cfg = self.cfg
        r, t = self.nr, self.nt
        rec, unix, pids, ntr, is_wf = (
            self.rec[:r],
            self.unix[:r],
            self.pids[:r],
            self.ntr[:r],
            self.is_wf[:r],
        )
        # compact copies (38 bytes a trace): the writer may hold rows of a column until its
        # HDF5 chunk is full, which must not pin these arrays of batch capacity
        per_trace = tuple(
            a[:t].copy()
            for a in (self.chan, self.theader, self.dint, self.dead, self.run, self.life)
        )
        wf = self.wf[: self.nw]
        out = []
        if is_wf.any():
            if is_wf.all():
                cols = (rec, unix, pids, ntr, *per_trace)
            else:
                tr = np.repeat(is_wf, ntr)
                cols = (
                    rec[is_wf],
                    unix[is_wf],
                    pids[is_wf],
                    ntr[is_wf],
                    *(a[tr] for a in per_trace),
                )
            tbl, keys = event_table(cfg, *cols, wf)
            out.append(Batch("FCEventDecoder", tbl, keys))
        if not is_wf.all():
            hdr = ~is_wf
            tr = np.repeat(hdr, ntr)
            tbl = eventheader_table(
                cfg, rec[hdr], unix[hdr], pids[hdr], ntr[hdr], *(a[tr] for a in per_trace)
            )
            keys = np.full(len(tbl), f"fcid_{cfg.fcid}/evt_hdr", dtype=object)
            out.append(Batch("FCEventHeaderDecoder", tbl, keys))
        if len(self._spare) < 2:
            self._spare.append(self._arrays)
        self._arrays = ()
        self._allocate()
        return out
