"""ORCA run-control packets (``ORRunDecoderForRun``): run start/stop and heartbeats.

4 words: w1 bits 31–16 subrun number, bits 0–5 flags (run start-or-stop, quick start,
remote control, heartbeat, end of subrun, start of subrun); w2 run number; w3 unix time (s).
Output table ``ORRunDecoderForRun`` (no packet_id column, as daq2lh5).
"""

from __future__ import annotations

import numpy as np

from ..columns import col, table
from ..stream import Batch

NAME = "ORRunDecoderForRun"
FLAGS = (
    "runstartorstop",
    "quickstartrun",
    "remotecontrolrun",
    "heartbeatrecord",
    "endsubrunrecord",
    "startsubrunrecord",
)
MIN_WORDS = 4


def decode_run(words: np.ndarray, offs: np.ndarray, pids: np.ndarray) -> Batch:
    """Run packets at word offsets ``offs`` → one batch (key ``"run"`` for every row)."""
    w1 = words[offs + 1]
    c = {"subrun_number": col((w1 >> 16).astype(np.uint16), doc="Subrun number")}
    for bit, name in enumerate(FLAGS):
        c[name] = col(((w1 >> bit) & 1).astype(bool), doc=f"Flag bit {bit} of word 1")
    c["run_number"] = col(words[offs + 2].view(np.int32), doc="Run number")
    c["time"] = col(words[offs + 3].view(np.int32), units=None, doc="Unix time, s")
    return Batch(NAME, table(c, len(offs)), np.full(len(offs), "run", dtype=object))
