"""Simulated DAQ files: a Th-228 calibration run of HPGe detectors, written as FlashCam FCIO.

Each event is a SparseEvent with the channels that saw it (each channel with probability 0.55,
at least one); every trace carries the FPGA baseline and energy header words. The decoders read
these files like real ones, so tests, the demo and the benchmarks need no external data.

With ``fsp=True`` the file also holds libfsp software-trigger records, each right before the
record it annotates (as libfsp writes them): an FSPConfig before the Config, an FSPEvent before
every event, and an FSPStatus before each of two Status records (mid-run and at the end).
:func:`fsp_truth` returns the values written.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .pulses import ADC_PER_KEV, hpge_pulses, th228_energies

CARD_ADDRESS = 16  # raw ids (keys) are CARD_ADDRESS * 100 + input: 1600, 1601, ...


def _event_channels(rng: np.random.Generator, n_events: int, n_channels: int,
                    start_time_s: float, rate_hz: float) -> tuple[np.ndarray, np.ndarray]:
    """Event times (s) and the channels that saw each event (bool [event, channel])."""
    times = start_time_s + np.cumsum(rng.exponential(1 / rate_hz, n_events))
    seen = rng.random((n_events, n_channels)) < 0.55
    seen[~seen.any(axis=1), 0] = True
    return times, seen


def fsp_truth(n_events: int, *, n_channels: int = 3, seed: int = 1, start_time_s: float = 0.0,
              rate_hz: float = 10.0) -> dict:
    """The FSP values ``simulate_fcio(..., fsp=True)`` writes with the same arguments.

    ``"config"``: FSPConfig values by table column; ``"events"``: per event the keyword
    arguments of :func:`~pygama_ak.raw.fcio.encode.fsp_event` (``write_flags`` as a dict);
    ``"status"``: the FSPStats values of each FSPStatus record; ``"status_after"``: the index of
    the event each Status record follows.
    """
    _, seen = _event_channels(np.random.default_rng(seed), n_events, n_channels,
                              start_time_s, rate_hz)
    rng = np.random.default_rng([seed, 0xF5])
    chans = np.arange(n_channels)
    labels = [f"ch{1600 + i}".encode() for i in range(n_channels)]
    config = {
        "buffer_max_states": 1000,
        "buffer_window_nsec": 2_500_000_000,
        "trg_hwm_min_multiplicity": 1,
        "trg_hwm_prescale_ratio": (100 + chans).tolist(),
        "trg_wps_prescale_ratio": 7,
        "trg_wps_coincident_sum_threshold": 2.5,
        "trg_wps_sum_threshold": 60.25,
        "trg_wps_prescale_rate": 0.5,
        "trg_hwm_prescale_rate": (0.125 * (chans + 1)).tolist(),
        "trg_wps_ref_flags_hwm": 1 << 8,  # sw_multiplicity
        "trg_wps_ref_flags_ct": 1,  # multiplicity
        "trg_wps_ref_flags_wps": 1 << 16,  # coincidence_ref
        "trg_wps_ref_map_idx": chans[::2].tolist(),
        "trg_enabled_write_flags_trigger": 0x0000_0101_0101_0101,
        "trg_enabled_write_flags_event": 0x0101,
        "trg_pre_trigger_window_nsec": 1_000_000,
        "trg_post_trigger_window_nsec": 2_000_123_456,
        "dsp_wps_tracemap_format": 1,
        "dsp_wps_tracemap_indices": chans.tolist(),
        "dsp_wps_tracemap_enabled": chans.tolist(),
        "dsp_wps_tracemap_label": labels,
        "dsp_wps_gains": (1.0 + 0.01 * chans).tolist(),
        "dsp_wps_thresholds": (3.5 + chans).tolist(),
        "dsp_wps_lowpass": [0.25] * n_channels,
        "dsp_wps_shaping_widths": (16 + chans).tolist(),
        "dsp_wps_margin_front": (50 + chans).tolist(),
        "dsp_wps_margin_back": (60 + chans).tolist(),
        "dsp_wps_start_sample": (100 + chans).tolist(),
        "dsp_wps_stop_sample": (1900 - chans).tolist(),
        "dsp_wps_dsp_max_margin_front": 50 + n_channels - 1,
        "dsp_wps_dsp_max_margin_back": 60 + n_channels - 1,
        "dsp_wps_apply_gain_scaling": 1,
        "dsp_wps_sum_window_size": 32,
        "dsp_wps_sum_window_start_sample": 900,
        "dsp_wps_sum_window_stop_sample": 1100,
        "dsp_wps_sub_event_sum_threshold": 12.5,
        "dsp_hwm_tracemap_format": 2,
        "dsp_hwm_tracemap_indices": chans.tolist(),
        "dsp_hwm_tracemap_enabled": chans.tolist(),
        "dsp_hwm_tracemap_label": labels,
        "dsp_hwm_fpga_energy_threshold_adc": (20 + chans).tolist(),
        "dsp_ct_tracemap_format": 3,
        "dsp_ct_tracemap_indices": chans[:2].tolist(),
        "dsp_ct_tracemap_enabled": [0, 1] + [-1] * (n_channels - 2),
        "dsp_ct_tracemap_label": labels[:2],
        "dsp_ct_thresholds": [500, 600][: min(2, n_channels)],
    }
    events = []
    for i in range(n_events):
        hit = np.flatnonzero(seen[i])
        energies = rng.integers(10, 30000, len(hit))
        ct = hit[(hit < 2) & (energies > 400)]
        ct_max = rng.integers(400, 20000, len(ct))
        prescaled = hit[energies < 200]
        consecutive = i % 17 == 5
        flags = {
            "consecutive": consecutive,
            "extended": i % 17 == 4,
            "hwm_multiplicity": len(hit) >= 1,
            "hwm_prescaled": len(prescaled) > 0,
            "wps_sum": i % 3 == 0,
            "wps_coincident_sum": i % 5 == 0,
            "wps_prescaled": i % 11 == 0,
            "ct_multiplicity": len(ct) > 0,
            "write": i % 13 != 7,
        }
        n_sub = int(rng.integers(0, 3))
        events.append({
            "write_flags": flags,
            "proc_flags": (i & 1, (i >> 1) & 1, int(len(ct) > 0)),
            "nconsecutive": 2 if i % 17 == 4 else 0,
            "hwm": (len(hit), int(energies.max()), int(energies.min()), int((energies > 20).sum())),
            "wps": (float(rng.integers(0, 4000)) / 8, int(rng.integers(0, 2000)), len(hit),
                    float(rng.integers(0, 800)) / 4, int(rng.integers(0, 2000))),
            "ct_trace_idx": ct.tolist(),
            "ct_max": ct_max.tolist(),
            "sub_events": [(100 * k, 100 * k + 50, 1.5 * k) for k in range(n_sub)],
            "hwm_prescaled_trace_idx": prescaled.tolist(),
        })
    status_after = sorted({n_events // 2, n_events - 1})
    status = []
    for j, after in enumerate(status_after):
        n_read = after + 1
        n_written = sum(e["write_flags"]["write"] for e in events[: after + 1])
        runtime = 10.0 * (j + 1)
        status.append({
            "start_time": 1_700_000_000.25, "log_time": 1_700_000_000.25 + runtime,
            "dt_logtime": 10.0, "runtime": runtime, "n_read_events": n_read,
            "n_written_events": n_written, "n_discarded_events": n_read - n_written,
            "dt_n_read_events": n_read // (j + 1), "dt_n_written_events": n_written // (j + 1),
            "dt_n_discarded_events": (n_read - n_written) // (j + 1), "dt": 10.0,
            "dt_rate_read_events": n_read / runtime, "dt_rate_write_events": n_written / runtime,
            "dt_rate_discard_events": (n_read - n_written) / runtime,
            "avg_rate_read_events": n_read / runtime, "avg_rate_write_events": n_written / runtime,
            "avg_rate_discard_events": (n_read - n_written) / runtime,
        })
    return {"config": config, "events": events, "status": status, "status_after": status_after}


def simulate_fcio(path: str | os.PathLike, n_events: int, *, n_channels: int = 3, n_samples: int = 2000,
                  seed: int = 1, start_time_s: float = 0.0, rate_hz: float = 10.0,
                  fsp: bool = False) -> Path:
    """Write a FlashCam FCIO file of ``n_events`` events; returns its path.

    Channel ``i`` has raw id ``1600 + i``; event times are a Poisson process at ``rate_hz``
    after ``start_time_s`` (the event number counts from 0). ``fsp``: add libfsp
    software-trigger records (:func:`fsp_truth`) and two Status records.
    """
    from ..raw.fcio import encode

    rng = np.random.default_rng(seed)
    path = Path(path)
    tracemap = [encode.tracemap_entry(CARD_ADDRESS, i) for i in range(n_channels)]
    times, seen = _event_channels(rng, n_events, n_channels, start_time_s, rate_hz)
    truth = fsp_truth(n_events, n_channels=n_channels, seed=seed, start_time_s=start_time_s,
                      rate_hz=rate_hz) if fsp else None
    n_traces = int(seen.sum())
    waveforms, baselines = hpge_pulses(th228_energies(n_traces, rng), n_samples, rng)
    energy_adc = np.clip((waveforms.max(axis=1).astype(np.int64) - baselines), 0, 65535)
    traces = np.empty((n_traces, n_samples + 2), dtype=np.uint16)
    traces[:, 0], traces[:, 1], traces[:, 2:] = baselines, energy_adc, waveforms
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as f:
        f.write(encode.protocol_header())
        if truth is not None:
            f.write(encode.fsp_config(truth["config"]))
        f.write(encode.config(adcs=n_channels, eventsamples=n_samples, tracemap=tracemap, streamid=0))
        row = 0
        for i in range(n_events):
            channels = np.flatnonzero(seen[i])
            pps = int(times[i])
            ticks = int((times[i] - pps) * 250e6)
            if truth is not None:
                ev = dict(truth["events"][i])
                ev["write_flags"] = encode.fsp_write_flags(**ev["write_flags"])
                f.write(encode.fsp_event(**ev))
            f.write(encode.sparse_event(channels, traces[row:row + len(channels)],
                                        timestamp=(i, pps, ticks, 249_999_999)))
            row += len(channels)
            if truth is not None and i in truth["status_after"]:
                j = truth["status_after"].index(i)
                f.write(encode.fsp_status(truth["status"][j]))
                cards = [encode.card_status(reqid=0, eventno=i, pps=pps, ticks=ticks),
                         encode.card_status(reqid=0x2000, eventno=i, pps=pps, ticks=ticks)]
                f.write(encode.status(cards, statustime=[pps, 0, 1_700_000_000 + pps, 0, 0, 0, 0,
                                                         0, 0, 0]))
    os.replace(tmp, path)
    return path


__all__ = ["ADC_PER_KEV", "simulate_fcio"]
