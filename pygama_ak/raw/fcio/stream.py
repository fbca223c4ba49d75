"""FlashCam FCIO files as a :class:`~pygama_ak.raw.stream.DAQStream`.

Records are read chunk by chunk (:mod:`.reader`); event records are decoded by the numba
kernels of :mod:`.events` straight into the arrays of an :class:`.EventAccumulator`, which
yields a batch every ``out_bytes`` of decoded data; Status and Config records (about one per
second and one per run) are decoded in Python and yielded every 4096 rows. The Config starts
a new dead-time bookkeeping (a new run); event decoding follows it. Tables and keys
follow daq2lh5: ``FCEventDecoder`` (one row per trace, key = rawid),
``FCEventHeaderDecoder`` (one row per EventHeader record, key ``fcid_N/evt_hdr``),
``FCStatusDecoder`` (one row per card, key ``fcid_N/status/cardR``) and ``FCConfigDecoder``
(one row per Config record, key ``fcid_N/config``); FSP (software trigger) records →
``FSPConfigDecoder``/``FSPEventDecoder``/``FSPStatusDecoder`` (:mod:`.fsp`).

With ``resync=True`` a corrupt record after the first Config (bad tag or frame size, or
content the event kernels reject) is skipped to the next offset where 3 consecutive records
are valid (:mod:`.reader`); ``stats.skipped`` counts ``"bytes skipped by resync"`` and
``"resyncs"``, and each resync adds a warning.

``packet_id`` counts the records after the first Config (which gets 0); an FSP record shares
the id of the record it annotates (an FSPConfig: the id of its Config). RecEvent, Calib and
unknown records are skipped and counted; so are records before the first Config (except an
FSPConfig right before it) and FSP records without libfsp's layout.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import numpy as np

from ..errors import CorruptFileError, DAQFileError, TruncatedFileError
from ..stream import Batch, DAQStream
from . import fsp as FSP
from . import records as R
from .accumulate import EventAccumulator
from .config import MIN_CONFIG_FRAMES, FCIOConfig, decode_config
from .deadtime import DeadTimeState
from .events import (
    ERR_DEAD_BUFFER,
    ERR_NONE,
    ERROR_TEXT,
    N_STATE,
    count_traces,
    decode_events,
)
from .framing import read_i32
from .reader import (
    DEFAULT_CHUNK_BYTES,
    DEFAULT_MAX_RECORDS,
    RESYNC_CHAIN,
    RecordChunk,
    RecordReader,
    is_fcio,
)
from .status import StatusDecoder
from .tables import config_table

DEFAULT_OUT_BYTES = 4 << 20  # decoded bytes per FCEvent/FCEventHeader batch
SMALL_BATCH_ROWS = 4096  # FCConfig/FCStatus rows per batch (each append has a fixed cost)
_EVENT_TAGS = np.array([R.EVENT, R.SPARSE_EVENT, R.EVENT_HEADER])
_SKIPPED_TAGS = (R.CALIB, R.RECEVENT)
FSP_BATCH_ROWS = 1 << 16  # FSP rows queued before they are yielded


def frame_limit(cfg: FCIOConfig) -> int:
    """Largest frame (bytes) a record under ``cfg`` can hold: a full Event's traces frame
    (traces × (samples + 2) u16) plus 64 KiB for Status, FSP and Config frames."""
    return min(2 * cfg.ntraces * (cfg.eventsamples + 2) + (1 << 16), R.MAX_FRAME_BYTES)


class FCIOStream(DAQStream):
    """Decode an FCIO file: Config, Event, SparseEvent, EventHeader and Status records."""

    format_name = "FlashCam"
    decoder_names = (
        "FCConfigDecoder",
        "FCStatusDecoder",
        "FCEventDecoder",
        "FCEventHeaderDecoder",
        "FSPConfigDecoder",
        "FSPEventDecoder",
        "FSPStatusDecoder",
    )

    def __init__(
        self,
        path: str | os.PathLike,
        *,
        chunk_bytes: int = DEFAULT_CHUNK_BYTES,
        max_records: int = DEFAULT_MAX_RECORDS,
        out_bytes: int = DEFAULT_OUT_BYTES,
        resync: bool = False,
    ) -> None:
        super().__init__(path)
        self.resync = bool(resync)
        self.reader = RecordReader(
            self.path, chunk_bytes=chunk_bytes, max_records=max_records, resync=self.resync
        )
        self.reader.on_resync = self._on_resync
        self.reader.keep_cut = self._keep_cut
        self.out_bytes = int(out_bytes)
        self.cfg: FCIOConfig | None = None
        self.packet_id = 0
        self.records_done = 0  # complete records decoded or skipped so far
        self.state = np.zeros(N_STATE, dtype=np.int32)
        self.dead: DeadTimeState | None = None
        self.acc: EventAccumulator | None = None
        self.config_rows: list[tuple[int, FCIOConfig]] = []  # queued FCConfig rows
        self.status = StatusDecoder()
        self.event_frames = 0  # frames of the last Event record (to spot a cut last record)
        self.fsp = FSP.FSPRows(self.path)
        self.config_pid = 0  # packet id of the Config in effect (FSPConfig rows share it)

    @staticmethod
    def sniff(head: bytes) -> bool:
        return is_fcio(head)

    # ------------------------------------------------------------------ driver
    def batches(self) -> Iterator[Batch]:
        try:
            for chunk in self.reader:
                yield from self._chunk(chunk)
                self.stats.bytes_read = self.reader.bytes_consumed
        except DAQFileError as exc:
            self.stats.bytes_read = exc.offset  # records before the bad one are complete
            if self.acc is not None:
                yield from self.acc.take()
            yield from self._small_tables()
            if exc.records_done is None:
                exc.with_records_done(self.records_done)
            raise
        if self.acc is not None:
            yield from self.acc.take()
        yield from self._small_tables()

    # ------------------------------------------------------------------ embedding
    def decode_chunk(self, chunk: RecordChunk) -> Iterator[Batch]:
        """Decode the records of one chunk that another container (ORCA) framed; ends with
        :meth:`flush`. Errors are raised as for a file, with offsets into ``chunk.buf``."""
        yield from self._chunk(chunk)

    def flush(self) -> Iterator[Batch]:
        """The rows still held (events, configs, status) as batches."""
        if self.acc is not None:
            yield from self.acc.take()
        yield from self._small_tables()

    def _small_tables(self) -> Iterator[Batch]:
        """The queued Config and Status rows (a few per second of data) as batches."""
        if self.config_rows:
            rows, self.config_rows = self.config_rows, []
            keys = np.array([f"fcid_{cfg.fcid}/config" for _, cfg in rows], dtype=object)
            yield Batch("FCConfigDecoder", config_table(rows), keys)
        tbl, keys = self.status.take()
        if tbl is not None:
            yield Batch("FCStatusDecoder", tbl, keys)
        yield from self.fsp.take()

    def _chunk(self, chunk: RecordChunk) -> Iterator[Batch]:
        tags = chunk.tags
        k = len(tags)
        bad: DAQFileError | None = None
        if chunk.last_at_eof:
            reason = self._incomplete(chunk, k - 1)
            if not reason and tags[k - 1] in R.FSP_TAGS:
                reason = (
                    f"the file ends after the {R.tag_name(tags[k - 1])} record, before the FCIO "
                    "record it annotates is complete"
                )
            if reason and k >= 2 and tags[k - 2] in R.FSP_TAGS:  # FSP + its record: one packet
                reason = f"the {R.tag_name(tags[k - 1])} record it annotates is cut: {reason}"
                k -= 1
            if reason:
                k -= 1
                bad = TruncatedFileError(
                    self.path, chunk.base + int(chunk.offs[k]), R.tag_name(tags[k]), reason
                )
        if k:
            self._resolve_fsp(int(tags[0]))
        pids = self._packet_ids(tags[:k]) if chunk.pids is None else chunk.pids[:k]
        starts = [0, *np.flatnonzero(tags[:k] == R.CONFIG).tolist(), k]
        for a, b in zip(starts[:-1], starts[1:]):
            if a < b and tags[a] == R.CONFIG:
                yield from self._config(chunk, a, int(pids[a]))
                a += 1
            if a < b:
                yield from self._segment(chunk, a, b, pids)
            if self.reader.resync_request is not None:  # the rest is scanned again
                return
        if bad is not None:
            raise bad

    def _packet_ids(self, tags: np.ndarray) -> np.ndarray:
        """Record ids: +1 per record after the first Config; FSP records share the next id."""
        real = tags > 0
        if self.cfg is None:  # nothing counts until the first Config
            first = np.flatnonzero(tags == R.CONFIG)
            if len(first) == 0:
                return np.zeros(len(tags), dtype=np.int64)
            real[: first[0] + 1] = False
        fsp = (tags >= R.FSP_CONFIG) & (tags <= R.FSP_STATUS)
        counted = real & ~fsp
        pids = self.packet_id + np.cumsum(counted)
        pids[fsp] += 1
        if self.cfg is None:
            pids[first[0]] = 0
        self.packet_id = int(pids[counted][-1]) if counted.any() else self.packet_id
        return pids

    # ------------------------------------------------------------------ records
    def _config(self, chunk: RecordChunk, r: int, pid: int) -> Iterator[Batch]:
        off = int(chunk.offs[r])
        cfg = decode_config(
            chunk.buf,
            off,
            int(chunk.nframes[r]),
            self.cfg or FCIOConfig(),
            self.path,
            chunk.base + off,
        )
        if self.cfg is None and chunk.pids is None:
            pid = 0
        self.config_pid = pid
        if not cfg.same_layout(self.cfg):  # a repeated Config (concatenated runs) keeps it
            if self.acc is not None:
                yield from self.acc.take()
            self.acc = EventAccumulator(cfg, self.out_bytes)
        self.cfg = cfg
        self.reader.frame_limit = frame_limit(cfg)
        self.dead = DeadTimeState(cfg.ntraces)
        self.stats.records["Config"] += 1
        self.records_done += 1
        if cfg.adcbits not in (12, 16):
            self.stats.warnings.append(
                f"Config at byte {chunk.base + off}: adcbits "
                f"{cfg.adcbits} (FlashCam has 12 or 16): decoded as 16-bit"
            )
        self.config_rows.append((pid, cfg))
        if self.fsp.pending_config is not None:  # the FSPConfig written before this Config
            self.fsp.configs.append((pid, self.fsp.pending_config, cfg.fcid))
            self.fsp.pending_config = None
        if len(self.config_rows) >= SMALL_BATCH_ROWS:
            yield from self._small_tables()

    def _segment(self, chunk: RecordChunk, a: int, b: int, pids: np.ndarray) -> Iterator[Batch]:
        tags = chunk.tags
        seg = tags[a:b]
        if self.cfg is None:
            n = int((seg > 0).sum())
            if b < len(tags) and tags[b] == R.CONFIG and tags[b - 1] == R.FSP_CONFIG:
                self._fsp_config(chunk, b - 1)  # an FSPConfig written before the Config
                self.records_done += 1
                n -= 1
            if n:
                self.stats.skipped["records before the first Config"] += n
            self._count_pseudo(chunk, a, b)
            self.records_done += n
            return
        cfg = self.cfg
        error: DAQFileError | None = None
        stop = b
        ev = a + np.flatnonzero(np.isin(seg, _EVENT_TAGS))
        ntr = np.zeros(len(ev), dtype=np.int64)
        n_ok, err, val = count_traces(
            chunk.buf, tags, chunk.offs, chunk.nframes, ev, cfg.ntraces, cfg.eventsamples + 2, ntr
        )
        if err != ERR_NONE:
            stop = int(ev[n_ok])
            error = self._content_error(chunk, stop, err, val)
            ev, ntr = ev[:n_ok], ntr[:n_ok]
        # event records, decoded straight into the accumulator's arrays
        is_wf = tags[ev] != R.EVENT_HEADER
        i = 0
        while i < len(ev):
            k = self.acc.fit(ntr[i:], is_wf[i:])
            if k == 0:
                yield from self.acc.take()
                continue
            done = self._decode(chunk, ev[i : i + k], ntr[i : i + k])
            self.acc.advance(pids[ev[i : i + done]], ntr[i : i + done], is_wf[i : i + done])
            if done < k:
                stop = int(ev[i + done])
                error = self._content_error(chunk, stop, ERR_DEAD_BUFFER, 0)
                break
            i += k
            if self.acc.full:
                yield from self.acc.take()
        if error is not None:
            yield from self.acc.take()
            if self.resync and chunk.pids is None:  # FSP records of the skipped one: skipped
                while stop > a and tags[stop - 1] in R.FSP_TAGS:
                    stop -= 1
                    self.stats.skipped[R.tag_name(tags[stop])] += 1
        # status records before the stop: one row per card, written in batches
        st = a + np.flatnonzero(seg[: stop - a] == R.STATUS)
        for r in st:
            self.status.decode(
                chunk.buf,
                int(chunk.offs[r]),
                int(chunk.nframes[r]),
                cfg.ncards,
                int(pids[r]),
                cfg.fcid,
            )
        if self.status.nrows >= SMALL_BATCH_ROWS:
            yield from self._small_tables()
        self._fsp_records(chunk, a, stop, pids)
        if self.fsp.nrows >= FSP_BATCH_ROWS:
            yield from self.fsp.take()
        # bookkeeping
        seg = tags[a:stop]
        ev_tags = seg[seg == R.EVENT]
        if len(ev_tags):
            self.event_frames = int(chunk.nframes[a:stop][seg == R.EVENT][-1])
        for tag, n in zip(*np.unique(seg[seg > 0], return_counts=True)):
            name = R.tag_name(tag)
            if tag in R.FSP_TAGS:  # counted by _fsp_records
                continue
            if tag in _SKIPPED_TAGS or tag not in R.TAG_NAMES:
                self.stats.skipped[name] += int(n)
            else:
                self.stats.records[name] += int(n)
        self._count_pseudo(chunk, a, stop)
        self.records_done += int((seg > 0).sum())
        if error is not None:
            if self.resync and chunk.pids is None:  # skip the record: resync after it
                self.reader.resync_request = error.offset
                self.reader.resync_reason = f"{error.record} record: {error.reason}"
                return
            raise error.with_records_done(self.records_done)

    # ------------------------------------------------------------------ FSP records
    def _fsp_records(self, chunk: RecordChunk, a: int, b: int, pids: np.ndarray) -> None:
        """Decode the FSP records among ``chunk`` records ``a..b`` into :attr:`fsp`."""
        tags = chunk.tags
        seg = tags[a:b]
        for r in a + np.flatnonzero(seg == R.FSP_CONFIG):
            self._fsp_config(chunk, int(r))
        for r in a + np.flatnonzero(seg == R.FSP_STATUS):
            off = int(chunk.offs[r])
            try:
                row = FSP.decode_status(chunk.buf, off, int(chunk.nframes[r]))
            except FSP.FSPLayoutError as exc:
                self._fsp_skip(chunk, int(r), exc.field, str(exc))
                continue
            self.fsp.statuses.append((int(pids[r]), row, self.cfg.fcid))
            self.fsp.nrows += 1
            self.stats.records["FSPStatus"] += 1
        sel = a + np.flatnonzero(seg == R.FSP_EVENT)
        if len(sel) == 0:
            return
        self.fsp.event_frames = int(chunk.nframes[sel[-1]])
        cols, ok, problems = FSP.decode_events(chunk.buf, chunk.offs, chunk.nframes, sel)
        for r, name, reason in problems:
            self._fsp_skip(chunk, r, name, reason)
        sel = sel[ok]
        last = len(tags) - 1  # the record after each FSPEvent (0: in the next chunk)
        nxt = np.where(sel < last, tags[np.minimum(sel + 1, last)], 0)
        header = nxt == R.EVENT_HEADER
        mask = header | np.isin(nxt, (R.EVENT, R.SPARSE_EVENT))
        if mask.any():
            keys = np.full(int(mask.sum()), f"swtid_{self.cfg.fcid}/event", dtype=object)
            keys[header[mask]] = f"swtid_{self.cfg.fcid}/evt_hdr"
            rows = FSP.take_rows(cols, mask)
            self.fsp.add_events(pids[sel[mask]].astype(np.int64), rows, keys)
            self.stats.records["FSPEvent"] += int(mask.sum())
        pending = nxt == 0  # the last record of the chunk: its event is in the next chunk
        if pending.any():
            self.fsp.pending_events = (
                pids[sel[pending]].astype(np.int64),
                FSP.take_rows(cols, pending),
            )
            self.stats.records["FSPEvent"] += int(pending.sum())
        for r in sel[(nxt != 0) & ~np.isin(nxt, (R.EVENT, R.SPARSE_EVENT, R.EVENT_HEADER))]:
            after = R.tag_name(tags[r + 1])
            self._fsp_skip(chunk, int(r), "tag", f"followed by a {after}, not an event record")

    def _fsp_config(self, chunk: RecordChunk, r: int) -> None:
        """Decode the FSPConfig record ``r``: it belongs to the Config right after it (pending
        until that is decoded) or else to the Config in effect."""
        try:
            values = FSP.decode_config(chunk.buf, int(chunk.offs[r]), int(chunk.nframes[r]))
        except FSP.FSPLayoutError as exc:
            self._fsp_skip(chunk, r, exc.field, str(exc))
            return
        self.stats.records["FSPConfig"] += 1
        after = int(chunk.tags[r + 1]) if r + 1 < len(chunk.tags) else 0
        if self.cfg is None or after in (0, R.CONFIG):
            self.fsp.pending_config = values
        else:
            self.fsp.configs.append((self.config_pid, values, self.cfg.fcid))
            self.fsp.nrows += 1

    def _resolve_fsp(self, first_tag: int) -> None:
        """Assign the FSP records that ended the previous chunk, now that the record they
        annotate (``first_tag``, the first of this chunk) is known."""
        if self.fsp.pending_events is not None:
            pids, cols = self.fsp.pending_events
            self.fsp.pending_events = None
            if first_tag in (R.EVENT, R.SPARSE_EVENT, R.EVENT_HEADER) and self.cfg is not None:
                kind = "evt_hdr" if first_tag == R.EVENT_HEADER else "event"
                keys = np.full(len(pids), f"swtid_{self.cfg.fcid}/{kind}", dtype=object)
                self.fsp.add_events(pids, cols, keys)
            else:
                self.stats.records["FSPEvent"] -= len(pids)
                self.stats.skipped["FSPEvent"] += len(pids)
                self.stats.warnings.append(
                    f"{self.path}: FSPEvent record before a {R.tag_name(first_tag)}, "
                    "not an event record: skipped"
                )
        if self.fsp.pending_config is not None and first_tag != R.CONFIG and self.cfg is not None:
            self.fsp.configs.append((self.config_pid, self.fsp.pending_config, self.cfg.fcid))
            self.fsp.pending_config = None
            self.fsp.nrows += 1

    def _fsp_skip(self, chunk: RecordChunk, r: int, field_name: str, reason: str) -> None:
        name = R.tag_name(chunk.tags[r])
        self.stats.skipped[name] += 1
        self.stats.warnings.append(
            f"{self.path}: {name} record at byte offset {chunk.base + int(chunk.offs[r])}: "
            f"field {field_name}: {reason.removeprefix(f'field {field_name}: ')}: skipped"
        )

    def _decode(self, chunk: RecordChunk, sel: np.ndarray, ntr: np.ndarray) -> int:
        """Decode event records ``sel`` into the accumulator; returns how many were decoded."""
        cfg = self.cfg
        buf = chunk.buf
        buf16 = buf[: len(buf) // 2 * 2].view(np.uint16)
        cfg_arr = np.array([cfg.adcs, cfg.ntraces, cfg.eventsamples, cfg.gps], dtype=np.int64)
        done, _, _ = decode_events(
            buf,
            buf16,
            chunk.tags,
            chunk.offs,
            chunk.nframes,
            sel,
            ntr,
            cfg_arr,
            self.state,
            *self.dead.arrays(),
            *self.acc.views(),
        )
        return int(done)

    # ------------------------------------------------------------------ resync
    def _on_resync(self, start: int, end: int, found: bool, why: str) -> None:
        """The reader skipped file bytes ``start..end`` (found: valid records follow) because
        of ``why`` (record type and reason)."""
        self.stats.skipped["bytes skipped by resync"] += end - start
        where = f"{self.path}: corrupt data at byte offsets {start}..{end} ({why})"
        if found:
            self.stats.skipped["resyncs"] += 1
            self.stats.warnings.append(
                f"{where}: skipped {end - start} bytes to the next {RESYNC_CHAIN} valid records"
            )
        else:
            self.stats.warnings.append(
                f"{where}: no valid records after it, skipped {end - start} bytes to the end "
                "of the file"
            )

    def _keep_cut(self, chunk: RecordChunk) -> bool:
        """Whether a record cut short by corruption has all its frames (then it is kept)."""
        return int(chunk.tags[0]) in R.TAG_NAMES and self._incomplete(chunk, 0) is None

    # ------------------------------------------------------------------ checks
    def _count_pseudo(self, chunk: RecordChunk, a: int, b: int) -> None:
        tags = chunk.tags[a:b]
        for r in a + np.flatnonzero(tags <= 0):
            off = int(chunk.offs[r])
            if chunk.tags[r] == R.PSEUDO_ORPHAN:
                self.stats.skipped["bytes in frames outside a record"] += int(chunk.ends[r]) - off
            elif off + chunk.base > 0:  # a repeated protocol header: concatenated streams
                name = chunk.buf[off + 4 : off + 4 + R.PROTOCOL_SIZE].tobytes()
                if not name.startswith(R.PROTOCOL_NAME):
                    raise CorruptFileError(
                        self.path,
                        chunk.base + off,
                        "protocol header",
                        f"protocol {name.rstrip(bytes(1))!r} is not FlashCam",
                    )
                self.stats.records["protocol header (concatenated stream)"] += 1

    def _content_error(self, chunk: RecordChunk, r: int, err: int, val: int) -> DAQFileError:
        text = ERROR_TEXT.get(err, f"error {err}")
        return CorruptFileError(
            self.path,
            chunk.base + int(chunk.offs[r]),
            R.tag_name(chunk.tags[r]),
            f"{text} (value {val})",
        )

    def _incomplete(self, chunk: RecordChunk, r: int) -> str | None:
        """Why the record ending at the end of the file is cut, or None if it is complete."""
        tag, nf, p = int(chunk.tags[r]), int(chunk.nframes[r]), int(chunk.offs[r]) + 4
        buf = chunk.buf
        need = nf
        if tag == R.EVENT:
            need = max(5, self.event_frames or 6)
        elif tag == R.CONFIG:
            need = MIN_CONFIG_FRAMES
        elif tag == R.FSP_CONFIG:
            need = FSP.CONFIG_FRAMES
        elif tag == R.FSP_EVENT:
            need = self.fsp.event_frames
        elif tag == R.FSP_STATUS:
            need = FSP.STATUS_FRAMES
        elif tag in (R.SPARSE_EVENT, R.EVENT_HEADER):
            need = 7
            if tag == R.SPARSE_EVENT and nf >= 7:
                for _ in range(5):
                    p += 4 + read_i32(buf, p)
                num = read_i32(buf, p + 4) if read_i32(buf, p) >= 4 else 0
                p += 4 + read_i32(buf, p)
                need = 7 + max(min(num, read_i32(buf, p) // 2), 0)
        elif tag == R.STATUS:
            need = 4
            if nf >= 4:
                for _ in range(2):
                    p += 4 + read_i32(buf, p)
                cards = read_i32(buf, p + 4) if read_i32(buf, p) >= 4 else 0
                need = 4 + max(min(cards, R.MAX_CARDS), 0)
        if nf >= need:
            return None
        return f"the file ends after {nf} of the record's {need} frames"
