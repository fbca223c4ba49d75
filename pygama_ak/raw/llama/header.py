"""llamaDAQ file header, per-channel configurations and the run start from the file name.

File header (16 bytes, little-endian): u32 magic ``0x4972414C`` ("LArI"); u16 words 2, 3, 4:
patch, minor, major version; u16 word 5: bytes per channel config (88); u32 word 3: number
of open channels. Then one 88-byte config per open channel: u32 fadc id, channel id, flags
(bit 0: 14-bit ADC, bit 1: open), adc offset; f64 sample frequency [MHz], gain; u32
format bits, sample start index, pretrigger, averaged pretrigger, averaging mode, sample
length, averaged sample length, MAW buffer length, event length [32-bit words], event header
length, accum6/accum2/maw3/energy offsets.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass

import numpy as np

MAGIC = 0x4972414C
FILE_HEADER_BYTES = 16
CONFIG_BYTES = 88

CONFIG_DTYPE = np.dtype(
    [
        ("fadc", "<u4"),
        ("channel", "<u4"),
        ("flags", "<u4"),
        ("adc_offset", "<u4"),
        ("sample_freq", "<f8"),
        ("gain", "<f8"),
        ("format_bits", "<u4"),
        ("sample_start_index", "<u4"),
        ("sample_pretrigger", "<u4"),
        ("avg_sample_pretrigger", "<u4"),
        ("avg_mode", "<u4"),
        ("sample_length", "<u4"),
        ("avg_sample_length", "<u4"),
        ("maw_buffer_length", "<u4"),
        ("event_length", "<u4"),
        ("event_header_length", "<u4"),
        ("accum6_offset", "<u4"),
        ("accum2_offset", "<u4"),
        ("maw3_offset", "<u4"),
        ("energy_offset", "<u4"),
    ]
)
assert CONFIG_DTYPE.itemsize == CONFIG_BYTES

#: LLAMAHeader ``fch_XX`` fields in daq2lh5's order (all from the config record)
CONFIG_FIELDS = (
    "14_bit_flag",
    "adc_offset",
    "sample_freq",
    "gain",
    "format_bits",
    "sample_start_index",
    "sample_pretrigger",
    "avg_sample_pretrigger",
    "avg_mode",
    "sample_length",
    "avg_sample_length",
    "maw_buffer_length",
    "event_length",
    "event_header_length",
    "accum6_offset",
    "accum2_offset",
    "maw3_offset",
    "energy_offset",
)

_NAME_TIME = re.compile(r"(\d{8})[-T](\d{6})(Z?)")


def fch_id(fadc: int, channel: int) -> int:
    """daq2lh5's key of a digitizer channel: ``(fadc << 4) + channel``."""
    return (int(fadc) << 4) + int(channel)


@dataclass(frozen=True)
class ChannelConfig:
    """One channel's configuration record, with the derived sample periods."""

    fch: int
    record: np.void  # CONFIG_DTYPE

    def __getitem__(self, name: str):
        if name == "14_bit_flag":
            return np.uint32(self.record["flags"] & 1)
        return self.record[name]

    @property
    def dt_raw(self) -> float:
        """Raw sample period [ns] (1000 / sample_freq [MHz])."""
        return 1 / float(self.record["sample_freq"]) * 1000

    @property
    def dt_avg(self) -> float:
        """Averaged sample period [ns]: ``dt_raw · 2^(avg_mode + 1)``."""
        return self.dt_raw * (1 << (int(self.record["avg_mode"]) + 1))

    @property
    def t0_raw(self) -> float:
        """Time of the first raw sample relative to the trigger [ns]."""
        r = self.record
        return (float(r["sample_start_index"]) - float(r["sample_pretrigger"])) * self.dt_raw

    @property
    def t0_avg_const(self) -> float:
        """Time of the first averaged sample before the per-event shift [ns]."""
        r = self.record
        return (
            -float(r["sample_pretrigger"]) * self.dt_raw
            - float(r["avg_sample_pretrigger"]) * self.dt_avg
        )

    @property
    def has_raw(self) -> bool:
        return int(self.record["sample_length"]) > 0

    @property
    def has_avg(self) -> bool:
        return int(self.record["avg_sample_length"]) > 0 and int(self.record["avg_mode"]) > 0

    @property
    def header_words(self) -> int:
        """Words of an event before its raw-length word (from the format bits)."""
        b = int(self.record["format_bits"])
        return 2 + 7 * (b & 1) + 2 * (b >> 1 & 1) + 3 * (b >> 2 & 1) + 2 * (b >> 3 & 1)

    @property
    def layout_words(self) -> int:
        """Event length in words implied by the format bits and sample lengths."""
        r = self.record
        raw = int(r["sample_length"]) // 2 if self.has_raw else 0
        avg = int(r["avg_sample_length"]) // 2 if self.has_avg else 0
        return self.header_words + 1 + self.has_avg + raw + avg

    @property
    def group_key(self) -> tuple[int, ...]:
        """Channels with equal values share an output table (daq2lh5's three settings, and
        the format bits, which decide the columns)."""
        r = self.record
        return (
            int(r["sample_length"]),
            int(r["avg_sample_length"]),
            int(r["avg_mode"]),
            int(r["format_bits"]),
        )


def run_start_from_name(path: str | os.PathLike, timezone: str = "UTC") -> float:
    """Unix time [s] of the run start from a file name ``…YYYYMMDD[-T]HHMMSS[Z]…``.

    A trailing ``Z`` means UTC; otherwise the time is read in ``timezone`` ("UTC", an IANA
    name such as "Europe/Rome", or a fixed offset "+01:00"). NaN when the name holds no time.
    """
    found = _NAME_TIME.findall(os.path.basename(os.fspath(path)))
    if not found:
        return float("nan")
    ymd, hms, z = found[-1]
    naive = dt.datetime.strptime(ymd + hms, "%Y%m%d%H%M%S")
    tz = dt.timezone.utc if z or timezone.upper() in ("UTC", "Z") else parse_timezone(timezone)
    return naive.replace(tzinfo=tz).timestamp()


def parse_timezone(name: str) -> dt.tzinfo:
    """A time zone from an IANA name or a fixed offset ``±HH:MM``."""
    m = re.fullmatch(r"([+-])(\d{2}):?(\d{2})", name)
    if m:
        sign = 1 if m.group(1) == "+" else -1
        return dt.timezone(sign * dt.timedelta(hours=int(m.group(2)), minutes=int(m.group(3))))
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r} (use an IANA name or ±HH:MM)") from exc
