"""Struck SIS3302 read out by ORCA (``ORSIS3302DecoderForEnergy``).

Words: w1 crate (24–21), card (20–16), channel (15–8), wrap-mode flag (bit 0); w2 raw
waveform length and w3 energy-waveform length (words, 2 samples each); w4 bits 31–16
timestamp[47:32]; w5 timestamp[31:0]; in wrap mode w6 number of wrap samples and w7 the
index of the oldest sample; then the raw samples, the energy samples and a 4-word footer:
energy maximum, first energy value, flags, ``0xDEADBEEF``.

Output (daq2lh5 field names, one table per enabled channel, key ccc): packet_id,
energy, energy_first (uint32), timestamp (uint64, clock ticks), crate, card, channel (uint8),
waveform (uint16, 10 ns). In wrap mode the samples are put in time order starting at the
w7 index, as ORCA's own decoder does (daq2lh5 starts one sample later).
"""

from __future__ import annotations

import numba
import numpy as np

from ..columns import col, table, waveforms
from ..errors import CorruptFileError
from ..stream import Batch
from .header import OrcaHeader

NAME = "ORSIS3302DecoderForEnergy"
MODEL = "ORSIS3302Model"
DT_NS = 10.0
FOOTER = 0xDEADBEEF


def ccc(crate, card, channel):
    """VME channel key: (crate << 9) + (card << 4) + channel."""
    return (crate << 9) + ((card & 0x1F) << 4) + (channel & 0xF)


def key_lists(header: OrcaHeader) -> list[list]:
    """One list per enabled channel (internal | external trigger mask)."""
    out = []
    for (crate, slot), card in sorted(header.cards(MODEL).items()):
        mask = int(card.get("internalTriggerEnabledMask", 0)) | int(
            card.get("externalTriggerEnabledMask", 0)
        )
        out += [[ccc(crate, slot, ch)] for ch in range(8) if mask >> ch & 1]
    return out


@numba.njit(cache=True, nogil=True)
def _gather_rotated(buf16, starts, rot, ns, out):
    for i in range(len(starts)):
        s = starts[i]
        r = rot[i]
        for j in range(ns):
            k = j + r
            if k >= ns:
                k -= ns
            out[i, j] = buf16[s + k]


def decode(path, header, words, offs, lens, pids, base) -> list[Batch]:
    """SIS3302 packets → batches (one per raw waveform length)."""
    w1 = words[offs + 1]
    wrap = (w1 & 1).astype(bool)
    wf32 = words[offs + 2].astype(np.int64)
    en32 = words[offs + 3].astype(np.int64)
    sis_hdr = np.where(wrap, 4, 2)
    ok = (lens == 4 + sis_hdr + wf32 + en32 + 4) & (words[offs + lens - 1] == FOOTER)
    if not ok.all():
        i = int(np.argmin(ok))
        raise CorruptFileError(
            path,
            base + 4 * int(offs[i]),
            NAME,
            f"lengths (raw {int(wf32[i])}, energy {int(en32[i])} words) do not fit the "
            f"{int(lens[i])}-word packet, or the last word is not 0xDEADBEEF "
            f"(fields: words 2, 3, footer)",
        )
    rot = np.where(wrap, words[offs + 7 * wrap].astype(np.int64), 0)
    ns_all = 2 * wf32
    bad = wrap & ((rot < 0) | (rot >= np.maximum(ns_all, 1)))
    if bad.any():
        i = int(np.argmax(bad))
        raise CorruptFileError(
            path,
            base + 4 * int(offs[i]),
            NAME,
            f"wrap start index {int(rot[i])} outside the {int(ns_all[i])} samples (field: w7)",
        )
    crate = ((w1 >> 21) & 0xF).astype(np.int64)
    card = ((w1 >> 16) & 0x1F).astype(np.int64)
    channel = ((w1 >> 8) & 0xFF).astype(np.int64)
    ts = (words[offs + 4].astype(np.uint64) >> np.uint64(16)) << np.uint64(32)
    ts |= words[offs + 5].astype(np.uint64)
    out = []
    buf16 = words.view(np.uint16)
    for ns in np.unique(ns_all).tolist():
        sel = np.flatnonzero(ns_all == ns)
        o = offs[sel]
        values = np.empty((len(sel), ns), np.uint16)
        _gather_rotated(buf16, 2 * (o + 4 + sis_hdr[sel]), rot[sel], ns, values)
        end = o + lens[sel]
        c = {
            "packet_id": col(pids[sel].astype(np.uint32), doc="Index of the packet"),
            "energy": col(words[end - 4], units="adc", doc="Energy filter maximum"),
            "energy_first": col(words[end - 3], doc="First energy filter value"),
            "timestamp": col(ts[sel], units="clock_ticks", doc="100 MHz clock ticks"),
            "crate": col(crate[sel].astype(np.uint8), doc="VME crate"),
            "card": col(card[sel].astype(np.uint8), doc="VME slot"),
            "channel": col(channel[sel].astype(np.uint8), doc="Card channel"),
            "waveform": waveforms(values, DT_NS),
        }
        keys = ccc(crate[sel], card[sel], channel[sel])
        out.append(Batch(NAME, table(c, len(sel)), keys.astype(np.int64)))
    return out
