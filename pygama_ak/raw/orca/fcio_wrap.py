"""ORCA-wrapped FCIO (``ORFCIO{Config,Event,EventHeader,Status}Decoder``, LEGEND-200 2025).

Packet: w0 header (extended form), w1 length, w2 FCIO stream id, then the tmio bytes of
FCIO records: the Config packet starts with the tmio protocol header, an Event packet may
hold an FSP record before its Event/SparseEvent/EventHeader record. The payloads of one
stream id are concatenated per input chunk and decoded by :class:`~..fcio.FCIOStream`'s
kernels (one FCIO stream state per stream id), with the ORCA packet index as ``packet_id``.
FSP (software trigger) records are decoded as in native FCIO (:mod:`..fcio.fsp`) and emitted, as
daq2lh5 does, under the ORCA decoder of the record they annotate with ``swtid_N/...`` keys:
FSPConfig → ``ORFCIOConfigDecoder``, FSPEvent → ``ORFCIOEventDecoder`` (``/event``) or
``ORFCIOEventHeaderDecoder`` (``/evt_hdr``), FSPStatus → ``ORFCIOStatusDecoder``. Tables and
keys are those of the native FCIO decoders, under the ORCA decoder names.
"""

from __future__ import annotations

from collections.abc import Iterator

import numba
import numpy as np

from ..errors import CorruptFileError, DAQFileError
from ..fcio.framing import SCAN_END, read_i32, scan_records
from ..fcio.reader import RecordChunk
from ..fcio.records import PROTOCOL_SIZE, PROTOCOL_TAG
from ..fcio.stream import FCIOStream
from ..stream import Batch

DECODERS = (
    "ORFCIOConfigDecoder",
    "ORFCIOEventDecoder",
    "ORFCIOEventHeaderDecoder",
    "ORFCIOStatusDecoder",
)
ORCA_NAME = {
    "FCConfigDecoder": "ORFCIOConfigDecoder",
    "FCEventDecoder": "ORFCIOEventDecoder",
    "FCEventHeaderDecoder": "ORFCIOEventHeaderDecoder",
    "FCStatusDecoder": "ORFCIOStatusDecoder",
    "FSPConfigDecoder": "ORFCIOConfigDecoder",
    "FSPStatusDecoder": "ORFCIOStatusDecoder",
}
HEADER_WORDS = 3


@numba.njit(cache=True, nogil=True)
def gather_payloads(buf, starts, ends, out, pos):
    """Concatenate the tmio bytes of each packet into ``out`` without the packet's trailing
    padding (a record of 4k+2 bytes is padded to a word): walks the frames of
    ``buf[starts[i]:ends[i]]`` up to the last one that fits. ``pos[i]``: where packet ``i``
    starts in ``out``; returns the bytes written."""
    q = 0
    for i in range(len(starts)):
        p = starts[i]
        end = ends[i]
        while p + 4 <= end:
            v = read_i32(buf, p)
            if v == PROTOCOL_TAG:
                step = 4 + PROTOCOL_SIZE
            elif v < 0:
                step = 4
            else:
                step = 4 + v
            if p + step > end:
                p = end  # a cut frame: keep it, the record scan reports it
                break
            p += step
        pos[i] = q
        n = p - starts[i]
        out[q : q + n] = buf[starts[i] : p]
        q += n
    pos[len(starts)] = q
    return q


class WrappedFCIO:
    """The FCIO streams inside one ORCA file, one per FCIO stream id."""

    def __init__(self, path: str, out_bytes: int) -> None:
        self.path = path
        self.out_bytes = out_bytes
        self.streams: dict[int, FCIOStream] = {}

    def decode(
        self,
        buf: np.ndarray,
        words: np.ndarray,
        offs: np.ndarray,
        lens: np.ndarray,
        pids: np.ndarray,
        base: int,
    ) -> Iterator[Batch]:
        """Decode FCIO packets (word offsets ``offs`` into ``words``, a view of ``buf``)."""
        sids = words[offs + 2]
        for sid in dict.fromkeys(sids.tolist()):
            sel = np.flatnonzero(sids == sid)
            yield from self._stream(int(sid), buf, offs[sel], lens[sel], pids[sel], base)

    def _stream(self, sid, buf, offs, lens, pids, base) -> Iterator[Batch]:
        fs = self.streams.get(sid)
        if fs is None:
            fs = self.streams[sid] = FCIOStream(self.path, out_bytes=self.out_bytes)
        starts = 4 * (offs + HEADER_WORDS)
        ends = 4 * (offs + lens)
        pos = np.zeros(len(offs) + 1, dtype=np.int64)
        payload = np.empty(int((ends - starts).sum()), dtype=np.uint8)
        used = gather_payloads(buf, starts, ends, payload, pos)
        payload = payload[:used]
        cap = max(4 * len(offs), 16)
        tags = np.empty(cap, np.int64)
        roffs = np.empty(cap, np.int64)
        rends = np.empty(cap, np.int64)
        nfr = np.empty(cap, np.int64)
        k, _, status, err_pos, _ = scan_records(
            payload, len(payload), 0, True, tags, roffs, rends, nfr
        )
        packet_of = np.searchsorted(pos, roffs[:k], side="right") - 1
        chunk = RecordChunk(
            payload, 0, tags[:k], roffs[:k], rends[:k], nfr[:k], False, pids[packet_of]
        )
        try:
            for batch in fs.decode_chunk(chunk):
                yield from _renamed(batch)
        except DAQFileError as exc:
            j = int(np.searchsorted(pos, exc.offset, side="right") - 1)
            where = base + int(starts[j]) + exc.offset - int(pos[j])
            raise type(exc)(
                self.path,
                base + 4 * int(offs[j]),
                f"ORFCIO packet ({exc.record})",
                f"{exc.reason} (FCIO record at byte offset {where})",
            ) from None
        if status != SCAN_END:  # a record cut or corrupt inside its packet
            j = int(np.searchsorted(pos, err_pos, side="right") - 1)
            raise CorruptFileError(
                self.path,
                base + 4 * int(offs[j]),
                "ORFCIO packet",
                "an FCIO record inside the packet is cut or has an impossible frame size "
                f"(tmio framing at byte offset {base + int(starts[j]) + err_pos - int(pos[j])})",
            )

    def flush(self) -> Iterator[Batch]:
        """Rows every stream still holds."""
        for fs in self.streams.values():
            for batch in fs.flush():
                yield from _renamed(batch)

    def merge_stats(self, records, skipped, warnings) -> None:
        """Add the FCIO streams' record counts to the ORCA stream's."""
        for fs in self.streams.values():
            for k, v in fs.stats.records.items():
                records[f"FCIO {k}"] += v
            for k, v in fs.stats.skipped.items():
                skipped[f"FCIO {k}"] += v
            warnings.extend(fs.stats.warnings)


def _renamed(batch: Batch) -> Iterator[Batch]:
    """The batch under its ORCA decoder name; FSPEvent rows go to the decoder of the record
    they annotate (``swtid_N/event`` → ORFCIOEvent, ``swtid_N/evt_hdr`` → ORFCIOEventHeader)."""
    if batch.decoder != "FSPEventDecoder":
        yield Batch(ORCA_NAME.get(batch.decoder, batch.decoder), batch.table, batch.keys)
        return
    header = np.array([str(k).endswith("/evt_hdr") for k in batch.keys], dtype=bool)
    for name, rows in (("ORFCIOEventDecoder", ~header), ("ORFCIOEventHeaderDecoder", header)):
        if rows.all():
            yield Batch(name, batch.table, batch.keys)
        elif rows.any():
            yield Batch(name, batch.table[rows], batch.keys[rows])
