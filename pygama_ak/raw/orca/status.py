"""ORCA FlashCam listener status packets (``ORFlashCamListenerStatusDecoder``).

daq2lh5 1.7.1 skips these packets; here they are decoded along the FCIO Status record
layout the ORCA packet copies: w1 readout id (31–16) | fcid (15–0); w2 status (1: no
errors); w3–4 FPGA time (s, µs); w5–6 CPU time (s, µs); w8–9 run start offset (s, µs);
w13 number of cards; w14 words per card; then per card the FCIO card-status words: id,
status, event number, PPS, ticks, max ticks, number of environment values, of CTI links,
of link states, (unused), errors total/environment/CTI/link, 5 other error counters, 16
environment values (5 temperatures in m°C, 6 voltages in mV, main current in mA, humidity
in ‰, 2 ADC temperatures in m°C, unused), 4 CTI link words and the link states.

Differences from daq2lh5's unused draft: times are float64 (its float32 loses the
microseconds of a unix time); ``card_n_link_states`` is card word 8 (the draft reads word 7,
the CTI link count, twice); per-card arrays are vectors of vectors per packet row.
"""

from __future__ import annotations

import numpy as np

from ..columns import col, table, vov
from ..errors import CorruptFileError
from ..stream import Batch

STATUS = "ORFlashCamListenerStatusDecoder"
MIN_WORDS = 15
CARD_SCALARS = (
    "card_id",
    "card_status",
    "card_eventnumber",
    "card_pps_count",
    "card_clock_tick_count",
    "card_max_clock_ticks",
    "card_n_env_vals",
    "card_n_cti_links",
    "card_n_link_states",
    None,
    "card_n_errors_tot",
    "card_n_env_errors",
    "card_n_cti_errors",
    "card_n_link_errors",
)
# (name, first card word, count, dtype, units)
CARD_ARRAYS = (
    ("card_n_other_errors", 14, 5, np.uint32, None),
    ("card_temps", 19, 5, np.int32, "mC"),
    ("card_voltages", 24, 6, np.int32, "mV"),
    ("card_main_current", 30, 1, np.int32, "mA"),
    ("card_humidity", 31, 1, np.int32, "o/oo"),
    ("card_adc_temps", 32, 2, np.int32, "mC"),
    ("card_cti_links", 35, 4, np.uint32, None),
)
LINK_STATES_AT = 39


def decode_status(
    path: str, words: np.ndarray, offs: np.ndarray, lens: np.ndarray, pids, base: int
) -> Batch:
    """Status packets → one ``ORFlashCamListenerStatus`` batch (key: fcid)."""
    n = len(offs)
    scal = {k: [] for k in ("readout_id", "fcid", "status", "n_cards", "card_data_size")}
    times = {k: [] for k in ("statustime", "cputime", "startoffset")}
    per_card = {k: [] for k in CARD_SCALARS if k}
    arrays = {a[0]: [] for a in CARD_ARRAYS}
    links = []
    for off, length in zip(offs.tolist(), lens.tolist()):
        pkt = words[off : off + length]
        where = base + 4 * off
        if length < MIN_WORDS:
            raise CorruptFileError(
                path, where, "ORFlashCamListenerStatus", f"{length} words, at least 15 needed"
            )
        ip = pkt.view(np.int32)
        n_cards, size = int(ip[13]), int(ip[14])
        if (
            n_cards < 0
            or size < 0
            or 15 + n_cards * size > length
            or (n_cards and size < LINK_STATES_AT)
        ):
            raise CorruptFileError(
                path,
                where,
                "ORFlashCamListenerStatus",
                f"{n_cards} cards of {size} words do not fit the packet's {length} words "
                "(fields: words 13, 14)",
            )
        scal["readout_id"].append(int(pkt[1] >> 16))
        scal["fcid"].append(int(pkt[1] & 0xFFFF))
        scal["status"].append(int(ip[2]))
        scal["n_cards"].append(n_cards)
        scal["card_data_size"].append(size)
        times["statustime"].append(float(ip[3]) + float(ip[4]) * 1e-6)
        times["cputime"].append(float(ip[5]) + float(ip[6]) * 1e-6)
        times["startoffset"].append(float(ip[8]) + float(ip[9]) * 1e-6)
        cards = pkt[15 : 15 + n_cards * size].reshape(n_cards, size)
        for j, name in enumerate(CARD_SCALARS):
            if name:
                per_card[name].append(cards[:, j].copy())
        for name, first, count, dtype, _ in CARD_ARRAYS:
            arrays[name].append(cards[:, first : first + count].astype(dtype).reshape(-1))
        n_links = np.minimum(cards[:, 8].astype(np.int64), size - LINK_STATES_AT)
        links.append(
            np.concatenate(
                [cards[i, LINK_STATES_AT : LINK_STATES_AT + n_links[i]] for i in range(n_cards)]
            )
            if n_cards
            else np.zeros(0, np.uint32)
        )

    def v(parts, dtype, units=None, doc=None):
        offsets = np.zeros(n + 1, np.int64)
        np.cumsum([len(p) for p in parts], out=offsets[1:])
        content = np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype)
        return vov(offsets, content, units=units, doc=doc)

    c = {
        "packet_id": col(np.asarray(pids, np.uint32), doc="Index of the packet"),
        "readout_id": col(np.array(scal["readout_id"], np.uint16), doc="ORCA readout id"),
        "fcid": col(np.array(scal["fcid"], np.uint16), doc="FlashCam listener id"),
        "status": col(np.array(scal["status"], np.int32), doc="1: no errors, 0: errors"),
        "statustime": col(np.array(times["statustime"]), units="s", doc="FPGA time"),
        "cputime": col(np.array(times["cputime"]), units="s", doc="CPU (unix) time"),
        "startoffset": col(np.array(times["startoffset"]), units="s", doc="Run start offset"),
        "n_cards": col(np.array(scal["n_cards"], np.int32), doc="Cards reporting"),
        "card_data_size": col(np.array(scal["card_data_size"], np.int32), doc="Words a card"),
    }
    for name, parts in per_card.items():
        c[name] = v(parts, np.uint32, doc="Per card")
    for name, _, count, dtype, units in CARD_ARRAYS:
        c[name] = v(arrays[name], dtype, units, doc=f"{count} value(s) per card, card-major")
    c["card_link_states"] = v(links, np.uint32, doc="Link states of every card, card-major")
    keys = np.array(scal["fcid"], dtype=np.int64)
    return Batch(STATUS, table(c, n), keys)
