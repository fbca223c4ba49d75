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

Multisampling ("MS"): a channel whose card entry in the header has ``FtCnt[ch]`` = F > 0
stores its first 2018 − F samples at the full 10 ns rate and its last F samples as
presums: stored sample 2018 − F + k = floor(sum of the ps full-rate samples of block k /
div), ps = (2, 4, 8, 10)[``Mrpsrt[ch]``], div = (1, 2, 4, 8)[``Mrpsdv[ch]``] (a right
shift, so a floor: the block mean presum·div/ps is low by at most (div − 1)/ps adc).
Rows of such channels have, instead of the int16 waveform:

* ``waveform``: float32, adc, 10 ns apart, re-expanded to the full-rate time base, length
  2018 − F + ps·F (:func:`ms_length`): samples 0 … 2017 − F as stored (exact), then F
  blocks of ps samples. Block k's mean presum·div/ps is placed at the block's centre,
  sample 2018 − F + k·ps + (ps − 1)/2; expanded samples are linearly interpolated between
  the last full-rate sample and the centres, and extrapolated along the last two centres
  after the last one. A constant or linear stretch is thus reproduced exactly for div = 1
  and otherwise to within 1.5·(div − 1)/ps adc (2·(div − 1)/ps if F = 1), the floor above.
* ``waveform_raw``: int16, the 2018 samples as stored (presummed tail included), 10 ns.

Each decode call returns one batch per multisampling setting (F, ps, div) present, so a
batch has one waveform length and dtype; channels with ``FtCnt`` 0 (or without a card
entry) give the unchanged int16 table above.

The switch point is taken at sample 2018 − F, as the setting says. pygama 2021
(``ORCAGretina4M`` in ``pygama/io/orca_digitizers.py``) instead searched the 17 samples
from 2016 − F for the smallest jump |s[i]·div/ps − s[i−1]| (ambiguous on a flat baseline
when div = ps), dropped the first 16 samples as junk and the last presums as bad, ran its
interpolation ramp backwards within each block, and wrote 2018 − F − 16 + (ps − 1)(F − 3)
samples; none of that is reproduced here.
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
PRESUM_RATES = (2, 4, 8, 10)  # full-rate samples per presum, by Mrpsrt
PRESUM_DIVIDERS = (1, 2, 4, 8)  # presum divider, by Mrpsdv


def key_lists(header: OrcaHeader) -> list[list]:
    """One list per enabled channel (``Enabled[8]``)."""
    out = []
    for (crate, slot), card in sorted(header.cards(MODEL).items()):
        out += [[ccc(crate, slot, ch)] for ch, on in enumerate(card.get("Enabled", [])) if on]
    return out


def ms_length(ftcnt: int, ps: int) -> int:
    """Samples of a re-expanded waveform: 2018 − FtCnt full-rate + FtCnt·ps expanded."""
    return N_SAMPLES - ftcnt + ftcnt * ps


def _setting(path, card: dict, crate: int, slot: int, field: str, ch: int, hi: int) -> int:
    """``card[field][ch]``, an index in 0…``hi``, or a CorruptFileError naming the field."""
    values = card.get(field)
    try:
        shown, v = repr(values[ch]), int(values[ch])
    except (IndexError, KeyError, TypeError, ValueError):
        shown, v = ("missing" if values is None else repr(values)), -1
    if not 0 <= v <= hi:
        raise CorruptFileError(
            path,
            0,
            f"{MODEL} header",
            f"crate {crate} card {slot}: FtCnt[{ch}] > 0 but {field}[{ch}] = {shown} is not "
            f"in 0…{hi} (field: {field})",
        )
    return v


def ms_settings(path, header: OrcaHeader, keys=None) -> dict[int, tuple[int, int, int]]:
    """``ccc → (FtCnt, ps, div)`` of the multisampled channels (``FtCnt`` > 0) among
    ``keys`` (all channels if None); a setting out of range is a
    :class:`~pygama_ak.raw.errors.CorruptFileError` naming the card, channel and field."""
    wanted = None if keys is None else {int(k) for k in keys}
    out = {}
    for (crate, slot), card in header.cards(MODEL).items():
        for ch, ft in enumerate(card.get("FtCnt", []) or []):
            key = int(ccc(crate, slot, ch))
            if wanted is not None and key not in wanted:
                continue
            try:
                ft = int(ft)
            except (TypeError, ValueError):
                ft = -1
            if ft == 0:
                continue
            if not 0 < ft < N_SAMPLES:
                raise CorruptFileError(
                    path,
                    0,
                    f"{MODEL} header",
                    f"crate {crate} card {slot}: FtCnt[{ch}] = {card['FtCnt'][ch]!r} is not in "
                    f"0…{N_SAMPLES - 1} presummed samples of a {N_SAMPLES}-sample record "
                    "(field: FtCnt)",
                )
            rate = _setting(path, card, crate, slot, "Mrpsrt", ch, len(PRESUM_RATES) - 1)
            div = _setting(path, card, crate, slot, "Mrpsdv", ch, len(PRESUM_DIVIDERS) - 1)
            out[key] = (ft, PRESUM_RATES[rate], PRESUM_DIVIDERS[div])
    return out


def expand(values: np.ndarray, ftcnt: int, ps: int, div: int) -> np.ndarray:
    """Re-expand stored records ``values`` (n, 2018) whose last ``ftcnt`` samples are presums
    of ``ps`` samples divided by ``div`` → float32 (n, :func:`ms_length`) at the full rate."""
    n0 = N_SAMPLES - ftcnt
    # knots: the last full-rate sample, then every block's mean at the block's centre
    kx = np.concatenate(([n0 - 1.0], n0 + np.arange(ftcnt) * ps + (ps - 1) / 2))
    ky = np.empty((len(values), ftcnt + 1), np.float64)
    ky[:, 0] = values[:, n0 - 1]
    ky[:, 1:] = values[:, n0:] * (div / ps)
    t = n0 + np.arange(ftcnt * ps, dtype=np.float64)
    j = np.clip(np.searchsorted(kx, t, side="right"), 1, ftcnt)  # knots j−1, j around t
    w = (t - kx[j - 1]) / (kx[j] - kx[j - 1])  # > 1 past the last centre: extrapolation
    out = np.empty((len(values), ms_length(ftcnt, ps)), np.float32)
    out[:, :n0] = values[:, :n0]
    out[:, n0:] = ky[:, j - 1] * (1.0 - w) + ky[:, j] * w
    return out


def decode(path, header, words, offs, lens, pids, base) -> list[Batch]:
    """GRETINA4M packets → one batch per multisampling setting present (usually one)."""
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
    fields = {  # name: (values, units, description)
        "packet_id": (pids[pk].astype(np.uint32), None, "Index of the packet"),
        "energy": (energy, "adc", "Signed 25-bit FPGA energy"),
        "timestamp": (ts, "clock_ticks", "48-bit LED timestamp, 100 MHz ticks"),
        "crate": (crate.astype(np.uint8), None, "VME crate"),
        "card": (card.astype(np.uint8), None, "VME slot"),
        "channel": (channel.astype(np.uint8), None, "Card channel"),
        "board_id": (board, None, "Board id from the record"),
    }
    keys = ccc(crate, card, channel).astype(np.int64)
    present = np.unique(keys)
    ms = ms_settings(path, header, present)
    setting = np.array([ms.get(int(k), (0, 0, 0)) for k in present], np.int64).reshape(-1, 3)
    row_setting = setting[np.searchsorted(present, keys)]
    out = []
    groups, inverse = np.unique(row_setting, axis=0, return_inverse=True)
    if len(groups) == 0:  # no records: one empty batch, as without multisampling
        groups = np.zeros((1, 3), np.int64)
    for g, (ft, ps, div) in enumerate(groups.tolist()):
        rows = np.flatnonzero(inverse.reshape(-1) == g) if len(groups) > 1 else slice(None)
        c = {k: col(v[rows], units=u, doc=d) for k, (v, u, d) in fields.items()}
        if ft == 0:
            c["waveform"] = waveforms(values[rows], DT_NS)
        else:
            c["waveform"] = waveforms(expand(values[rows], ft, ps, div), DT_NS)
            c["waveform_raw"] = waveforms(values[rows], DT_NS)
        out.append(Batch(NAME, table(c, len(keys[rows])), keys[rows]))
    return out
