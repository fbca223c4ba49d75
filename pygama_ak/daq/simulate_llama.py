"""Simulated llamaDAQ files: HPGe-like pulses digitised by a Struck SIS3316.

:func:`simulate_llama` writes the 16-byte file header, one 88-byte configuration per channel
and SIS3316 event records with the channel's format bits (0: peak and accumulators 1–6,
1: accumulators 7–8, 2: MAW values, 3: energies), raw samples and, with averaging on,
averaged samples. Every accumulator gets a different value (so a decoder reading them one
word late, daq2lh5's bug B5, is caught) and timestamps exceed 2³² ticks. It returns what it
encoded, per event in file order, for value-by-value comparisons.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .pulses import hpge_pulses, th228_energies

MAGIC = 0x4972414C
FIELDS_BIT0 = (
    "wf_max_sample_value",
    "wf_max_sample_idx",
    "info_bits",
    *(f"cumsum_{k}" for k in range(1, 7)),
)
FIELDS_BIT1 = ("cumsum_7", "cumsum_8")
FIELDS_BIT2 = ("maw_max", "maw_before", "maw_after")
FIELDS_BIT3 = ("start_energy", "max_energy")


@dataclass
class LlamaChannel:
    """Settings of one simulated channel (SIS3316 fadc/channel)."""

    fadc: int
    channel: int
    format_bits: int
    sample_length: int = 200  # raw samples (even)
    avg_sample_length: int = 0  # averaged samples (even; 0: no averaging)
    avg_mode: int = 0  # averaging of 2^(avg_mode+1) samples (0: off)
    sample_freq: float = 250.0  # MHz
    sample_start_index: int = 100
    sample_pretrigger: int = 150
    avg_sample_pretrigger: int = 20

    @property
    def fch(self) -> int:
        return (self.fadc << 4) + self.channel

    @property
    def has_avg(self) -> bool:
        return self.avg_sample_length > 0 and self.avg_mode > 0

    @property
    def header_words(self) -> int:
        b = self.format_bits
        return 2 + 7 * (b & 1) + 2 * (b >> 1 & 1) + 3 * (b >> 2 & 1) + 2 * (b >> 3 & 1)

    @property
    def event_words(self) -> int:
        return (
            self.header_words
            + 1
            + self.has_avg
            + self.sample_length // 2
            + (self.avg_sample_length // 2 if self.has_avg else 0)
        )


@dataclass
class LlamaSimulation:
    """What :func:`simulate_llama` wrote; ``events`` holds per-event arrays in file order."""

    path: Path
    channels: list[LlamaChannel]
    version: tuple[int, int, int]
    events: dict[str, np.ndarray] = field(default_factory=dict)
    raw: list[np.ndarray] = field(default_factory=list)  # raw samples per event
    avg: list[np.ndarray] = field(default_factory=list)  # averaged samples per event


def _config(ch: LlamaChannel, gain: float) -> bytes:
    hdr = ch.header_words
    return struct.pack(
        "<4I2d14I",
        ch.fadc,
        ch.channel,
        0b11,  # 14-bit ADC, open
        8191,
        ch.sample_freq,
        gain,
        ch.format_bits,
        ch.sample_start_index,
        ch.sample_pretrigger,
        ch.avg_sample_pretrigger,
        ch.avg_mode,
        ch.sample_length,
        ch.avg_sample_length,
        0,  # MAW buffer length
        ch.event_words,
        hdr + 1 + ch.has_avg,
        2 if ch.format_bits & 1 else 0,  # accum6 offset
        2 + 7 * (ch.format_bits & 1) if ch.format_bits & 2 else 0,
        hdr - 2 * (ch.format_bits >> 3 & 1) - 3 * (ch.format_bits >> 2 & 1),
        hdr - 2 * (ch.format_bits >> 3 & 1),
    )


def simulate_llama(
    path: str | os.PathLike,
    n_events: int,
    channels: list[LlamaChannel],
    *,
    seed: int = 1,
    version: tuple[int, int, int] = (2, 0, 0),
    first_tick: int = 5 * 2**32 + 12345,
) -> LlamaSimulation:
    """Write a llamaDAQ file of ``n_events`` events spread over ``channels``."""
    rng = np.random.default_rng(seed)
    path = Path(path)
    sim = LlamaSimulation(path, channels, version)
    which = rng.integers(0, len(channels), n_events)
    ticks = first_tick + np.cumsum(rng.integers(1, 10**7, n_events)).astype(np.uint64)
    e_kev = th228_energies(n_events, rng)
    names = FIELDS_BIT0 + FIELDS_BIT1 + FIELDS_BIT2 + FIELDS_BIT3
    ev: dict[str, np.ndarray] = {name: np.zeros(n_events, np.uint32) for name in names}
    ev.update(
        fch=np.array([channels[c].fch for c in which], dtype=np.int64),
        ticks=ticks,
        status=rng.integers(0, 2, n_events).astype(np.uint32),
        avg_count=rng.integers(0, 200, n_events).astype(np.uint32),
    )
    major, minor, patch = version
    with open(path, "wb") as f:
        f.write(struct.pack("<I4HI", MAGIC, patch, minor, major, 88, len(channels)))
        for ch in channels:
            f.write(_config(ch, 0.000122))
        for i in range(n_events):
            ch = channels[which[i]]
            raw, _ = hpge_pulses(e_kev[i : i + 1], ch.sample_length, rng, baseline_adc=8000.0)
            raw = raw[0]
            base = 8000 + i
            sums = [base * (10 + 3 * k) + 7 * k + i for k in range(1, 9)]  # all distinct
            ev["wf_max_sample_value"][i] = int(raw.max())
            ev["wf_max_sample_idx"][i] = int(raw.argmax())
            ev["info_bits"][i] = (i * 37) & 0xFF
            for k in range(8):
                ev[f"cumsum_{k + 1}"][i] = sums[k] & (0xFFFFFF if k == 0 else 0x0FFFFFFF)
            for k, name in enumerate(FIELDS_BIT2 + FIELDS_BIT3):
                ev[name][i] = int(e_kev[i] * 10) + 1000 * k
            t = int(ticks[i])
            w = [(t >> 32 & 0xFFFF) << 16 | ch.fch << 4 | ch.format_bits, t & 0xFFFFFFFF]
            b = ch.format_bits
            if b & 1:
                w += [ev["wf_max_sample_idx"][i] << 16 | ev["wf_max_sample_value"][i]]
                w += [ev["info_bits"][i] << 24 | ev["cumsum_1"][i]]
                w += [ev[f"cumsum_{k}"][i] for k in range(2, 7)]
            if b & 2:
                w += [ev["cumsum_7"][i], ev["cumsum_8"][i]]
            if b & 4:
                w += [ev[name][i] for name in FIELDS_BIT2]
            if b & 8:
                w += [ev[name][i] for name in FIELDS_BIT3]
            marker = 0xA if ch.has_avg else 0xE
            w.append(marker << 28 | int(ev["status"][i]) << 26 | ch.sample_length // 2)
            avg = np.zeros(0, np.uint16)
            if ch.has_avg:
                w.append(0xE << 28 | int(ev["avg_count"][i]) << 16 | ch.avg_sample_length // 2)
                avg, _ = hpge_pulses(e_kev[i : i + 1], ch.avg_sample_length, rng)
                avg = avg[0]
            words = np.array(w, dtype="<u4").tobytes()
            f.write(words + raw.astype("<u2").tobytes() + avg.astype("<u2").tobytes())
            sim.raw.append(raw)
            sim.avg.append(avg)
    sim.events = ev
    return sim


def all_format_channels(format_bits: int) -> list[LlamaChannel]:
    """Two channels with the given format bits: one raw only, one with averaged data."""
    return [
        LlamaChannel(fadc=0, channel=2, format_bits=format_bits, sample_length=120),
        LlamaChannel(
            fadc=1,
            channel=5,
            format_bits=format_bits,
            sample_length=80,
            avg_sample_length=60,
            avg_mode=2,
            sample_freq=125.0,
        ),
    ]


__all__ = ["LlamaChannel", "LlamaSimulation", "all_format_channels", "simulate_llama"]
