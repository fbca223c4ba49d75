"""Struck SIS3316 read out by ORCA (``ORSIS3316WaveformDecoder``), several events a packet.

Packet: w1 crate (24–21), card (20–16), channel (15–8); w2 events in the packet; w3 words
per event; w4 FIFO records; w5 words of an event before its raw samples; w6–w9 spare. Event:
word 0 format bits (3–0), channel id (15–4), timestamp[47:32] (31–16); word 1
timestamp[31:0]; format bit 0: peak high value (15–0) and index (31–16), accumulator gate 1
(23–0) with the information byte (31–24), gates 2–6; bit 1: gates 7–8; bit 2: MAW maximum,
before and after trigger; bit 3: start and maximum energy; then raw samples / 2 (25–0),
status flag (26), MAW-test flag (27); the raw samples; MAW test data.

Output (daq2lh5 field names; one table per enabled channel, key ccc): every value, 0 where
the format bit leaves it out (daq2lh5 writes −1 into uint32, B6). ``energy`` is the maximum
energy value and ``energy_first`` the start energy value (format bit 3; daq2lh5 never fills
them, nor ``packet_id``, B6); ``waveform`` uint16, 8 ns. Channels of every crate are keyed and
the enabled mask is read LSB = channel 0 (daq2lh5: crate 0 only, MSB first).
"""

from __future__ import annotations

import numba
import numpy as np

from ..columns import col, table, waveforms
from ..errors import CorruptFileError
from ..stream import Batch
from .header import OrcaHeader
from .packets import gather_u16
from .sis3302 import ccc

NAME = "ORSIS3316WaveformDecoder"
MODEL = "ORSIS3316Model"
DT_NS = 8.0
PACKET_HEADER = 10
FIELDS = (
    "peakHighValue",
    "peakHighIndex",
    "accSum1",
    "information",
    "accSum2",
    "accSum3",
    "accSum4",
    "accSum5",
    "accSum6",
    "accSum7",
    "accSum8",
    "mawMax",
    "mawBefore",
    "mawAfter",
    "startEnergy",
    "maxEnergy",
)


def key_lists(header: OrcaHeader) -> list[list]:
    """One list per enabled channel (``enabledMask`` bit i = channel i)."""
    out = []
    for (crate, slot), card in sorted(header.cards(MODEL).items()):
        mask = int(card.get("enabledMask", 0))
        out += [[ccc(crate, slot, ch)] for ch in range(16) if mask >> ch & 1]
    return out


@numba.njit(cache=True, nogil=True)
def _events(words, starts, ends, hdr, vals, ts, nraw, raw_at):
    """Parse events at word offsets ``starts``; returns the first bad event or -1."""
    for i in range(len(starts)):
        s = starts[i]
        w0 = np.int64(words[s])
        fmt = w0 & 0xF
        ts[i] = (np.uint64(w0 >> 16) << np.uint64(32)) | np.uint64(words[s + 1])
        p = s + 2
        if fmt & 1:
            w = np.int64(words[p])
            vals[i, 0] = w & 0xFFFF
            vals[i, 1] = w >> 16
            w = np.int64(words[p + 1])
            vals[i, 2] = w & 0xFFFFFF
            vals[i, 3] = w >> 24
            for j in range(5):
                vals[i, 4 + j] = words[p + 2 + j]
            p += 7
        if fmt & 2:
            vals[i, 9] = words[p]
            vals[i, 10] = words[p + 1]
            p += 2
        if fmt & 4:
            for j in range(3):
                vals[i, 11 + j] = words[p + j]
            p += 3
        if fmt & 8:
            vals[i, 14] = words[p]
            vals[i, 15] = words[p + 1]
            p += 2
        if p + 1 != s + hdr[i]:
            return i
        nraw[i] = 2 * (np.int64(words[p]) & 0x3FFFFFF)
        raw_at[i] = p + 1
        if raw_at[i] + nraw[i] // 2 > ends[i]:
            return i
    return -1


def decode(path, header, words, offs, lens, pids, base) -> list[Batch]:
    """SIS3316 packets → batches (one per raw waveform length)."""
    short = lens < PACKET_HEADER
    n_ev = np.where(short, 0, words[offs + 2 * ~short]).astype(np.int64)
    per = np.where(short, 0, words[offs + 3 * ~short]).astype(np.int64)
    hdr = np.where(short, 0, words[offs + 5 * ~short]).astype(np.int64)
    bad = short | (PACKET_HEADER + n_ev * per > lens) | ((n_ev > 0) & ((hdr < 3) | (hdr > per)))
    if bad.any():
        i = int(np.argmax(bad))
        raise CorruptFileError(
            path,
            base + 4 * int(offs[i]),
            NAME,
            f"{int(n_ev[i])} events of {int(per[i])} words (header {int(hdr[i])}) do not fit "
            f"the {int(lens[i])}-word packet (fields: words 2, 3, 5)",
        )
    pk = np.repeat(np.arange(len(offs)), n_ev)
    first = np.repeat(np.cumsum(n_ev) - n_ev, n_ev)
    starts = offs[pk] + PACKET_HEADER + (np.arange(len(pk)) - first) * per[pk]
    n = len(starts)
    vals = np.zeros((n, len(FIELDS)), np.uint32)
    ts = np.zeros(n, np.uint64)
    nraw = np.zeros(n, np.int64)
    raw_at = np.zeros(n, np.int64)
    bad_ev = _events(words, starts, starts + per[pk], hdr[pk], vals, ts, nraw, raw_at)
    if bad_ev >= 0:
        raise CorruptFileError(
            path,
            base + 4 * int(offs[pk[bad_ev]]),
            NAME,
            f"event {bad_ev - int(first[bad_ev])}: its format bits and raw-sample count do not "
            f"fit the data-header length {int(hdr[pk[bad_ev]])} / event size (field: word 0)",
        )
    w1 = words[offs + 1][pk]
    crate = ((w1 >> 21) & 0xF).astype(np.int64)
    card = ((w1 >> 16) & 0x1F).astype(np.int64)
    channel = ((w1 >> 8) & 0xFF).astype(np.int64)
    out = []
    for ns in np.unique(nraw).tolist():
        sel = np.flatnonzero(nraw == ns)
        values = np.empty((len(sel), ns), np.uint16)
        gather_u16(words.view(np.uint16), 2 * raw_at[sel], ns, values)
        v = vals[sel]
        c = {
            "packet_id": col(pids[pk[sel]].astype(np.uint32), doc="Index of the packet"),
            "energy": col(v[:, 15].copy(), units="adc", doc="Maximum energy value (bit 3)"),
        }
        for j, name in enumerate(FIELDS):
            c[name] = col(v[:, j].copy(), units="adc", doc=f"{name}; 0 if not in the format")
        c["energy_first"] = col(v[:, 14].copy(), units="adc", doc="Start energy value (bit 3)")
        c.update(
            {
                "timestamp": col(ts[sel], units="clock_ticks", doc="125 MHz clock ticks"),
                "crate": col(crate[sel].astype(np.uint8), doc="VME crate"),
                "card": col(card[sel].astype(np.uint8), doc="VME slot"),
                "channel": col(channel[sel].astype(np.uint8), doc="Card channel"),
                "waveform": waveforms(values, DT_NS),
            }
        )
        keys = ccc(crate[sel], card[sel], channel[sel]).astype(np.int64)
        out.append(Batch(NAME, table(c, len(sel)), keys))
    return out
