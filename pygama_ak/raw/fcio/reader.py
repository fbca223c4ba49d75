"""Stream the records of an FCIO file in chunks of bounded size.

The file is read with ``readinto`` into one reusable buffer (``chunk_bytes``, grown only if a
single record is larger); :func:`~.framing.scan_records` indexes the complete records in it.
Each :class:`RecordChunk` is valid until the next one is requested. A file that ends inside
a record, or holds a forbidden tag or frame size, raises a :class:`TruncatedFileError` or
:class:`CorruptFileError` *after* every complete record before it has been yielded.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from ..errors import CorruptFileError, TruncatedFileError
from .framing import (
    SCAN_CORRUPT,
    SCAN_END,
    SCAN_FULL,
    SCAN_MORE,
    SCAN_TRUNCATED,
    read_i32,
    scan_records,
)
from .records import PROTOCOL_NAME, PROTOCOL_SIZE, PROTOCOL_TAG, tag_name

DEFAULT_CHUNK_BYTES = 4 << 20  # 4 MiB of input per chunk (grows for larger records)
DEFAULT_MAX_RECORDS = 1 << 16


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


def is_fcio(head: bytes) -> bool:
    """Whether the first bytes of a file are a tmio protocol header for FlashCam.

    A file shorter than the header counts if it is the header's beginning (a cut file).
    """
    start = np.int32(PROTOCOL_TAG).tobytes() + PROTOCOL_NAME
    if len(head) < len(start):
        return len(head) > 0 and start.startswith(head)
    return head[: len(start)] == start


class RecordReader:
    """Iterate over :class:`RecordChunk` s of an FCIO file (or any binary file object)."""

    def __init__(
        self,
        path: str | os.PathLike,
        *,
        chunk_bytes: int = DEFAULT_CHUNK_BYTES,
        max_records: int = DEFAULT_MAX_RECORDS,
    ) -> None:
        self.path = os.fspath(path)
        self.chunk_bytes = max(int(chunk_bytes), 1 << 12)
        self.max_records = max(int(max_records), 1)
        self.bytes_consumed = 0  # bytes of the file covered by yielded records
        self.file_size = os.path.getsize(self.path)

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
                k, pos_new, status, err_pos, err_val = scan_records(
                    buf, n, pos, eof, tags, offs, ends, nfr
                )
                if k:
                    # the last record reaches the end of the file (or a cut word after it)
                    last_at_eof = bool(
                        eof and status in (SCAN_END, SCAN_TRUNCATED) and ends[k - 1] == pos_new
                    )
                    self.bytes_consumed = base + int(ends[k - 1])
                    yield RecordChunk(buf, base, tags[:k], offs[:k], ends[:k], nfr[:k], last_at_eof)
                pos = pos_new
                if status == SCAN_FULL:
                    continue
                if status == SCAN_END:
                    return
                if status == SCAN_TRUNCATED:
                    raise self._truncated(buf, n, pos, base, err_pos, err_val)
                if status == SCAN_CORRUPT:
                    raise self._corrupt(buf, pos, base, err_pos, err_val)
                assert status == SCAN_MORE
                # keep the incomplete record: move it to the front, grow if it fills the buffer
                rest = n - pos
                if pos == 0 and n == len(buf):
                    bigger = np.empty(2 * len(buf), dtype=np.uint8)
                    bigger[:n] = buf[:n]
                    buf = bigger
                elif rest:
                    buf[:rest] = buf[pos:n].copy()
                base += pos
                n, pos = rest, 0

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

    def _corrupt(self, buf, pos, base, err_pos, value) -> CorruptFileError:
        record = self._record_at(buf, len(buf), pos) if err_pos != pos else "unknown"
        if err_pos == pos:
            reason = f"forbidden tag word {value} (tags must lie in [-{10**9}, -1])"
        else:
            reason = f"impossible frame size {value} bytes at byte offset {base + err_pos}"
        return CorruptFileError(self.path, base + pos, record, reason)
