"""Stream the records of an FCIO file in chunks of bounded size.

The file is read with ``readinto`` into one reusable buffer (``chunk_bytes``, grown only if a
single record is larger); :func:`~.framing.scan_records` indexes the complete records in it.
Each :class:`RecordChunk` is valid until the next one is requested. A file that ends inside
a record, or holds a forbidden tag or frame size, raises a :class:`TruncatedFileError` or
:class:`CorruptFileError` *after* every complete record before it has been yielded.

With ``resync=True`` (after the first Config) tags must be known (1–10) and frames at most
:attr:`RecordReader.frame_limit` bytes; a corrupt record is skipped byte by byte to the
first offset where :data:`RESYNC_CHAIN` consecutive records are valid
(:func:`~.framing.find_sync`), and :attr:`RecordReader.on_resync` is told what was skipped.
A record that overruns the end of the file is corruption if such a chain follows its start
(a frame size that swallowed valid records), else truncation.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from ..errors import CorruptFileError, TruncatedFileError
from .framing import (
    SCAN_CORRUPT,
    SCAN_END,
    SCAN_FULL,
    SCAN_MORE,
    SCAN_TRUNCATED,
    find_sync,
    read_i32,
    scan_records_limited,
)
from .records import (
    FSP_STATUS,
    MAX_FRAME_BYTES,
    MAX_TAG,
    PROTOCOL_SIZE,
    PROTOCOL_TAG,
    PSEUDO_ORPHAN,
    is_fcio,
    tag_name,
)

DEFAULT_CHUNK_BYTES = 4 << 20  # 4 MiB of input per chunk (grows for larger records)
DEFAULT_MAX_RECORDS = 1 << 16
RESYNC_CHAIN = 3  # consecutive valid records that mark a resync point (as daq2lh5 for ORCA)


@dataclass
class RecordChunk:
    """Complete records found in ``buf``; arrays are views valid until the next chunk."""

    buf: np.ndarray  # uint8 bytes; record offsets index into it
    base: int  # file offset of buf[0]
    tags: np.ndarray  # int64 record tags (pseudo tags for protocol headers and orphan frames)
    offs: np.ndarray  # int64 offsets of the tag words
    ends: np.ndarray  # int64 offsets after the last frame
    nframes: np.ndarray  # int64 data frames per record
    last_at_eof: bool  # the last record ends at the end of the file
    #: packet id of each record, when a container assigns them (ORCA-wrapped FCIO); None:
    #: the FCIO stream numbers its records itself
    pids: np.ndarray | None = None
    #: the last record was cut short by corruption found by a resync (its frames before it)
    cut_by_resync: bool = False


class RecordReader:
    """Iterate over :class:`RecordChunk` s of an FCIO file (or any binary file object)."""

    def __init__(
        self,
        path: str | os.PathLike,
        *,
        chunk_bytes: int = DEFAULT_CHUNK_BYTES,
        max_records: int = DEFAULT_MAX_RECORDS,
        resync: bool = False,
    ) -> None:
        self.path = os.fspath(path)
        self.chunk_bytes = max(int(chunk_bytes), 1 << 12)
        self.max_records = max(int(max_records), 1)
        self.bytes_consumed = 0  # bytes of the file covered by yielded records
        self.file_size = os.path.getsize(self.path)
        self.resync = bool(resync)
        #: largest valid frame (bytes) under resync; None until the stream decodes a Config
        self.frame_limit: int | None = None
        #: ``on_resync(start, end, found, why)``: file bytes ``start..end`` were skipped
        self.on_resync: Callable[[int, int, bool, str], None] | None = None
        #: ``keep_cut(chunk)``: whether a record cut short by corruption is complete
        self.keep_cut: Callable[[RecordChunk], bool] | None = None
        #: file offset of a record the stream found corrupt (resync from there), and why
        self.resync_request: int | None = None
        self.resync_reason = ""

    def __iter__(self) -> Iterator[RecordChunk]:
        buf = np.empty(self.chunk_bytes, dtype=np.uint8)
        cap = self.max_records
        tags = np.empty(cap, np.int64)
        offs = np.empty(cap, np.int64)
        ends = np.empty(cap, np.int64)
        nfr = np.empty(cap, np.int64)
        base = 0  # file offset of buf[0]
        n = 0  # valid bytes in buf
        pos = 0  # next record start in buf
        eof = False
        first = True
        searching = -1  # file offset where the bytes being skipped by a resync start
        why = ""  # what is corrupt there
        with open(self.path, "rb", buffering=0) as f:
            while True:
                if not eof and n < len(buf):
                    got = f.readinto(memoryview(buf)[n:])
                    if not got:
                        eof = True
                    else:
                        n += got
                        if n < len(buf):
                            continue  # short read: fill the buffer before scanning
                if first:
                    self._check_header(buf[: min(n, 4 + PROTOCOL_SIZE)])
                    first = False
                if searching >= 0:
                    pos, searching = self._search(buf, n, pos, base, eof, searching, why)
                    if searching >= 0:
                        if eof:
                            return
                        base, n, pos, buf = self._keep_rest(buf, n, pos, base)
                        continue
                strict = self.resync and self.frame_limit is not None
                k, pos_new, status, err_pos, err_val = scan_records_limited(
                    buf,
                    n,
                    pos,
                    eof,
                    tags,
                    offs,
                    ends,
                    nfr,
                    FSP_STATUS if strict else MAX_TAG,
                    self.frame_limit if strict else MAX_FRAME_BYTES,
                    self.resync,
                    strict,
                )
                overrun_to = -1  # resync point after a record overrunning the end of the file
                if status == SCAN_TRUNCATED and self.resync and self.frame_limit is not None:
                    # a frame size that swallowed valid records is corruption, not a cut
                    new, found = find_sync(
                        buf, n, pos_new + 1, True, self.frame_limit, RESYNC_CHAIN, False
                    )
                    if found:
                        overrun_to, status = new, SCAN_CORRUPT
                cut_kept = False  # a record's frames before corruption, complete: kept
                if status == SCAN_CORRUPT and self.resync and err_pos > pos_new and overrun_to < 0:
                    cut = self._cut_record(
                        buf, base, pos_new, err_pos, tags[k:], offs[k:], ends[k:], nfr[k:]
                    )
                    if self.keep_cut is not None and self.keep_cut(cut):
                        k, cut_kept = k + 1, True
                if k:
                    # the last record reaches the end of the file (or a cut word after it)
                    last_at_eof = bool(
                        eof and status in (SCAN_END, SCAN_TRUNCATED) and ends[k - 1] == pos_new
                    )
                    self.bytes_consumed = base + int(ends[k - 1])
                    yield RecordChunk(
                        buf,
                        base,
                        tags[:k],
                        offs[:k],
                        ends[:k],
                        nfr[:k],
                        last_at_eof,
                        cut_by_resync=cut_kept,
                    )
                    if self.resync_request is not None:  # corrupt content: skip that record
                        searching, why = self.resync_request, self.resync_reason
                        self.resync_request = None
                        pos = searching - base + 1
                        continue
                pos = pos_new
                if status == SCAN_FULL:
                    continue
                if status == SCAN_END:
                    return
                if overrun_to >= 0:
                    error = self._truncated(buf, n, pos, base, err_pos, err_val)
                    why = f"{error.record} record: {error.reason}"
                    if self.on_resync is not None:
                        self.on_resync(base + pos, base + overrun_to, True, why)
                    self.bytes_consumed = base + overrun_to
                    pos = overrun_to
                    continue
                if status == SCAN_TRUNCATED:
                    raise self._truncated(buf, n, pos, base, err_pos, err_val)
                if status == SCAN_CORRUPT:
                    if not self.resync:
                        raise self._corrupt(buf, pos, base, err_pos, err_val)
                    error = self._corrupt(buf, pos, base, err_pos, err_val)
                    searching = base + (err_pos if cut_kept else pos)
                    why = f"{error.record} record: {error.reason}"
                    if self.frame_limit is None:  # no Config decoded: no limits to resync by
                        raise self._corrupt(buf, pos, base, err_pos, err_val, before_config=True)
                    pos = searching - base + 1
                    continue
                assert status == SCAN_MORE
                base, n, pos, buf = self._keep_rest(buf, n, pos, base)

    def _keep_rest(self, buf, n, pos, base):
        """Move the bytes from ``pos`` to the front of ``buf`` (grown if they fill it)."""
        rest = n - pos
        if pos == 0 and n == len(buf):
            bigger = np.empty(2 * len(buf), dtype=np.uint8)
            bigger[:n] = buf[:n]
            buf = bigger
        elif rest:
            buf[:rest] = buf[pos:n].copy()
        return base + pos, rest, 0, buf

    def _search(self, buf, n, pos, base, eof, start, why) -> tuple[int, int]:
        """Look for the resync point from ``pos``; returns ``(pos, searching)`` where
        ``searching`` is -1 once found (or ``start`` to go on after a refill)."""
        new, found = find_sync(buf, n, pos, eof, self.frame_limit, RESYNC_CHAIN, True)
        if found or eof:
            if self.on_resync is not None:
                self.on_resync(start, base + new, bool(found), why)
            self.bytes_consumed = base + new
            return new, (-1 if found else start)
        return new, start

    @staticmethod
    def _cut_record(buf, base, pos, err_pos, tags, offs, ends, nfr) -> RecordChunk:
        """The record at ``pos`` with its frames before the corrupt word at ``err_pos``."""
        word = read_i32(buf, pos)
        tag, p = (-word, pos + 4) if word < 0 else (PSEUDO_ORPHAN, pos)
        nf = 0
        while p < err_pos:
            p += 4 + read_i32(buf, p)
            nf += 1
        tags[0], offs[0], ends[0], nfr[0] = tag, pos, err_pos, nf
        return RecordChunk(
            buf, base, tags[:1], offs[:1], ends[:1], nfr[:1], False, cut_by_resync=True
        )  # written into the arrays' first entry: pass views starting at the free entry

    # -- errors
    def _check_header(self, head: np.ndarray) -> None:
        if len(head) and not is_fcio(head.tobytes()):
            raise CorruptFileError(
                self.path,
                0,
                "protocol header",
                "not an FCIO file (no tmio 'FlashCamV1' protocol header)",
            )

    def _record_at(self, buf: np.ndarray, n: int, pos: int) -> str:
        if pos + 4 > n:
            return "incomplete"
        v = read_i32(buf, pos)
        if v == PROTOCOL_TAG:
            return "protocol header"
        return tag_name(-v) if v < 0 else "untagged frame"

    def _truncated(self, buf, n, pos, base, err_pos, need) -> TruncatedFileError:
        record = self._record_at(buf, n, pos)
        have = n - err_pos
        protocol = np.int32(PROTOCOL_TAG).tobytes()
        if record == "protocol header" or (
            base + pos == 0 and pos + 4 > n and protocol.startswith(bytes(buf[pos:n]))
        ):
            record = "protocol header"
            reason = (
                f"the file ends {n - pos} bytes into the {4 + PROTOCOL_SIZE}-byte protocol header"
            )
        elif err_pos == pos and need == 4:
            reason = f"the file ends {have} bytes into the record's tag word"
            if have:  # tags are small negative numbers: the high bytes are 0xff
                guess = int.from_bytes(
                    bytes(buf[pos:n]) + b"\xff" * (4 - have), "little", signed=True
                )
                if -20 < guess < 0:
                    reason += f" (the next record, probably {tag_name(-guess)})"
        elif need == 4:
            reason = (
                f"the file ends {have} bytes into the frame header at byte offset {base + err_pos}"
            )
        else:
            reason = (
                f"the file ends inside the frame at byte offset {base + err_pos}: "
                f"{need - 4} payload bytes announced, {max(have - 4, 0)} present"
            )
        return TruncatedFileError(self.path, base + pos, record, reason)

    def _corrupt(
        self, buf, pos, base, err_pos, value, *, before_config: bool = False
    ) -> CorruptFileError:
        record = self._record_at(buf, len(buf), pos) if err_pos != pos else "unknown"
        strict = self.resync and self.frame_limit is not None
        if err_pos == pos and -FSP_STATUS <= value < 0:
            record = tag_name(-value)
            reason = "record without frames (field: frames) before the next record"
        elif err_pos == pos:
            lowest = FSP_STATUS if strict else MAX_TAG
            reason = f"forbidden tag word {value} (field: tag; tags must lie in [-{lowest}, -1])"
        else:
            reason = (
                f"impossible frame size {value} bytes at byte offset {base + err_pos} "
                f"(field: frame size; at most {self.frame_limit if strict else MAX_FRAME_BYTES})"
            )
        if before_config:
            reason += "; resync cannot skip corruption before the first Config is decoded"
        return CorruptFileError(self.path, base + pos, record, reason)
