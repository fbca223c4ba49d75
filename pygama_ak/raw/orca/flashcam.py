"""ORCA FlashCam packets: listener config (``ORFlashCamListenerConfigDecoder``) and ADC
waveforms (``ORFlashCamADCWaveformDecoder``/``ORFlashCamWaveformDecoder``, one trace a packet).

Listener config words: w1 readout id (bits 31–16) | fcid (15–0); w2…w12 streamid, nadcs,
ntriggers, nsamples, adcbits, sumlength, blprecision, mastercards, triggercards, adccards,
gps; then one word per ADC channel, board address (31–16) | input (15–0); then (if the
packet is long enough) the board revisions, 8 bits each, 4 to a word (low byte first), and
two words (high, low) of each board's 64-bit UID, for ``adccards`` boards.

Waveform words: w1 ORCA header length (31–28), FCIO header length (27–22), samples (21–6),
event type (4–0); w2 crate (31–27), slot (26–22), board address (21–14, stored ×16), input
(13–10; 13–9 for the generic decoder) and channel (9–0; 8–0); then, from the ORCA header
length on, 7 time-offset words, 5 dead-region words, event number, PPS, ticks, max ticks;
the word before the samples is baseline (15–0) | energy (31–16); the samples follow as
uint16 pairs, the even sample in the low half.

Differences from daq2lh5 (daq.md §8): ``waveform.dt`` is the listener's sampling period
(4 ns for 12-bit/250 MHz firmware, 16 ns otherwise) instead of always 16 ns (Q5); board
revisions are unpacked as 8-bit fields (B7: daq2lh5 shifts by 4 bits).
"""

from __future__ import annotations

import awkward as ak
import numpy as np

from ..columns import col, table, vov
from ..errors import CorruptFileError
from ..stream import Batch
from .header import OrcaHeader, fc_rawid
from .packets import gather_u16, gather_words

CONFIG = "ORFlashCamListenerConfigDecoder"
ADC_WAVEFORM = "ORFlashCamADCWaveformDecoder"
WAVEFORM = "ORFlashCamWaveformDecoder"
CONFIG_FIELDS = (
    "streamid",
    "nadcs",
    "ntriggers",
    "nsamples",
    "adcbits",
    "sumlength",
    "blprecision",
    "mastercards",
    "triggercards",
    "adccards",
    "gps",
)
CONFIG_MIN_WORDS = 13
WF_MIN_WORDS = 20
TIME_WORDS = (
    "mu_offset_sec",
    "mu_offset_usec",
    "to_master_sec",
    "delta_mu_usec",
    "abs_delta_mu_usec",
    "to_start_sec",
    "to_start_usec",
    "dr_start_pps",
    "dr_start_ticks",
    "dr_stop_pps",
    "dr_stop_ticks",
    "dr_maxticks",
    "eventnumber",
    "ts_pps",
    "ts_ticks",
    "ts_maxticks",
)


class FlashCamState:
    """What the config packets tell the waveform decoder, per fcid."""

    def __init__(self, header: OrcaHeader) -> None:
        self.listeners = {lst.fcid: lst for lst in header.fc_listeners()}
        self.fcid_of = np.full((32, 32), -1, dtype=np.int64)  # [crate, slot] → fcid
        self.address_of = np.full((32, 32), -1, dtype=np.int64)  # [crate, slot] → address
        for lst in self.listeners.values():
            for crate, slot, address in lst.cards:
                if crate < 32 and slot < 32:
                    self.fcid_of[crate, slot] = lst.fcid
                    self.address_of[crate, slot] = address
        self.gps: dict[int, int] = {}  # fcid → gps mode of its last config
        self.adcbits: dict[int, int] = {}
        self.channel_map: dict[int, np.ndarray] = {}  # fcid → (address << 16 | input) per channel


def decode_config(
    path: str,
    words: np.ndarray,
    offs: np.ndarray,
    lens: np.ndarray,
    pids: np.ndarray,
    base: int,
    state: FlashCamState,
) -> tuple[Batch, list[str]]:
    """Listener config packets → one ``ORFlashCamListenerConfig`` batch (key: fcid)."""
    rows: dict[str, list] = {k: [] for k in ("packet_id", "packet_len", "readout_id", "fcid")}
    rows.update({k: [] for k in CONFIG_FIELDS})
    chans, inputs, revs, uids = [], [], [], []
    warnings = []
    for off, n, pid in zip(offs.tolist(), lens.tolist(), pids.tolist()):
        pkt = words[off : off + n]
        where = base + 4 * off
        if n < CONFIG_MIN_WORDS:
            raise CorruptFileError(
                path, where, "ORFlashCamListenerConfig", f"{n} words, at least 13 needed"
            )
        values = pkt[2:13].view(np.int32)
        nadcs = int(values[1])
        if not 0 <= nadcs <= n - CONFIG_MIN_WORDS:
            raise CorruptFileError(
                path, where, "ORFlashCamListenerConfig", f"nadcs {nadcs} does not fit {n} words"
            )
        fcid = int(pkt[1] & 0xFFFF)
        rows["packet_id"].append(pid)
        rows["packet_len"].append(n)
        rows["readout_id"].append(int(pkt[1] >> 16))
        rows["fcid"].append(fcid)
        for name, v in zip(CONFIG_FIELDS, values.tolist()):
            rows[name].append(v)
        chmap = pkt[13 : 13 + nadcs]
        chans.append((chmap >> 16).astype(np.uint16))
        inputs.append((chmap & 0xFFFF).astype(np.uint16))
        rest = pkt[13 + nadcs :]
        n_boards = int(values[9])
        if len(rest) and n_boards > 0:
            n_rev_words = -(-n_boards // 4)
            avail = min(n_boards, 4 * len(rest), max((len(rest) - n_rev_words) // 2, 0))
            if avail < n_boards:
                warnings.append(
                    f"ORFlashCamListenerConfig at byte {where}: {n_boards} boards, "
                    f"revisions/UIDs of only {avail} fit in the packet"
                )
            rev_bytes = rest[:n_rev_words].astype("<u4").view(np.uint8)
            revs.append(rev_bytes[:avail].copy())
            uid_words = rest[n_rev_words : n_rev_words + 2 * avail].astype(np.uint64)
            uids.append((uid_words[0::2] << np.uint64(32)) | uid_words[1::2])
        else:
            revs.append(np.zeros(0, np.uint8))
            uids.append(np.zeros(0, np.uint64))
        state.gps[fcid] = int(values[10])
        state.adcbits[fcid] = int(values[4])
        state.channel_map[fcid] = chmap.copy()
    n = len(offs)
    c = {
        "packet_id": col(np.array(rows["packet_id"], np.uint32), doc="Index of the packet"),
        "packet_len": col(np.array(rows["packet_len"], np.uint32), doc="Packet length, words"),
        "readout_id": col(np.array(rows["readout_id"], np.uint16), doc="ORCA readout id"),
        "fcid": col(np.array(rows["fcid"], np.uint16), doc="FlashCam listener id"),
    }
    for name in CONFIG_FIELDS:
        c[name] = col(np.array(rows[name], np.int32), doc=f"FlashCam config: {name}")

    def v(parts, dtype, doc):
        offsets = np.zeros(n + 1, np.int64)
        np.cumsum([len(p) for p in parts], out=offsets[1:])
        content = np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype)
        return vov(offsets, content, doc=doc)

    c["ch_board_id"] = v(chans, np.uint16, "Board address of each ADC channel")
    c["ch_inputnum"] = v(inputs, np.uint16, "Board input of each ADC channel")
    c["board_rev"] = v(revs, np.uint8, "Revision of each ADC board")
    c["board_uid"] = v(uids, np.uint64, "Unique id of each ADC board")
    keys = np.array(rows["fcid"], dtype=np.int64)
    return Batch(CONFIG, table(c, n), keys), warnings


def decode_waveforms(
    path: str,
    decoder: str,
    words: np.ndarray,
    offs: np.ndarray,
    lens: np.ndarray,
    pids: np.ndarray,
    base: int,
    state: FlashCamState,
) -> tuple[list[Batch], dict[str, int], list[str]]:
    """Waveform packets → ``ORFlashCamADCWaveform`` batches (one per trace length), keyed
    by rawid; also ``(skipped counts, warnings)``."""
    skipped: dict[str, int] = {}
    warnings: list[str] = []
    name = decoder.removesuffix("Decoder")
    short = np.flatnonzero(lens < WF_MIN_WORDS)
    if len(short):
        i = int(short[0])
        raise CorruptFileError(
            path, base + 4 * int(offs[i]), name, f"{int(lens[i])} words, at least 20 needed"
        )
    w1 = words[offs + 1]
    w2 = words[offs + 2]
    ohl = (w1 >> 28).astype(np.int64)
    fhl = ((w1 >> 22) & 0x3F).astype(np.int64)
    nsamp = ((w1 >> 6) & 0xFFFF).astype(np.int64)
    wf_start = ohl + fhl
    bad = (ohl < 3) | (fhl < 17) | (wf_start + (nsamp + 1) // 2 > lens)
    if bad.any():
        i = int(np.argmax(bad))
        raise CorruptFileError(
            path,
            base + 4 * int(offs[i]),
            name,
            f"header lengths {int(ohl[i])}+{int(fhl[i])} words and {int(nsamp[i])} samples "
            f"do not fit the packet's {int(lens[i])} words (field: word 1)",
        )
    crate = (w2 >> 27).astype(np.int64)
    slot = ((w2 >> 22) & 0x1F).astype(np.int64)
    board = ((w2 & 0x003FC000) >> 10).astype(np.int64)
    if decoder == ADC_WAVEFORM:
        fc_input = ((w2 & 0x3C00) >> 10).astype(np.int64)
        channel = (w2 & 0x3FF).astype(np.int64)
    else:
        fc_input = ((w2 & 0x3E00) >> 9).astype(np.int64)
        channel = (w2 & 0x1FF).astype(np.int64)
    fcid = state.fcid_of[crate, slot]
    expected = state.address_of[crate, slot]
    old_shift = (board != expected) & (board == ((expected << 4) & 0xFFF))
    board = np.where(old_shift, expected, board)
    known = fcid >= 0
    if not known.all():
        skipped[f"{name}: packets of cards no listener reads out"] = int((~known).sum())
    keys = fcid * 1_000_000 + board * 100 + fc_input
    board_out = board.copy()
    for f in np.unique(fcid[known]).tolist():  # the listener config has the last word
        chmap = state.channel_map.get(f)
        if chmap is None or len(chmap) == 0:
            continue
        sel = (fcid == f) & (channel < len(chmap))
        entry = chmap[np.minimum(channel, max(len(chmap) - 1, 0))].astype(np.int64)
        cfg_board = entry >> 16
        cfg_key = fc_rawid(f, 0, 0) + cfg_board * 100 + (entry & 0xFFFF)
        mismatch = sel & (cfg_key != keys)
        if mismatch.any():
            warnings.append(
                f"{name}: {int(mismatch.sum())} packets of fcid {f} whose ORCA key differs "
                "from the listener config's channel map: board_id taken from the config"
            )
            board_out = np.where(mismatch, cfg_board, board_out)

    batches = []
    sel_all = np.flatnonzero(known)
    for ns in np.unique(nsamp[sel_all]).tolist():
        idx = sel_all[nsamp[sel_all] == ns]
        batches.append(
            _waveform_table(
                words,
                offs[idx],
                ohl[idx],
                wf_start[idx],
                int(ns),
                pids[idx],
                w1[idx],
                crate[idx],
                slot[idx],
                board_out[idx],
                fc_input[idx],
                channel[idx],
                fcid[idx],
                keys[idx],
                state,
                decoder,
            )
        )
    return batches, skipped, warnings


def _waveform_table(
    words,
    offs,
    ohl,
    wf_start,
    ns,
    pids,
    w1,
    crate,
    slot,
    board,
    fc_input,
    channel,
    fcid,
    keys,
    state: FlashCamState,
    decoder: str,
) -> Batch:
    n = len(offs)
    hdr = np.empty((n, len(TIME_WORDS)), dtype=np.uint32)
    gather_words(words, offs + ohl, 0, len(TIME_WORDS), hdr)
    v = {k: hdr[:, i].astype(np.int32) for i, k in enumerate(TIME_WORDS)}
    bl_word = words[offs + wf_start - 1]
    values = np.empty((n, ns), dtype=np.uint16)
    gather_u16(words.view(np.uint16), 2 * (offs + wf_start), ns, values)
    pps = hdr[:, 13].astype(np.float64)
    ticks = hdr[:, 14].astype(np.float64)
    runtime = pps + ticks / (v["ts_maxticks"].astype(np.int64) + 1)
    ids, inverse = np.unique(fcid, return_inverse=True)  # per-listener values, no row loop

    def per_listener(values: list) -> np.ndarray:
        return np.asarray(values)[inverse]

    gps = per_listener([state.gps.get(int(f), 0) for f in ids])
    offset = np.where(
        gps == 0,
        v["mu_offset_sec"].astype(np.float64) + v["mu_offset_usec"].astype(np.float64) * 1e-6,
        v["to_master_sec"].astype(np.float64),
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        dead = (v["dr_stop_pps"].astype(np.int64) - v["dr_start_pps"]).astype(np.float64) + (
            v["dr_stop_ticks"].astype(np.int64) - v["dr_start_ticks"]
        ).astype(np.float64) / v["dr_maxticks"].astype(np.float64)
    n_adc = per_listener([len(state.listeners[int(f)].keys) for f in ids]).astype(np.uint16)
    dts = per_listener([4.0 if state.adcbits.get(int(f)) == 12 else 16.0 for f in ids])
    c = {
        "packet_id": col(pids.astype(np.uint32), doc="Index of the packet in the file"),
        "fcid": col(fcid.astype(np.uint8), doc="FlashCam listener id"),
        "event_type": col((w1 & 0x1F).astype(np.uint8), doc="FlashCam event type"),
        "numtraces": col(np.ones(n, np.int32), doc="Traces in this packet (always 1)"),
        "timestamp": col(runtime + offset, units="s", doc="Unix time of the event"),
        "runtime": col(runtime, units="s", doc="Time since trigger enable: pps + ticks"),
        "deadtime": col(dead, units="s", doc="Length of the last dead region"),
        "lifetime": col(np.zeros(n), units="s", doc="Not in ORCA packets: 0"),
        "deadinterval_nsec": col(np.zeros(n, np.int64), units="ns", doc="Not in ORCA: 0"),
        "dr_ch_idx": col(np.zeros(n, np.uint16), doc="Not in ORCA packets: 0"),
        "dr_ch_len": col(n_adc, doc="Enabled ADC channels of the listener"),
    }
    for k in TIME_WORDS:
        c[k] = col(v[k], doc=f"FlashCam header word {k}")
    c.update(
        {
            "crate": col(crate.astype(np.uint8), doc="VME crate of the card"),
            "slot": col(slot.astype(np.uint8), doc="Slot of the card"),
            "board_id": col(board.astype(np.uint16), doc="Address of the FlashCam card"),
            "fc_input": col(fc_input.astype(np.uint8), doc="Input of the card"),
            "channel": col(channel.astype(np.uint16), doc="Channel index in the listener"),
            "baseline": col((bl_word & 0xFFFF).astype(np.uint16), doc="FPGA baseline"),
            "daqenergy": col((bl_word >> 16).astype(np.uint16), doc="FPGA energy"),
            "waveform": _waveforms(values, dts),
        }
    )
    return Batch(decoder, table(c, n), keys.astype(np.int64))


def _waveforms(values: np.ndarray, dt_ns: np.ndarray) -> ak.contents.Content:
    """A WaveformTable with a sampling period (ns) per row (listeners may differ)."""
    n = len(values)
    return ak.contents.RecordArray(
        [
            col(dt_ns.astype(np.float32), units="ns"),
            col(np.zeros(n, np.float32), units="ns"),
            col(values),
        ],
        ["dt", "t0", "values"],
        length=n,
    )
