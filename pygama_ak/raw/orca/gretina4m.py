"""GRETINA4M digitizers (MJD firmware) read out by ORCA (``ORGretina4MWaveformDecoder``;
not in daq2lh5).

Packet: w1 crate (24–21), card (20–16), FIFO state (31–30); then (length − 2) / 1024
records of 1024 words. Record, as uint16 from its start: [0–1] sync ``0xAAAAAAAA``;
[2] channel (3–0) | board id (15–4); [4], [5], [6] the 48-bit LED timestamp, low to high;
[7] and [8] bits 8–0 the 25-bit two's complement energy; samples from word 15 on: 2018
signed 16-bit samples, 10 ns apart.

Output, one table per enabled channel (key ccc): packet_id (uint32), energy (int32, signed:
pygama 2021 stored it unsigned), timestamp (uint64, all 48 bits: pygama truncated to 32),
crate, card, channel (uint8), board_id (uint16), waveform (int16, all 2018 samples, 10 ns).
Multisampling (presummed tails, ``FtCnt`` > 0) is not re-expanded.
"""

from __future__ import annotations

import numpy as np

from ..columns import col, table, waveforms
from ..errors import CorruptFileError
from ..stream import Batch
from .header import OrcaHeader
from .packets import gather_words
from .sis3302 import ccc

NAME = "ORGretina4MWaveformDecoder"
MODEL = "ORGretina4MModel"
RECORD_WORDS = 1024
SAMPLES_AT = 15  # words
N_SAMPLES = 2 * (RECORD_WORDS - SAMPLES_AT)
SYNC = 0xAAAAAAAA
DT_NS = 10.0


def key_lists(header: OrcaHeader) -> list[list]:
    """One list per enabled channel (``Enabled[8]``)."""
    out = []
    for (crate, slot), card in sorted(header.cards(MODEL).items()):
        out += [[ccc(crate, slot, ch)] for ch, on in enumerate(card.get("Enabled", [])) if on]
    return out


def decode(path, header, words, offs, lens, pids, base) -> list[Batch]:
    """GRETINA4M packets → one batch of records."""
    bad = (lens - 2) % RECORD_WORDS != 0
    if bad.any():
        i = int(np.argmax(bad))
        raise CorruptFileError(
            path,
            base + 4 * int(offs[i]),
            NAME,
            f"{int(lens[i])} words is not 2 + a multiple of {RECORD_WORDS} (field: length)",
        )
    n_rec = (lens - 2) // RECORD_WORDS
    pk = np.repeat(np.arange(len(offs)), n_rec)
    first = np.repeat(np.cumsum(n_rec) - n_rec, n_rec)
    starts = offs[pk] + 2 + (np.arange(len(pk)) - first) * RECORD_WORDS
    head = np.empty((len(starts), 5), np.uint32)
    gather_words(words, starts, 0, 5, head)
    nosync = head[:, 0] != SYNC
    if nosync.any():
        i = int(np.argmax(nosync))
        raise CorruptFileError(
            path,
            base + 4 * int(starts[i]),
            NAME,
            f"record {int(i - first[i])} of the packet at byte {base + 4 * int(offs[pk[i]])} "
            f"lacks the 0xAAAAAAAA sync word (found 0x{int(head[i, 0]):08x})",
        )
    h16 = head.view(np.uint16)  # (n, 10): u16 [0..9] of each record
    channel = (h16[:, 2] & 0xF).astype(np.int64)
    board = (h16[:, 2] >> 4).astype(np.uint16)
    ts = h16[:, 4].astype(np.uint64) | (h16[:, 5].astype(np.uint64) << np.uint64(16))
    ts |= h16[:, 6].astype(np.uint64) << np.uint64(32)
    raw_e = h16[:, 7].astype(np.int64) | ((h16[:, 8].astype(np.int64) & 0x1FF) << 16)
    energy = np.where(raw_e & 0x1000000, raw_e - (1 << 25), raw_e).astype(np.int32)
    w1 = words[offs + 1][pk]
    crate = ((w1 >> 21) & 0xF).astype(np.int64)
    card = ((w1 >> 16) & 0x1F).astype(np.int64)
    samples = np.empty((len(starts), RECORD_WORDS - SAMPLES_AT), np.uint32)
    gather_words(words, starts, SAMPLES_AT, RECORD_WORDS - SAMPLES_AT, samples)
    values = samples.view(np.int16).reshape(len(starts), N_SAMPLES)
    c = {
        "packet_id": col(pids[pk].astype(np.uint32), doc="Index of the packet"),
        "energy": col(energy, units="adc", doc="Signed 25-bit FPGA energy"),
        "timestamp": col(ts, units="clock_ticks", doc="48-bit LED timestamp, 100 MHz ticks"),
        "crate": col(crate.astype(np.uint8), doc="VME crate"),
        "card": col(card.astype(np.uint8), doc="VME slot"),
        "channel": col(channel.astype(np.uint8), doc="Card channel"),
        "board_id": col(board, doc="Board id from the record"),
        "waveform": waveforms(values, DT_NS),
    }
    keys = ccc(crate, card, channel).astype(np.int64)
    return [Batch(NAME, table(c, len(starts)), keys)]
