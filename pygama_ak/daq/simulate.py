"""Simulated DAQ files: a Th-228 calibration run of HPGe detectors, written as FlashCam FCIO.

Each event is a SparseEvent with the channels that saw it (each channel with probability 0.55,
at least one); every trace carries the FPGA baseline and energy header words. The decoders read
these files like real ones, so tests, the demo and the benchmarks need no external data.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .pulses import ADC_PER_KEV, hpge_pulses, th228_energies

CARD_ADDRESS = 16  # raw ids (keys) are CARD_ADDRESS * 100 + input: 1600, 1601, ...


def simulate_fcio(path: str | os.PathLike, n_events: int, *, n_channels: int = 3, n_samples: int = 2000,
                  seed: int = 1, start_time_s: float = 0.0, rate_hz: float = 10.0) -> Path:
    """Write a FlashCam FCIO file of ``n_events`` events; returns its path.

    Channel ``i`` has raw id ``1600 + i``; event times are a Poisson process at ``rate_hz``
    after ``start_time_s`` (the event number counts from 0).
    """
    from ..raw.fcio import encode

    rng = np.random.default_rng(seed)
    path = Path(path)
    tracemap = [encode.tracemap_entry(CARD_ADDRESS, i) for i in range(n_channels)]
    times = start_time_s + np.cumsum(rng.exponential(1 / rate_hz, n_events))
    seen = rng.random((n_events, n_channels)) < 0.55
    seen[~seen.any(axis=1), 0] = True
    n_traces = int(seen.sum())
    waveforms, baselines = hpge_pulses(th228_energies(n_traces, rng), n_samples, rng)
    energy_adc = np.clip((waveforms.max(axis=1).astype(np.int64) - baselines), 0, 65535)
    traces = np.empty((n_traces, n_samples + 2), dtype=np.uint16)
    traces[:, 0], traces[:, 1], traces[:, 2:] = baselines, energy_adc, waveforms
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as f:
        f.write(encode.protocol_header())
        f.write(encode.config(adcs=n_channels, eventsamples=n_samples, tracemap=tracemap, streamid=0))
        row = 0
        for i in range(n_events):
            channels = np.flatnonzero(seen[i])
            pps = int(times[i])
            ticks = int((times[i] - pps) * 250e6)
            f.write(encode.sparse_event(channels, traces[row:row + len(channels)],
                                        timestamp=(i, pps, ticks, 249_999_999)))
            row += len(channels)
    os.replace(tmp, path)
    return path


__all__ = ["ADC_PER_KEV", "simulate_fcio"]
