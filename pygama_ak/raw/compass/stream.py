"""CAEN CoMPASS binary files as a :class:`~pygama_ak.raw.stream.DAQStream`.

Tables follow daq2lh5: ``CompassHeaderDecoder`` (one struct: the header flags and, with a
settings file, ``boards/{i}/{modelName, adcBitCount, sample_rate, wf_len, channels/{ch}/…}``)
and ``CompassEventDecoder`` (one row per event, key ``(board << 9) + (channel & 0xF)``).
Events have a fixed size (:mod:`.layout`), so each chunk of them is read as a numpy
structured array; memory is bounded by ``out_bytes``.

Options: ``compass_config_file``, the run's settings XML (default: ``<stem>_settings.xml``
beside the file when it exists; ``False`` for none); ``compass_dt_ns``, the sample period
of boards the settings do not describe (default NaN: unknown).

Differences from daq2lh5 1.7.1 (bug B4): ``energy_calibrated`` is NaN when the file has no
calibrated energy, and read at its own bytes when it has; ``energy``/``energy_short`` are 0
when absent; the waveform ``dt`` is the board's sample period (DT5730: 2 ns, DT5725: 4 ns)
instead of a fixed 16 ns. Events without waveforms hold no waveform code and sample count
(CAEN's format) and get no ``waveform`` column (``num_samples`` 0). ``packet_id`` counts
events from 1, as daq2lh5 does.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from pathlib import Path

import awkward as ak
import numpy as np

from ..columns import col, table
from ..errors import CorruptFileError, DAQFileError, TruncatedFileError
from ..stream import Batch, DAQStream
from .layout import HEADER_BYTES, HEADER_MAGIC, Layout, guess_layout
from .settings import CompassSettings, parse_settings
from .structs import struct_record

DEFAULT_OUT_BYTES = 4 << 20  # decoded bytes per batch
DEFAULT_CHUNK_BYTES = 4 << 20
GUESS_BYTES = 1 << 20  # bytes read to guess the layout of a header-less file
EVENT = "CompassEvent"


def compass_key(board: np.ndarray | int, channel: np.ndarray | int) -> np.ndarray | int:
    """daq2lh5's channel key: ``(board << 9) + (channel & 0xF)``."""
    return (np.int64(board) << 9) + (np.int64(channel) & 0xF)


def default_settings_path(path: str | os.PathLike) -> Path | None:
    """``<stem>_settings.xml`` beside the data file, if it exists."""
    p = Path(path)
    cand = p.with_name(f"{p.stem}_settings.xml")
    return cand if cand.is_file() else None


class CompassStream(DAQStream):
    """Decode a CoMPASS ``.BIN`` file (with or without its 2-byte header)."""

    format_name = "Compass"
    decoder_names = ("CompassHeaderDecoder", "CompassEventDecoder")

    def __init__(
        self,
        path: str | os.PathLike,
        *,
        chunk_bytes: int = DEFAULT_CHUNK_BYTES,
        out_bytes: int = DEFAULT_OUT_BYTES,
        compass_config_file: str | os.PathLike | bool | None = None,
        compass_dt_ns: float | None = None,
    ) -> None:
        super().__init__(path)
        self.batch_bytes = max(1, min(int(chunk_bytes), int(out_bytes)))
        if compass_config_file is False or compass_config_file == "":
            self.settings_path = None
        elif compass_config_file is None or compass_config_file is True:
            self.settings_path = default_settings_path(self.path)
        else:
            self.settings_path = Path(compass_config_file)
            if not self.settings_path.is_file():
                raise FileNotFoundError(f"{self.settings_path}: no such CoMPASS settings file")
        self.settings: CompassSettings | None = None
        self.default_dt = math.nan if compass_dt_ns is None else float(compass_dt_ns)
        self.layout: Layout | None = None
        self.header_present = False
        self.nsamples = 0

    @staticmethod
    def sniff(head: bytes) -> bool:
        return len(head) >= 2 and int.from_bytes(head[:2], "little") & 0xFFF0 == HEADER_MAGIC

    # ------------------------------------------------------------------ driver
    def batches(self) -> Iterator[Batch]:
        size = os.path.getsize(self.path)
        with open(self.path, "rb") as f:
            head = f.read(min(size, GUESS_BYTES))
            start = self._read_layout(head, size)
            if self.settings_path is not None:
                self.settings = parse_settings(self.settings_path)
                self.stats.warnings.extend(self.settings.warnings)
            elif self.layout.waveform and math.isnan(self.default_dt):
                self.stats.warnings.append(
                    f"{self.path}: no CoMPASS settings file: the sample period is unknown, "
                    "waveform dt is NaN (pass compass_config_file or compass_dt_ns)"
                )
            self.stats.bytes_read = start
            yield Batch("CompassHeaderDecoder", self._header(), np.array(["header"], object))
            if start >= size:
                return
            event_bytes = self._first_event(head, start, size)
            per_batch = max(1, self.batch_bytes // event_bytes)
            dtype = self.layout.dtype(self.nsamples)
            f.seek(start)
            done = 0
            while True:
                data = f.read(per_batch * event_bytes)
                if not data:
                    return
                n = len(data) // event_bytes
                events = np.frombuffer(data, dtype=dtype, count=n)
                bad: DAQFileError | None = None
                if self.layout.waveform:
                    wrong = np.flatnonzero(events["num_samples"] != self.nsamples)
                    if len(wrong):
                        k = int(wrong[0])
                        bad = CorruptFileError(
                            self.path,
                            start + (done + k) * event_bytes,
                            EVENT,
                            f"field num_samples is {int(events['num_samples'][k])}, not the "
                            f"file's waveform length {self.nsamples}",
                        )
                        n = k
                        events = events[:k]
                if bad is None and len(data) % event_bytes:
                    bad = TruncatedFileError(
                        self.path,
                        start + (done + n) * event_bytes,
                        EVENT,
                        f"the file ends {len(data) % event_bytes} bytes into the "
                        f"{event_bytes}-byte event",
                    )
                if n:
                    yield self._events(events, done)
                done += n
                self.stats.records[EVENT] += n
                self.stats.bytes_read = start + done * event_bytes
                if bad is not None:
                    raise bad.with_records_done(done)

    # ------------------------------------------------------------------ parts
    def _read_layout(self, head: bytes, size: int) -> int:
        """Find the event layout; returns the offset of the first event."""
        if size == 0:
            raise TruncatedFileError(
                self.path, 0, "file header", "the file is empty"
            ).with_records_done(0)
        if len(head) >= 2 and self.sniff(head):
            self.layout = Layout.from_header(int.from_bytes(head[:2], "little"))
            self.header_present = True
            return HEADER_BYTES
        if size < HEADER_BYTES:
            raise TruncatedFileError(
                self.path, 0, "file header", "the file ends after 1 byte"
            ).with_records_done(0)
        self.layout = guess_layout(head, size)
        if self.layout is None:
            raise CorruptFileError(
                self.path,
                0,
                "file header",
                "no 0xCAEx header, and no CoMPASS event layout fits the first events",
            ).with_records_done(0)
        return 0

    def _first_event(self, head: bytes, start: int, size: int) -> int:
        """Bytes per event, from the first event's sample count."""
        layout = self.layout
        if not layout.waveform:
            return layout.fixed_bytes
        pos = start + layout.nsamples_offset
        if size < pos + 4:
            raise TruncatedFileError(
                self.path,
                start,
                EVENT,
                f"the file ends {size - start} bytes into the event's "
                f"{layout.fixed_bytes}-byte fixed part",
            ).with_records_done(0)
        self.nsamples = int.from_bytes(head[pos : pos + 4], "little")
        if self.settings is not None:
            board = int.from_bytes(head[start : start + 2], "little")
            if board < len(self.settings.boards):
                expect = self.settings.boards[board].wf_len
                if expect != self.nsamples:
                    self.stats.warnings.append(
                        f"{self.path}: events hold {self.nsamples} samples, the settings "
                        f"file's record length is {expect:g} samples"
                    )
        return layout.event_bytes(self.nsamples)

    def _dt(self, board: int) -> float:
        """Sample period (ns) of a board."""
        if self.settings is not None and board < len(self.settings.boards):
            return self.settings.boards[board].dt_ns
        return self.default_dt

    def _header(self) -> ak.Record:
        layout = self.layout
        fields: dict = {}
        if self.settings is not None:
            boards = {}
            for i, b in enumerate(self.settings.boards):
                entry: dict = {
                    "modelName": b.model,
                    "adcBitCount": b.adc_bits,
                    "sample_rate": np.float64(b.sample_rate),
                    "wf_len": np.float64(b.wf_len),
                }
                if b.channels:
                    entry["channels"] = {
                        str(ch): values or {"SRV_PARAM_CH_ENABLED": "true"}
                        for ch, values in b.channels.items()
                    }
                boards[str(i)] = entry
            fields["boards"] = boards
        fields.update(
            {
                "energy_channels": np.int64(layout.energy),
                "energy_calibrated": np.int64(layout.calibrated),
                "energy_short": np.int64(layout.short),
                "waveform_samples": np.int64(layout.waveform),
                "header_present": np.int64(self.header_present),
            }
        )
        return struct_record(fields)

    def _events(self, events: np.ndarray, first: int) -> Batch:
        """The CompassEvent rows of a chunk of events (``first``: events before it)."""
        layout = self.layout
        n = len(events)
        board = events["board"].astype(np.uint32)
        channel = events["channel"].astype(np.uint32)

        def field(name: str, dtype, fill) -> np.ndarray:
            if name in events.dtype.names:
                return events[name].astype(dtype)
            return np.full(n, fill, dtype=dtype)

        c = {
            "packet_id": col(np.arange(first + 1, first + n + 1, dtype=np.uint32)),
            "board": col(board),
            "channel": col(channel),
            "timestamp": col(events["timestamp"].astype(np.float64), units="ps"),
            "energy": col(field("energy", np.uint32, 0)),
            "energy_calibrated": col(field("energy_calibrated", np.float64, np.nan)),
            "energy_short": col(field("energy_short", np.uint32, 0)),
            "flags": col(events["flags"].astype(np.uint32)),
            "num_samples": col(field("num_samples", np.int64, 0)),
        }
        if layout.waveform:
            dt = np.empty(n, dtype=np.float32)
            for b in np.unique(board):
                dt[board == b] = self._dt(int(b))
            c["waveform"] = ak.contents.RecordArray(
                [
                    col(dt, units="ns"),
                    col(np.zeros(n, dtype=np.float32), units="ns"),
                    col(np.array(events["samples"], dtype=np.uint16)),
                ],
                ["dt", "t0", "values"],
                length=n,
            )
        keys = compass_key(board.astype(np.int64), channel.astype(np.int64))
        return Batch("CompassEventDecoder", table(c, n), keys)
