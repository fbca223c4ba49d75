"""Simulated CAEN CoMPASS files: HPGe pulses of a Th-228 run digitised by a DT57xx.

:func:`simulate_compass` writes a ``.BIN`` file in any of CoMPASS's event layouts (energy in
channels and/or calibrated, with or without energy short and waveforms, with or without the
2-byte ``0xCAEx`` file header) and optionally its ``<stem>_settings.xml``, and returns
what it encoded, so tests can compare a decoder's output value by value. The byte layout is
written here field by field (independently of the decoder's numpy dtype).
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .pulses import ADC_PER_KEV, hpge_pulses, th228_energies

#: samples per ns of the models the settings file names
SAMPLE_RATE = {"DT5730": 0.5, "DT5725": 0.25}
ADC_BITS = {"DT5730": 14, "DT5725": 14}


@dataclass
class CompassSimulation:
    """What :func:`simulate_compass` wrote: per-event arrays in file order."""

    path: Path
    settings_path: Path | None
    energy: bool
    calibrated: bool
    short: bool
    waveform: bool
    header: bool
    model: str
    n_samples: int
    events: dict[str, np.ndarray] = field(default_factory=dict)
    enabled: dict[int, dict[int, dict[str, str]]] = field(default_factory=dict)

    @property
    def dt_ns(self) -> float:
        return 1 / SAMPLE_RATE[self.model]


def _settings_xml(model: str, n_boards: int, n_channels: int, n_samples: int) -> tuple[str, dict]:
    """A minimal CoMPASS settings file and the channel entries a decoder should report."""
    rate = SAMPLE_RATE[model]
    xs = 'xmlns:xs="http://www.w3.org/2001/XMLSchema"'
    xsi = 'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'

    def board_entry(key: str, kind: str, value: str) -> str:
        return (
            f'<entry><key>{key}</key><value><value xsi:type="xs:{kind}" {xs} {xsi}>{value}'
            f"</value><descriptor><id>{key}</id></descriptor></value></entry>"
        )

    boards, enabled = [], {}
    for b in range(n_boards):
        params = "".join(
            [
                board_entry("SRV_PARAM_RECLEN", "double", f"{n_samples / rate:.1f}"),
                board_entry("SRV_PARAM_CH_ENABLED", "boolean", "false"),
                board_entry("SRV_PARAM_CH_THRESHOLD", "double", "50.0"),
            ]
        )
        channels, enabled[b] = [], {}
        for ch in range(8):
            if ch < n_channels:
                own = {"SRV_PARAM_CH_ENABLED": "true", "SRV_PARAM_CH_INDYN": f"INDYN_{ch}_VPP"}
                entries = "".join(
                    f'<entry><key>{k}</key><value xsi:type="xs:string" {xs} {xsi}>{v}'
                    "</value></entry>"
                    for k, v in own.items()
                )
                # an entry without a value takes the board's value
                entries += "<entry><key>SRV_PARAM_CH_THRESHOLD</key></entry>"
                enabled[b][ch] = {**own, "SRV_PARAM_CH_THRESHOLD": "50.0"}
                channels.append(f"<channel><index>{ch}</index><values>{entries}</values></channel>")
            else:
                channels.append(f"<channel><index>{ch}</index><values/></channel>")
        boards.append(
            f"<board><id>sim-{b}</id><modelName>{model}</modelName>"
            f"<adcBitCount>{ADC_BITS[model]}</adcBitCount>"
            f"<sampleTime>{int(1000 / rate)}</sampleTime><parameters>{params}</parameters>"
            f"{''.join(channels)}<channelCount>8</channelCount></board>"
        )
    xml = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f"<configuration>{''.join(boards)}</configuration>\n"
    )
    return xml, enabled


def simulate_compass(
    path: str | os.PathLike,
    n_events: int,
    *,
    energy: bool = True,
    calibrated: bool = False,
    short: bool = True,
    waveform: bool = True,
    header: bool = True,
    settings: bool = True,
    model: str = "DT5730",
    n_samples: int = 400,
    n_boards: int = 1,
    n_channels: int = 2,
    seed: int = 1,
) -> CompassSimulation:
    """Write a CoMPASS file of ``n_events`` events (and its settings file if ``settings``)."""
    if not (energy or calibrated):
        raise ValueError("a CoMPASS file holds the energy in channels, calibrated, or both")
    rng = np.random.default_rng(seed)
    path = Path(path)
    e_kev = th228_energies(n_events, rng)
    wf, baseline = hpge_pulses(e_kev, n_samples, rng)
    ev = {
        "board": rng.integers(0, n_boards, n_events).astype(np.uint16),
        "channel": rng.integers(0, n_channels, n_events).astype(np.uint16),
        # ps since the start, 10 Hz Poisson; up to ~3e13 ps, exact in float64
        "timestamp": np.cumsum(rng.integers(1, 2 * 10**11, n_events, dtype=np.uint64)),
        "energy": np.clip(e_kev * ADC_PER_KEV, 0, 65535).astype(np.uint16),
        "energy_calibrated": e_kev.astype(np.float64),
        "energy_short": np.clip(e_kev * ADC_PER_KEV / 5, 0, 65535).astype(np.uint16),
        "flags": rng.choice(np.array([0x4000, 0x4040, 0x40C0, 0x1], np.uint32), n_events),
        "samples": wf,
        "baseline": baseline,
    }
    sim = CompassSimulation(
        path, None, energy, calibrated, short, waveform, header, model, n_samples, ev
    )
    flags = energy | calibrated << 1 | short << 2 | waveform << 3
    with open(path, "wb") as f:
        if header:
            f.write(struct.pack("<H", 0xCAE0 | flags))
        for i in range(n_events):
            parts = [struct.pack("<HHQ", ev["board"][i], ev["channel"][i], ev["timestamp"][i])]
            if energy:
                parts.append(struct.pack("<H", ev["energy"][i]))
            if calibrated:
                parts.append(struct.pack("<d", ev["energy_calibrated"][i]))
            if short:
                parts.append(struct.pack("<H", ev["energy_short"][i]))
            parts.append(struct.pack("<I", ev["flags"][i]))
            if waveform:
                parts.append(struct.pack("<BI", 1, n_samples))
                parts.append(wf[i].astype("<u2").tobytes())
            f.write(b"".join(parts))
    if settings:
        xml, sim.enabled = _settings_xml(model, n_boards, n_channels, n_samples)
        sim.settings_path = path.with_name(f"{path.stem}_settings.xml")
        sim.settings_path.write_text(xml)
    return sim


__all__ = ["CompassSimulation", "simulate_compass"]
