"""Kernel outputs → the FCEvent, FCEventHeader and FCConfig tables (daq2lh5 field names).

Per-record header words are repeated onto the traces of the record; derived values follow
fcio-py: unix time and dead-time columns are nanoseconds / 10⁹; the FPGA baseline is
``theader[0] / blprecision``; the FPGA energy is ``theader[1]`` (16-bit firmware) or
``sumlength / blprecision · (theader[1] − theader[0])`` computed with signs (12-bit
firmware, may be negative). Both stay uint16 where that holds them exactly (16-bit firmware,
``blprecision`` 1), and are float64 otherwise — daq2lh5 casts them to uint16 (bug B3).
"""

from __future__ import annotations

import awkward as ak
import numpy as np

from ..columns import col, table, vov, waveforms
from .config import FCIOConfig
from .events import REC_DR, REC_DR_CH_IDX, REC_DR_CH_LEN, REC_NTRACES, REC_TO, REC_TS, REC_TYPE

NS = 1e9

HEADER_DOCS = {
    "eventnumber": ("Event counter (master card; ADC card in per-card sparse mode)", None),
    "ts_pps": ("PPS counter since DAQ reset", None),
    "ts_ticks": ("250 MHz clock ticks since the last PPS", None),
    "ts_maxticks": ("Clock ticks counted at the last PPS", None),
    "mu_offset_sec": ("Seconds between server (unix) and FPGA time", None),
    "mu_offset_usec": ("Microseconds between server (unix) and FPGA time", None),
    "to_master_sec": ("Seconds to add to the FPGA time with an external clock (gps)", None),
    "delta_mu_usec": ("Clock offset between FPGA and server, microseconds", None),
    "abs_delta_mu_usec": ("|delta_mu_usec|", None),
    "to_start_sec": ("Seconds of the run start (trigger enable)", None),
    "to_start_usec": ("Microseconds of the run start (trigger enable)", None),
    "dr_start_pps": ("PPS counter at the start of the last dead region", None),
    "dr_start_ticks": ("Clock ticks at the start of the last dead region", None),
    "dr_stop_pps": ("PPS counter at the end of the last dead region", None),
    "dr_stop_ticks": ("Clock ticks at the end of the last dead region", None),
    "dr_maxticks": ("Clock ticks counted at the PPS of the last dead region", None),
}
_TS_NAMES = ("eventnumber", "ts_pps", "ts_ticks", "ts_maxticks")
_TO_NAMES = (
    "mu_offset_sec",
    "mu_offset_usec",
    "to_master_sec",
    "delta_mu_usec",
    "abs_delta_mu_usec",
    "to_start_sec",
    "to_start_usec",
)
_DR_NAMES = ("dr_start_pps", "dr_start_ticks", "dr_stop_pps", "dr_stop_ticks", "dr_maxticks")


def fpga_values(cfg: FCIOConfig, theader: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """FPGA baseline and energy of traces from their two header words (see module doc)."""
    raw_bl = theader[:, 0]
    raw_e = theader[:, 1]
    if cfg.blprecision == 1:
        baseline = raw_bl.copy()
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            baseline = raw_bl / np.float64(cfg.blprecision)
    if cfg.adcbits == 12:
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = np.float64(cfg.sumlength) / np.float64(cfg.blprecision)
            energy = scale * (raw_e.astype(np.int64) - raw_bl.astype(np.int64))
    else:
        energy = raw_e.copy()
    return baseline, energy


def _header_columns(
    rec: np.ndarray, unix_ns: np.ndarray, pids: np.ndarray, fcid: int, rep: np.ndarray | None
) -> dict:
    """Per-record columns, repeated ``rep`` times each (per trace) when given."""

    def r(a):
        return a if rep is None else np.repeat(a, rep)

    c = {
        "packet_id": col(r(pids.astype(np.uint32)), doc="Index of the record in the file"),
        "fcid": col(
            np.full(len(rec) if rep is None else int(rep.sum()), fcid, np.uint16),
            doc="Stream id (low 16 bits)",
        ),
        "event_type": col(
            r(rec[:, REC_TYPE]), doc="1: shared trigger/readout; 11: per-card sparse readout"
        ),
        "numtraces": col(r(rec[:, REC_NTRACES]), doc="Traces in this record"),
        "timestamp": col(r(unix_ns) / NS, units="s", doc="Unix time of the event"),
    }
    for names, first in ((_TS_NAMES, REC_TS), (_TO_NAMES, REC_TO), (_DR_NAMES, REC_DR)):
        for j, name in enumerate(names):
            c[name] = col(r(rec[:, first + j]), doc=HEADER_DOCS[name][0])
    c["dr_ch_idx"] = col(
        r(rec[:, REC_DR_CH_IDX].astype(np.uint16)), doc="First trace affected by the dead region"
    )
    c["dr_ch_len"] = col(
        r(rec[:, REC_DR_CH_LEN].astype(np.uint16)),
        doc="Number of traces affected by the dead region",
    )
    return c


def event_table(
    cfg: FCIOConfig, rec, unix_ns, pids, ntr, chan, theader, dint, dead, run, life, wf
) -> tuple[ak.Array, np.ndarray]:
    """The FCEvent table (one row per trace) and its rawid keys."""
    n = len(chan)
    c = _header_columns(rec, unix_ns, pids, cfg.fcid, ntr)
    tm = cfg.traces_map[chan]
    baseline, energy = fpga_values(cfg, theader)
    c.update(
        {
            "channel": col(chan, doc="Trace index in the stream"),
            "board_id": col((tm >> 16).astype(np.uint16), doc="Address of the FlashCam card"),
            "fc_input": col((tm & 0xFFFF).astype(np.uint16), doc="Input of the card"),
            "deadinterval_nsec": col(dint, units="ns", doc="Dead interval before this event"),
            "deadtime": col(dead / NS, units="s", doc="Accumulated dead time of the channel"),
            "lifetime": col(life / NS, units="s", doc="Accumulated live time since trigger enable"),
            "runtime": col(run / NS, units="s", doc="Time since trigger enable of the channel"),
            "baseline": col(baseline, doc="FPGA baseline"),
            "daqenergy": col(
                energy,
                doc="FPGA energy: shaped pulse height (16-bit firmware) or "
                "integral over sumlength samples (12-bit firmware)",
            ),
            "waveform": waveforms(wf, cfg.sampling_period_ns),
        }
    )
    keys = cfg.rawids()[chan]
    return table(c, n), keys


def eventheader_table(
    cfg: FCIOConfig, rec, unix_ns, pids, ntr, chan, theader, dint, dead, run, life
) -> ak.Array:
    """The FCEventHeader table: one row per record, per-trace values as vectors."""
    offsets = np.zeros(len(rec) + 1, dtype=np.int64)
    np.cumsum(ntr, out=offsets[1:])
    c = _header_columns(rec, unix_ns, pids, cfg.fcid, None)
    tm = cfg.traces_map[chan]
    baseline, energy = fpga_values(cfg, theader)
    c.update(
        {
            "tracelist": vov(offsets, chan, doc="Trace indices read out in this event"),
            "board_id": vov(offsets, (tm >> 16).astype(np.uint16), doc="Card address per trace"),
            "fc_input": vov(offsets, (tm & 0xFFFF).astype(np.uint16), doc="Card input per trace"),
            "deadinterval_nsec": vov(offsets, dint, units="ns", doc="Dead interval per trace"),
            "deadtime": vov(offsets, dead / NS, units="s", doc="Accumulated dead time per trace"),
            "lifetime": vov(offsets, life / NS, units="s", doc="Live time per trace"),
            "runtime": vov(offsets, run / NS, units="s", doc="Run time per trace"),
            "baseline": vov(offsets, baseline, doc="FPGA baseline per trace"),
            "daqenergy": vov(offsets, energy, doc="FPGA energy per trace"),
        }
    )
    return table(c, len(rec))


def config_table(configs: list[tuple[int, FCIOConfig]]) -> ak.Array:
    """The FCConfig table: one row per Config record (packet_id 0 for the first one)."""
    names = {
        "nsamples": "eventsamples",
        "nadcs": "adcs",
        "ntriggers": "triggers",
        "streamid": "streamid",
        "adcbits": "adcbits",
        "sumlength": "sumlength",
        "blprecision": "blprecision",
        "mastercards": "mastercards",
        "triggercards": "triggercards",
        "adccards": "adccards",
        "gps": "gps",
    }
    docs = {
        "nsamples": "Samples per trace",
        "nadcs": "ADC channels",
        "ntriggers": "Trigger channels",
        "streamid": "Stream id",
        "adcbits": "ADC bits (16: 62.5 MHz firmware, 12: 250 MHz firmware)",
        "sumlength": "Samples of the FPGA integrator",
        "blprecision": "Precision of the FPGA baseline (1/LSB)",
        "mastercards": "Master cards",
        "triggercards": "Trigger cards",
        "adccards": "ADC cards",
        "gps": "External clock mode (0: none; >0: max PPS/unix deviation, us)",
    }
    c = {
        "packet_id": col(
            np.array([p for p, _ in configs], dtype=np.uint32),
            doc="Index of the record in the file (0: the first Config)",
        )
    }
    for name, attr in names.items():
        c[name] = col(
            np.array([getattr(cfg, attr) for _, cfg in configs], dtype=np.int32), doc=docs[name]
        )
    maps = [cfg.traces_map for _, cfg in configs]
    offsets = np.zeros(len(maps) + 1, dtype=np.int64)
    np.cumsum([len(m) for m in maps], out=offsets[1:])
    c["tracemap"] = vov(
        offsets,
        np.concatenate(maps).astype(np.uint32),
        doc="(card address << 16) | card input of each trace",
    )
    return table(c, len(configs))
