"""ORCA files as a :class:`~pygama_ak.raw.stream.DAQStream`.

The header (packet 0) is parsed when the stream is opened; it names the decoder of each
data id. The packets after it are read in chunks of ``chunk_bytes`` (a uint32 word buffer,
grown only for a longer packet) and indexed by the numba scanner of :mod:`.packets`; the
packets of each decoder in a chunk are then decoded together (numpy/numba, no Python call
per waveform packet). Batches and tables follow daq2lh5's default routing (see
:meth:`OrcaStream.default_out_spec`); ``packet_id`` is the packet's index in the file (the
header is packet 0).

A packet with an id the header does not list, or an impossible length, is corruption:
:class:`~..errors.CorruptFileError`, or with ``resync=True`` the stream skips to the next
byte offset where 3 consecutive packets are valid and counts the skipped bytes in
``stats.skipped`` (as daq2lh5 1.7.1 always does). A file cut inside a packet raises
:class:`~..errors.TruncatedFileError` after every complete packet before it was yielded.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from xml.parsers.expat import ExpatError

import numpy as np

from ..errors import CorruptFileError, DAQFileError, TruncatedFileError
from ..stream import Batch, DAQStream
from . import flashcam as FC
from . import run as RUN
from .digitizers import DIGITIZERS, decode_digitizer, digitizer_key_lists
from .fcio_wrap import DECODERS as FCIO_DECODERS
from .fcio_wrap import WrappedFCIO
from .header import OrcaHeader
from .packets import (
    MAX_PACKET_WORDS,
    N_CODES,
    SCAN_CORRUPT,
    SCAN_END,
    SCAN_FULL,
    SCAN_TRUNCATED,
    find_sync,
    scan_packets,
)
from .status import STATUS, decode_status

DEFAULT_CHUNK_BYTES = 4 << 20
DEFAULT_OUT_BYTES = 4 << 20
DEFAULT_MAX_PACKETS = 1 << 16
HEADER_NAME = "OrcaHeaderDecoder"
RESYNC_CHAIN = 3
IMPLEMENTED = (
    RUN.NAME,
    FC.CONFIG,
    FC.ADC_WAVEFORM,
    FC.WAVEFORM,
    STATUS,
    *FCIO_DECODERS,
    *DIGITIZERS,
)


def is_orca(head: bytes) -> bool:
    """Header packet: data id 0 and an XML plist after the two header words."""
    return (
        len(head) >= 12
        and int.from_bytes(head[:4], "little") >> 18 == 0
        and (head[8:12] == b"<?xm")
    )


class OrcaStream(DAQStream):
    """Decode an ORCA file: header, run control, FlashCam, ORCA-wrapped FCIO, digitizers."""

    format_name = "ORCA"
    decoder_names = (HEADER_NAME, *IMPLEMENTED)

    def __init__(
        self,
        path: str | os.PathLike,
        *,
        chunk_bytes: int = DEFAULT_CHUNK_BYTES,
        out_bytes: int = DEFAULT_OUT_BYTES,
        max_packets: int = DEFAULT_MAX_PACKETS,
        resync: bool = False,
    ) -> None:
        super().__init__(path)
        self.chunk_bytes = max(int(chunk_bytes), 1 << 12) // 4 * 4
        self.out_bytes = int(out_bytes)
        self.max_packets = max(int(max_packets), 1)
        self.resync = bool(resync)
        self.file_size = os.path.getsize(self.path)
        self.header: OrcaHeader | None = None
        self.header_words = 0
        self.header_error: DAQFileError | None = None
        self.packets_done = 0
        try:
            self._read_header()
        except DAQFileError as exc:
            self.header_error = exc

    @staticmethod
    def sniff(head: bytes) -> bool:
        return is_orca(head)

    # ------------------------------------------------------------------ header
    def _read_header(self) -> None:
        with open(self.path, "rb") as f:
            head = f.read(8)
            if len(head) < 8:
                raise TruncatedFileError(
                    self.path, 0, "OrcaHeader", f"the file ends {len(head)} bytes into the header"
                )
            w0, xml_len = np.frombuffer(head, "<u4").tolist()
            if w0 >> 18 != 0:
                raise CorruptFileError(
                    self.path, 0, "OrcaHeader", f"first packet has data id {w0 >> 18}, not 0"
                )
            n_words = w0 & 0x3FFFF
            if n_words == 0:
                raise CorruptFileError(
                    self.path, 0, "OrcaHeader", "header length 0 words (field: word 0)"
                )
            if xml_len > 4 * (n_words - 2) or n_words < 3:
                raise CorruptFileError(
                    self.path,
                    0,
                    "OrcaHeader",
                    f"XML length {xml_len} bytes does not fit the {n_words}-word header packet",
                )
            xml = f.read(4 * n_words - 8)
        if len(xml) < 4 * n_words - 8:
            raise TruncatedFileError(
                self.path,
                0,
                "OrcaHeader",
                f"the file ends {8 + len(xml)} bytes into the {4 * n_words}-byte header",
            )
        try:
            self.header = OrcaHeader.from_xml(xml[:xml_len])
        except (ValueError, ExpatError) as exc:  # plistlib's errors for broken XML
            raise CorruptFileError(
                self.path, 8, "OrcaHeader", f"the XML plist does not parse: {exc}"
            ) from None
        self.header_words = n_words
        self.fc_state = FC.FlashCamState(self.header)
        self.fcio = WrappedFCIO(self.path, self.out_bytes)
        names = self.header.decoders
        self.code_names = names
        self.valid = np.zeros(N_CODES, dtype=bool)
        for code in names:
            if code != 0:
                self.valid[code] = True

    def default_out_spec(self) -> dict | None:
        """daq2lh5's default routing for this file: one table per decoder key list, named
        ``{decoder}`` (one list) or ``{decoder}_{i}`` / ``{decoder}_{key}`` (several lists)."""
        if self.header is None:
            return None
        spec: dict = {HEADER_NAME: {"OrcaHeader": {"key_list": ["*"]}}}
        for name in dict.fromkeys(self.header.decoders.values()):
            if name not in IMPLEMENTED:
                continue
            lists = self._key_lists(name)
            base = name.removesuffix("Decoder")
            buffers = {}
            for i, keys in enumerate(lists):
                if keys is None:
                    buffers[base] = {"key_list": ["*"]}
                    continue
                if not keys:
                    continue
                label = (
                    base
                    if len(lists) == 1
                    else (f"{base}_{keys[0]}" if len(keys) == 1 else f"{base}_{i}")
                )
                buffers[label] = {"key_list": list(keys)}
            if buffers:
                spec[name] = buffers
        return spec

    def _key_lists(self, name: str) -> list[list | None]:
        """The keys daq2lh5's decoder offers, one list per buffer (None: every key)."""
        listeners = self.header.fc_listeners()
        if name in (FC.ADC_WAVEFORM, FC.WAVEFORM):
            return [lst.keys for lst in listeners]
        if name == "ORFCIOConfigDecoder":
            return [
                [f"fcid_{lst.fcid}/config" for lst in listeners],
                [f"swtid_{lst.fcid}/config" for lst in listeners if lst.fsp_enabled],
            ]
        if name == "ORFCIOEventHeaderDecoder":
            return [
                [f"fcid_{lst.fcid}/evt_hdr" for lst in listeners],
                [f"swtid_{lst.fcid}/evt_hdr" for lst in listeners if lst.fsp_enabled],
            ]
        if name == "ORFCIOEventDecoder":
            out: list = []
            for lst in listeners:
                out.append(lst.keys)
                if lst.fsp_enabled:
                    out.append([f"swtid_{lst.fcid}/event"])
            return out
        if name == "ORFCIOStatusDecoder":
            out = []
            for lst in listeners:
                out.append(
                    [
                        f"fcid_{lst.fcid}/status/card{c}"
                        for c in (0, *(0x2000 + i for i in range(len(lst.cards))))
                    ]
                )
                if lst.fsp_enabled:
                    out.append([f"swtid_{lst.fcid}/status"])
            return out
        if name in DIGITIZERS:
            return digitizer_key_lists(name, self.header)
        return [None]

    # ------------------------------------------------------------------ driver
    def batches(self) -> Iterator[Batch]:
        if self.header_error is not None:
            raise self.header_error.with_records_done(0)
        self.packets_done = 1
        self.stats.records["OrcaHeader"] += 1
        self.stats.bytes_read = 4 * self.header_words
        yield Batch(HEADER_NAME, self.header.json(), np.array(["OrcaHeader"], dtype=object))
        try:
            yield from self._packets()
        except DAQFileError as exc:
            yield from self._flush()
            if exc.records_done is None:
                exc.with_records_done(self.packets_done)
            raise
        yield from self._flush()

    def _flush(self) -> Iterator[Batch]:
        yield from self.fcio.flush()
        self.fcio.merge_stats(self.stats.records, self.stats.skipped, self.stats.warnings)

    def _packets(self) -> Iterator[Batch]:
        buf = np.empty(self.chunk_bytes, dtype=np.uint8)
        cap = self.max_packets
        codes = np.empty(cap, np.int64)
        offs = np.empty(cap, np.int64)
        lens = np.empty(cap, np.int64)
        base = 4 * self.header_words  # file offset of buf[0]
        n = 0  # valid bytes in buf
        pos = 0  # next packet (bytes, a multiple of 4)
        eof = False
        pid = 1  # packet index of the next packet (the header is 0)
        with open(self.path, "rb", buffering=0) as f:
            f.seek(base)
            while True:
                if not eof and n < len(buf):
                    got = f.readinto(memoryview(buf)[n:])
                    if not got:
                        eof = True
                    else:
                        n += got
                        if n < len(buf):
                            continue
                words = buf[: len(buf) // 4 * 4].view("<u4")
                n_words = n // 4
                k, wpos, status, err_pos, err_val = scan_packets(
                    words, n_words, pos // 4, eof, self.valid, codes, offs, lens
                )
                if k:
                    pids = np.arange(pid, pid + k, dtype=np.int64)
                    yield from self._decode(buf, words, codes[:k], offs[:k], lens[:k], pids, base)
                    pid += k
                    self.packets_done += k
                    self.stats.bytes_read = base + 4 * wpos
                pos = 4 * wpos
                if status == SCAN_FULL:
                    continue
                if status == SCAN_END:
                    if eof and n > pos:  # 1–3 bytes after the last packet
                        raise TruncatedFileError(
                            self.path,
                            base + pos,
                            "packet",
                            f"the file ends {n - pos} bytes into a packet's first word",
                        )
                    if eof:
                        return
                if status == SCAN_TRUNCATED:
                    raise TruncatedFileError(
                        self.path,
                        base + pos,
                        self._name_at(words, err_pos),
                        f"the file ends {n - pos} bytes into the packet of {4 * err_val} bytes",
                    )
                if status == SCAN_CORRUPT:
                    if not self.resync:
                        raise self._corrupt(words, err_pos, err_val, base)
                    new, found = find_sync(buf, n, pos + 1, eof, self.valid, RESYNC_CHAIN)
                    skipped = new - pos
                    self.stats.skipped["bytes skipped by resync"] += int(skipped)
                    if found:
                        self.stats.skipped["resyncs"] += 1
                        self.stats.warnings.append(
                            f"{self.path}: corrupt data at byte offset {base + pos}: skipped "
                            f"{skipped} bytes to the next 3 valid packets"
                        )
                    pos = new
                    if eof and not found:
                        self.stats.bytes_read = base + n
                        return
                # SCAN_MORE (or resync needing more bytes): keep the rest, refill
                rest = n - pos
                if pos == 0 and n == len(buf):
                    bigger = np.empty(2 * len(buf), dtype=np.uint8)
                    bigger[:n] = buf[:n]
                    buf = bigger
                elif rest:
                    buf[:rest] = buf[pos:n].copy()
                base += pos
                n, pos = rest, 0

    def _name_at(self, words: np.ndarray, p: int) -> str:
        w = int(words[p])
        code = (w & 0xFC000000) >> 18 if w >> 31 else w >> 18
        name = self.code_names.get(code)
        return f"{name} packet" if name else f"packet (data id {code})"

    def _corrupt(self, words, p, val, base) -> CorruptFileError:
        w = int(words[p])
        if val >= 0:
            reason = (
                f"data id {val} (word 0x{w:08x}) is not listed in the header; "
                "resync=True skips to the next valid packets"
            )
            name = "packet"
        else:
            reason = f"packet length {-val} words (field: length; at most {MAX_PACKET_WORDS})"
            name = self._name_at(words, p)
        return CorruptFileError(self.path, base + 4 * p, name, reason)

    # ------------------------------------------------------------------ decoding
    def _decode(self, buf, words, codes, offs, lens, pids, base) -> Iterator[Batch]:
        """Decode one chunk's packets. A packet whose content is corrupt stops the chunk
        there: the packets before it are decoded and yielded, then the error is raised."""
        error: CorruptFileError | None = None
        try:
            batches, notes = self._decode_stateless(words, codes, offs, lens, pids, base)
        except CorruptFileError as exc:  # decode the packets before the bad one, then raise
            error = exc
            keep = base + 4 * (offs + lens) <= exc.offset
            codes, offs, lens, pids = codes[keep], offs[keep], lens[keep], pids[keep]
            batches, notes = self._decode_stateless(words, codes, offs, lens, pids, base)
        warnings, skipped, records = notes
        self.stats.warnings.extend(warnings)
        self.stats.skipped.update(skipped)
        self.stats.records.update(records)
        yield from batches
        fcio = np.isin(codes, [c for c, n in self.code_names.items() if n in FCIO_DECODERS])
        if fcio.any():  # stateful: decoded once, last
            sel = np.flatnonzero(fcio)
            try:
                yield from self.fcio.decode(buf, words, offs[sel], lens[sel], pids[sel], base)
            except DAQFileError as exc:
                self.packets_done += int((base + 4 * offs < exc.offset).sum())
                self.stats.bytes_read = exc.offset
                raise exc.with_records_done(self.packets_done) from None
        if error is not None:
            self.packets_done += len(codes)
            self.stats.bytes_read = error.offset
            raise error

    def _decode_stateless(self, words, codes, offs, lens, pids, base) -> tuple[list, tuple]:
        """Batches of every decoder but ORCA-FCIO, and (warnings, skipped, records) counts."""
        from collections import Counter

        names = self.code_names
        warnings: list[str] = []
        skipped: Counter = Counter()
        records: Counter = Counter()
        by_name: dict[str, np.ndarray] = {}
        for code in np.unique(codes).tolist():
            name = names.get(code, f"data id {code}")
            sel = np.flatnonzero(codes == code)
            prev = by_name.get(name)
            by_name[name] = sel if prev is None else np.sort(np.concatenate([prev, sel]))
        for name, sel in by_name.items():
            if name not in IMPLEMENTED:
                skipped[f"{name} (no decoder)"] += len(sel)
            else:
                records[name] += len(sel)
        out: list[Batch] = []
        # configs first: the waveform decoders use them
        if FC.CONFIG in by_name:
            sel = by_name[FC.CONFIG]
            batch, notes = FC.decode_config(
                self.path, words, offs[sel], lens[sel], pids[sel], base, self.fc_state
            )
            warnings.extend(notes)
            out.append(batch)
        if RUN.NAME in by_name:
            sel = by_name[RUN.NAME]
            short = sel[lens[sel] < RUN.MIN_WORDS]
            if len(short):
                raise CorruptFileError(
                    self.path,
                    base + 4 * int(offs[short[0]]),
                    RUN.NAME,
                    f"{int(lens[short[0]])} words, 4 needed (field: length)",
                )
            out.append(RUN.decode_run(words, offs[sel], pids[sel]))
        for name in (FC.ADC_WAVEFORM, FC.WAVEFORM):
            if name in by_name:
                sel = by_name[name]
                batches, skips, notes = FC.decode_waveforms(
                    self.path, name, words, offs[sel], lens[sel], pids[sel], base, self.fc_state
                )
                skipped.update(skips)
                warnings.extend(notes)
                out.extend(batches)
        if STATUS in by_name:
            sel = by_name[STATUS]
            out.append(decode_status(self.path, words, offs[sel], lens[sel], pids[sel], base))
        for name in DIGITIZERS:
            if name in by_name:
                sel = by_name[name]
                out.extend(
                    decode_digitizer(
                        name,
                        self.path,
                        self.header,
                        words,
                        offs[sel],
                        lens[sel],
                        pids[sel],
                        base,
                    )
                )
        return out, (warnings, skipped, records)
