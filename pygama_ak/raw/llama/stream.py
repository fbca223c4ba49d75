"""llamaDAQ (Struck SIS3316) files as a :class:`~pygama_ak.raw.stream.DAQStream`.

Tables follow daq2lh5: ``LLAMAHeaderDecoder`` (one struct: versions, channel count, run
start and every channel's configuration as ``fch_XX``) and ``LLAMAEventDecoder`` (one row
per event, key ``(fadc << 4) + channel``). The default routing writes one table per group
of channels with equal sample lengths, averaging mode and format bits: ``LLAMAEvent`` if
there is one group, else ``LLAMAEvent_<key>`` (one channel) or ``LLAMAEvent_<i>``.

Events are found by a framing pass (:mod:`.framing`) over chunks of the file; the
events of one group have a fixed length, so their fields are columns of a 2-D word array.
Event words: 0 (bits 31–16 timestamp[47:32], 15–4 channel, 3–0 format bits), 1
(timestamp[31:0]); format bit 0: peak word (bits 31–16 index, 15–0 value), info byte +
24-bit accumulator 1, accumulators 2–6; bit 1: accumulators 7, 8; bit 2: MAW maximum,
before and after the trigger; bit 3: start and maximum energy; then the raw-length word
(``0xE…`` or ``0xA…``: an averaged-length word follows; bit 27 MAW test data, bit 26
status, bits 25–0 raw words), the raw samples and the averaged samples.

Differences from daq2lh5 1.7.1: ``cumsum_1..6`` are accumulators 1–6 (daq2lh5 reads them
one word late, bug B5); the timestamp keeps bits 47–32 (daq2lh5 loses them under numpy 2:
its uint32 shift wraps every 2³² ticks); ``unixtime`` uses the file-name time in UTC unless
the option ``llama_timezone`` says otherwise (daq2lh5: the machine's local zone), and is
NaN when the name holds no time (daq2lh5: 0). ``packet_id`` counts events from 1.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import awkward as ak
import numpy as np

from ..columns import col, table
from ..compass.structs import struct_record
from ..errors import CorruptFileError, DAQFileError, TruncatedFileError
from ..stream import Batch, DAQStream
from .framing import FRAME_UNKNOWN, N_FCH, frame_events, gather_rows
from .header import (
    CONFIG_BYTES,
    CONFIG_DTYPE,
    CONFIG_FIELDS,
    FILE_HEADER_BYTES,
    MAGIC,
    ChannelConfig,
    run_start_from_name,
)

DEFAULT_CHUNK_BYTES = 4 << 20
EVENT = "SIS3316 event"
TIME_ACCURACY = 1.0  # s: the run start comes from the file name
ADC = "adc"


class _Group:
    """Channels sharing an output table: their common event layout."""

    def __init__(self, configs: list[ChannelConfig]) -> None:
        self.configs = configs
        c = configs[0]
        self.fchs = [cfg.fch for cfg in configs]
        self.format_bits = int(c["format_bits"])
        self.has_raw, self.has_avg = c.has_raw, c.has_avg
        self.raw_samples = int(c["sample_length"]) if self.has_raw else 0
        self.avg_samples = int(c["avg_sample_length"]) if self.has_avg else 0
        self.header_words = c.header_words  # up to the raw-length word
        self.samples_at = self.header_words + 1 + self.has_avg  # first word of the samples
        self.event_words = int(c["event_length"])
        # per-channel constants, looked up by key: slot[fch] indexes these arrays
        self.slot = np.zeros(N_FCH, dtype=np.int64)
        self.slot[self.fchs] = np.arange(len(self.fchs))
        self.dt_raw = np.array([cfg.dt_raw for cfg in configs])
        self.t0_raw = np.array([cfg.t0_raw for cfg in configs])
        self.t0_avg_const = np.array([cfg.t0_avg_const for cfg in configs])


class LlamaStream(DAQStream):
    """Decode a llamaDAQ ``.bin`` file."""

    format_name = "LlamaDaq"
    decoder_names = ("LLAMAHeaderDecoder", "LLAMAEventDecoder")

    def __init__(
        self,
        path: str | os.PathLike,
        *,
        chunk_bytes: int = DEFAULT_CHUNK_BYTES,
        out_bytes: int = DEFAULT_CHUNK_BYTES,
        llama_timezone: str = "UTC",
    ) -> None:
        super().__init__(path)
        self.chunk_bytes = max(4, min(int(chunk_bytes), int(out_bytes)))
        self.timezone = llama_timezone
        self.run_start = run_start_from_name(self.path, llama_timezone)
        self.versions: tuple[int, int, int, int, int] | None = None
        self.configs: dict[int, ChannelConfig] = {}
        self.groups: list[_Group] = []
        self.data_start = 0
        self.events_done = 0

    @staticmethod
    def sniff(head: bytes) -> bool:
        return len(head) >= 4 and int.from_bytes(head[:4], "little") == MAGIC

    # ------------------------------------------------------------------ header
    def _read_header(self, f) -> None:
        head = f.read(FILE_HEADER_BYTES)
        if len(head) < FILE_HEADER_BYTES:
            raise TruncatedFileError(
                self.path, 0, "file header", f"the file ends after {len(head)} of 16 bytes"
            )
        w32 = np.frombuffer(head, "<u4")
        w16 = np.frombuffer(head, "<u2")
        if int(w32[0]) != MAGIC:
            raise CorruptFileError(
                self.path, 0, "file header", f"field magic is {int(w32[0]):#x}, not {MAGIC:#x}"
            )
        patch, minor, major, length = (int(w16[i]) for i in (2, 3, 4, 5))
        n_open = int(w32[3])
        if length != CONFIG_BYTES:
            raise CorruptFileError(
                self.path,
                0,
                "file header",
                f"field length_econf is {length}, not {CONFIG_BYTES} (unknown file version "
                f"{major}.{minor}.{patch})",
            )
        raw = f.read(n_open * CONFIG_BYTES)
        self.configs = {}
        for i in range(n_open):
            at = FILE_HEADER_BYTES + i * CONFIG_BYTES
            if len(raw) < (i + 1) * CONFIG_BYTES:
                raise TruncatedFileError(
                    self.path,
                    at,
                    "channel config",
                    f"the file ends inside config {i} of {n_open}",
                )
            rec = np.frombuffer(raw, CONFIG_DTYPE, count=1, offset=i * CONFIG_BYTES)[0]
            fch = (int(rec["fadc"]) << 4) + int(rec["channel"])
            if not 0 <= fch < N_FCH or fch in self.configs:
                raise CorruptFileError(
                    self.path,
                    at,
                    "channel config",
                    f"fields fadc {int(rec['fadc'])}, channel {int(rec['channel'])}: "
                    "out of range or repeated",
                )
            cfg = ChannelConfig(fch, rec.copy())
            if not cfg["sample_freq"] > 0 or int(cfg["event_length"]) == 0:
                raise CorruptFileError(
                    self.path,
                    at,
                    "channel config",
                    f"fch {fch}: sample_freq {float(cfg['sample_freq'])} MHz, "
                    f"event_length {int(cfg['event_length'])} words",
                )
            if cfg.layout_words != int(cfg["event_length"]):
                raise CorruptFileError(
                    self.path,
                    at,
                    "channel config",
                    f"fch {fch}: field event_length is {int(cfg['event_length'])} words, but "
                    f"format bits {int(cfg['format_bits'])}, sample lengths "
                    f"{int(cfg['sample_length'])}/{int(cfg['avg_sample_length'])} and MAW "
                    f"buffer length {int(cfg['maw_buffer_length'])} (not supported) make "
                    f"{cfg.layout_words}",
                )
            self.configs[fch] = cfg
        self.data_start = FILE_HEADER_BYTES + n_open * CONFIG_BYTES
        self.versions = (major, minor, patch, length, n_open)  # the header is complete
        by_key: dict[tuple, list[ChannelConfig]] = {}
        for cfg in self.configs.values():
            by_key.setdefault((*cfg.group_key, int(cfg["event_length"])), []).append(cfg)
        self.groups = [_Group(cfgs) for cfgs in by_key.values()]

    def default_out_spec(self) -> dict:
        """daq2lh5's default routing: one LLAMAEvent table per group of equal channels."""
        if self.versions is None:
            try:
                with open(self.path, "rb") as f:
                    self._read_header(f)
            except DAQFileError:
                return {"*": {"{name}": {"key_list": ["*"]}}}  # batches() raises it again
        events: dict = {}
        if len(self.groups) <= 1:
            events["LLAMAEvent"] = {"key_list": ["*"]}
        for i, g in enumerate(self.groups if len(self.groups) > 1 else []):
            name = f"LLAMAEvent_{g.fchs[0]}" if len(g.fchs) == 1 else f"LLAMAEvent_{i}"
            events[name] = {"key_list": list(g.fchs)}
        return {"LLAMAEventDecoder": events, "*": {"{name}": {"key_list": ["*"]}}}

    def _header_struct(self) -> ak.Record:
        major, minor, patch, length, n_open = self.versions
        fields: dict = {
            "version_major": np.uint16(major),
            "version_minor": np.uint16(minor),
            "version_patch": np.uint16(patch),
            "length_econf": np.uint16(length),
            "number_chOpen": np.uint32(n_open),
            "initial_timestamp": np.float64(self.run_start),
            "initial_timestamp_accuracy": np.float64(TIME_ACCURACY),
        }
        for fch, cfg in self.configs.items():
            fields[f"fch_{fch:02d}"] = {name: cfg[name] for name in CONFIG_FIELDS}
        return struct_record(fields)

    # ------------------------------------------------------------------ driver
    def batches(self) -> Iterator[Batch]:
        with open(self.path, "rb") as f:
            if self.versions is None:
                try:
                    self._read_header(f)
                except DAQFileError as exc:
                    raise exc.with_records_done(0) from None
            if np.isnan(self.run_start):
                self.stats.warnings.append(
                    f"{self.path}: no YYYYMMDD-HHMMSS time in the file name: unixtime is NaN"
                )
            self.stats.bytes_read = self.data_start
            yield Batch("LLAMAHeaderDecoder", self._header_struct(), np.array(["header"], object))
            f.seek(self.data_start)
            length_of = np.zeros(N_FCH, dtype=np.int64)
            for fch, cfg in self.configs.items():
                length_of[fch] = int(cfg["event_length"])
            min_len = int(length_of[length_of > 0].min()) if self.configs else 1
            pos = self.data_start  # file offset of rest[0]
            rest = np.empty(0, dtype=np.uint8)
            while True:
                buf = np.empty(len(rest) + self.chunk_bytes, dtype=np.uint8)
                buf[: len(rest)] = rest  # a cut event's start, before the new bytes
                got = f.readinto(memoryview(buf)[len(rest) :])
                buf = buf[: len(rest) + got]
                words = buf[: len(buf) // 4 * 4].view("<u4")
                cap = len(words) // min_len + 1
                offs = np.empty(cap, dtype=np.int64)
                fchs = np.empty(cap, dtype=np.int64)
                n, status, end = frame_events(words, length_of, offs, fchs)
                bad: DAQFileError | None = None
                if status == FRAME_UNKNOWN:
                    fch = int(words[end] >> 4 & 0xFFF)
                    bad = CorruptFileError(
                        self.path,
                        pos + 4 * end,
                        EVENT,
                        f"field channel id is {fch} (fadc {fch >> 4}, channel {fch & 0xF}), "
                        "which has no configuration in the file header",
                    )
                yield from self._decode(words, offs[:n], fchs[:n], pos, bad)
                rest = buf[4 * end :]
                pos += 4 * end
                self.stats.bytes_read = pos
                if not got:
                    if len(rest):
                        size = ""
                        if end < len(words):
                            size = f" of {4 * int(length_of[words[end] >> 4 & 0xFFF])} bytes"
                        raise TruncatedFileError(
                            self.path,
                            pos,
                            EVENT,
                            f"the file ends {len(rest)} bytes into the event{size}",
                        ).with_records_done(self.events_done)
                    return

    def _decode(
        self,
        words: np.ndarray,
        offs: np.ndarray,
        fchs: np.ndarray,
        base: int,
        bad: DAQFileError | None,
    ) -> Iterator[Batch]:
        """Decode framed events; raises ``bad`` (or the first invalid event) after yielding
        every event before it."""
        n = len(offs)
        first_bad = n
        reason = ""
        parts = []
        for g in self.groups:
            sel = np.flatnonzero(np.isin(fchs, g.fchs))
            if len(sel) == 0:
                continue
            head = gather_rows(words, offs[sel], g.samples_at)  # the words before the samples
            why = self._check(g, head, fchs[sel])
            if why is not None:
                k, text = why
                if sel[k] < first_bad:
                    first_bad, reason = int(sel[k]), text
            parts.append((g, sel, head))
        for g, sel, head in parts:
            keep = sel < first_bad
            if not keep.all():
                if not keep.any():
                    continue
                sel, head = sel[keep], head[keep]
            yield self._table(g, words, offs[sel], head, fchs[sel], self.events_done + sel)
        self.events_done += first_bad
        self.stats.records[EVENT] += first_bad
        if first_bad < n:
            raise CorruptFileError(
                self.path, base + 4 * int(offs[first_bad]), EVENT, reason
            ).with_records_done(self.events_done)
        if bad is not None:
            raise bad.with_records_done(self.events_done)

    def _check(self, g: _Group, ev: np.ndarray, fchs: np.ndarray) -> tuple[int, str] | None:
        """The first event of a group that does not match its configuration, and why."""
        problems = []
        fmt = ev[:, 0] & 0xF
        problems.append(
            (
                fmt != g.format_bits,
                lambda k: f"field format bits is {fmt[k]}, the channel config says {g.format_bits}",
            )
        )
        rl = ev[:, g.header_words]
        marker = rl >> 28
        want = 0xA if g.has_avg else 0xE
        problems.append(
            (
                marker != want,
                lambda k: (
                    f"raw-length word {rl[k]:#010x}: marker {marker[k]:#x}, expected {want:#x}"
                ),
            )
        )
        problems.append(
            (
                rl >> 27 & 1 == 1,
                lambda k: "MAW test data (raw-length word bit 27) are not supported",
            )
        )
        raw_words = rl & 0x03FFFFFF
        problems.append(
            (
                2 * raw_words != g.raw_samples,
                lambda k: (
                    f"field raw length is "
                    f"{2 * raw_words[k]} samples, the channel config says {g.raw_samples}"
                ),
            )
        )
        if g.has_avg:
            aw = ev[:, g.header_words + 1]
            problems.append(
                (
                    aw >> 28 != 0xE,
                    lambda k: f"averaged-length word {aw[k]:#010x} does not start with 0xE",
                )
            )
            problems.append(
                (
                    2 * (aw & 0xFFFF) != g.avg_samples,
                    lambda k: (
                        f"field averaged length is "
                        f"{2 * (aw[k] & 0xFFFF)} samples, the channel config says {g.avg_samples}"
                    ),
                )
            )
        first, text = len(ev), ""
        for mask, why in problems:
            hit = np.flatnonzero(mask)
            if len(hit) and hit[0] < first:
                first, text = int(hit[0]), why(int(hit[0]))
        return None if first == len(ev) else (first, text)

    def _table(
        self,
        g: _Group,
        words: np.ndarray,
        offs: np.ndarray,
        ev: np.ndarray,
        fchs: np.ndarray,
        index: np.ndarray,
    ) -> Batch:
        """The LLAMAEvent rows of the events at word offsets ``offs`` of group ``g``; ``ev``:
        their words before the samples (2-D)."""
        n = len(ev)
        cfg = g.configs[0]
        slot = g.slot[fchs]
        per_event_dt = g.dt_raw[slot]
        ticks = (ev[:, 0].astype(np.uint64) >> np.uint64(16) << np.uint64(32)) | ev[:, 1]
        t = ticks * per_event_dt * 1e-9
        rl = ev[:, g.header_words]
        c: dict = {
            "packet_id": col((index + 1).astype(np.uint32)),
            "fadc_channel_id": col(fchs.astype(np.uint32)),
            "time_since_run_start": col(t, units="s"),
            "unixtime": col(t + self.run_start, units="s"),
            "unixtime_accuracy": col(np.full(n, TIME_ACCURACY), units="s"),
            "fadc_status_bits": col((rl >> 26 & 1).astype(np.uint32)),
        }
        pos = g.samples_at
        if g.has_raw:
            nw = g.raw_samples // 2
            values = gather_rows(words, offs + pos, nw).view("<u2")
            pos += nw
            t0 = g.t0_raw[slot].astype(np.float32)
            c["waveform_windowed"] = _waveform(values, per_event_dt, t0)
        if g.has_avg:
            nw = g.avg_samples // 2
            values = gather_rows(words, offs + pos, nw).view("<u2")
            count = ev[:, g.header_words + 1] >> 16 & 0xFF
            t0c = g.t0_avg_const[slot]
            t0 = (t0c + count.astype(np.float64) * per_event_dt).astype(np.float32)
            dt_avg = per_event_dt * (1 << (int(cfg["avg_mode"]) + 1))
            c["waveform_presummed"] = _waveform(values, dt_avg, t0)
        b, w = g.format_bits, 2
        if b & 1:
            c["wf_max_sample_value"] = col(ev[:, 2] & 0xFFFF, units=ADC)
            c["wf_max_sample_idx"] = col(ev[:, 2] >> 16, units=ADC)
            c["info_bits"] = col(ev[:, 3] >> 24)
            c["cumsum_1"] = col(ev[:, 3] & 0x00FFFFFF, units=ADC)
            for k in range(2, 7):
                c[f"cumsum_{k}"] = col(ev[:, 2 + k].copy(), units=ADC)
            w += 7
        if b & 2:
            c["cumsum_7"] = col(ev[:, w].copy(), units=ADC)
            c["cumsum_8"] = col(ev[:, w + 1].copy(), units=ADC)
            w += 2
        if b & 4:
            for k, name in enumerate(("maw_max", "maw_before", "maw_after")):
                c[name] = col(ev[:, w + k].copy(), units=ADC)
            w += 3
        if b & 8:
            c["start_energy"] = col(ev[:, w].copy(), units=ADC)
            c["max_energy"] = col(ev[:, w + 1].copy(), units=ADC)
        return Batch("LLAMAEventDecoder", table(c, n), fchs.astype(np.int64))


def _waveform(values: np.ndarray, dt_ns: np.ndarray, t0_ns: np.ndarray) -> ak.contents.Content:
    """A WaveformTable as daq2lh5 writes llamaDAQ's: dt float64, t0 float32 [ns]."""
    n = len(values)
    return ak.contents.RecordArray(
        [
            col(np.asarray(dt_ns, dtype=np.float64), units="ns"),
            col(np.asarray(t0_ns, dtype=np.float32), units="ns"),
            col(values),
        ],
        ["dt", "t0", "values"],
        length=n,
    )
