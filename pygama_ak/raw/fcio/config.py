"""The FCIO Config record: readout configuration, channel map and derived constants."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from ..errors import CorruptFileError
from .framing import read_i32
from .records import MAX_CHANNELS, MAX_SAMPLES

# frame order of a Config record
CONFIG_FIELDS = (
    "adcs",
    "triggers",
    "eventsamples",
    "blprecision",
    "sumlength",
    "adcbits",
    "mastercards",
    "triggercards",
    "adccards",
    "gps",
)
MIN_CONFIG_FRAMES = len(CONFIG_FIELDS)  # old files stop here (no tracemap, no streamid)


@dataclass(frozen=True)
class FCIOConfig:
    """One Config record. Frames a record lacks keep the previous Config's value (0 at first)."""

    adcs: int = 0
    triggers: int = 0
    eventsamples: int = 0
    blprecision: int = 0
    sumlength: int = 0
    adcbits: int = 0
    mastercards: int = 0
    triggercards: int = 0
    adccards: int = 0
    gps: int = 0
    tracemap: np.ndarray = field(default_factory=lambda: np.zeros(MAX_CHANNELS, np.uint32))
    streamid: int = 0

    @property
    def ntraces(self) -> int:
        """Traces per full event: ADC channels + trigger channels."""
        return self.adcs + self.triggers

    @property
    def traces_map(self) -> np.ndarray:
        """``(card_address << 16) | card_input`` of each trace (uint32, ``ntraces``)."""
        return self.tracemap[: self.ntraces]

    @property
    def fcid(self) -> int:
        """The stream id as used in keys (its low 16 bits)."""
        return self.streamid & 0xFFFF

    @property
    def sampling_period_ns(self) -> float:
        """16 ns for the 62.5 MHz (16-bit) firmware, 4 ns for the 250 MHz (12-bit) one."""
        return 4.0 if self.adcbits == 12 else 16.0

    @property
    def ncards(self) -> int:
        """Cards reporting in Status records: master + trigger + ADC cards."""
        return self.mastercards + self.triggercards + self.adccards

    def same_layout(self, other: FCIOConfig | None) -> bool:
        """Whether events decode the same way under both Configs (all fields and channels)."""
        if other is None:
            return False
        scalars = (
            "adcs",
            "triggers",
            "eventsamples",
            "blprecision",
            "sumlength",
            "adcbits",
            "mastercards",
            "triggercards",
            "adccards",
            "gps",
            "streamid",
        )
        return all(getattr(self, f) == getattr(other, f) for f in scalars) and np.array_equal(
            self.traces_map, other.traces_map
        )

    def rawids(self) -> np.ndarray:
        """Channel keys per trace: fcid·10⁶ + card address·100 + card input (int64)."""
        tm = self.traces_map.astype(np.int64)
        return self.fcid * 1_000_000 + (tm >> 16) * 100 + (tm & 0xFFFF)


def decode_config(
    buf: np.ndarray, off: int, nframes: int, prev: FCIOConfig, path: str, file_offset: int
) -> FCIOConfig:
    """Decode the Config record whose tag word is at ``buf[off]``."""
    values = {}
    p = off + 4
    for i, name in enumerate(CONFIG_FIELDS):
        if i >= nframes:
            break
        size = read_i32(buf, p)
        if size >= 4:
            values[name] = int(read_i32(buf, p + 4))
        p += 4 + size
    tracemap = prev.tracemap
    if nframes > len(CONFIG_FIELDS):
        size = read_i32(buf, p)
        k = min(size // 4, MAX_CHANNELS)
        tracemap = prev.tracemap.copy()
        tracemap[:k] = np.frombuffer(buf[p + 4 : p + 4 + 4 * k].tobytes(), dtype="<u4")
        p += 4 + size
    if nframes > len(CONFIG_FIELDS) + 1 and read_i32(buf, p) >= 4:
        values["streamid"] = int(read_i32(buf, p + 4))
    cfg = replace(prev, tracemap=tracemap, **values)
    ntraces = cfg.adcs + cfg.triggers
    if cfg.adcs < 0 or cfg.triggers < 0 or ntraces > MAX_CHANNELS:
        raise CorruptFileError(
            path,
            file_offset,
            "Config",
            f"{cfg.adcs} ADC + {cfg.triggers} trigger channels (at most {MAX_CHANNELS} in all)",
        )
    if not 0 <= cfg.eventsamples <= MAX_SAMPLES:
        raise CorruptFileError(
            path,
            file_offset,
            "Config",
            f"{cfg.eventsamples} samples per trace (at most {MAX_SAMPLES})",
        )
    if cfg.ncards > 256 or min(cfg.mastercards, cfg.triggercards, cfg.adccards) < 0:
        raise CorruptFileError(path, file_offset, "Config", f"{cfg.ncards} cards (at most 256)")
    return cfg
