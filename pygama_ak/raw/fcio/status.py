"""FCIO Status records → one row per card (FCStatus table).

A Status record holds the overall status, 10 status-time words, the number of cards, the
size of a card block and one frame per card (295 uint32 words: ids and counters, error
counters, 16 environment values, 4 CTI link words, 256 link states). Card blocks and status
words a record lacks keep their previous values, as in the FCIO reader.
"""

from __future__ import annotations

import numpy as np

from ..columns import col, table, vov
from .framing import read_i32
from .records import CARD_STATUS_WORDS, MAX_CARDS

# word offsets inside a card block
W_REQID, W_STATUS, W_EVENTNO, W_PPS, W_TICKS, W_MAXTICKS, W_NUMENV, W_NUMCTI, W_NUMLINKS = range(9)
W_TOTALERR, W_ENVERR, W_CTIERR, W_LINKERR, W_OTHERERR = 10, 11, 12, 13, 14
W_ENV, W_CTILINKS, W_LINKSTATES = 19, 35, 39


class StatusDecoder:
    """Keeps the status words between records and collects card rows."""

    def __init__(self) -> None:
        self.statustime = np.zeros(10, dtype=np.int32)
        self.status = 0
        self.cards = np.zeros((MAX_CARDS, CARD_STATUS_WORDS), dtype=np.uint32)
        # queued rows: (packet id, status, status time, card blocks, fcid)
        self.rows: list[tuple[int, int, np.ndarray, np.ndarray, int]] = []
        self.nrows = 0  # queued card rows

    def decode(
        self, buf: np.ndarray, off: int, nframes: int, ncards_config: int, packet_id: int, fcid: int
    ) -> None:
        """Decode the Status record at ``buf[off]`` and queue its card rows."""
        p = off + 4
        sizes = []
        for i in range(min(nframes, 4)):
            s = read_i32(buf, p)
            if i == 0 and s >= 4:
                self.status = int(read_i32(buf, p + 4))
            elif i == 1:
                k = min(s // 4, 10)
                self.statustime[:k] = np.frombuffer(buf[p + 4 : p + 4 + 4 * k].tobytes(), "<i4")
            sizes.append(read_i32(buf, p + 4) if s >= 4 else 0)
            p += 4 + s
        ncards = max(min(sizes[2] if len(sizes) > 2 else 0, MAX_CARDS), 0)
        raw = self.cards.view(np.uint8).reshape(MAX_CARDS, -1)
        for i in range(min(ncards, nframes - 4)):
            s = read_i32(buf, p)
            k = min(s, CARD_STATUS_WORDS * 4)
            raw[i, :k] = buf[p + 4 : p + 4 + k]
            p += 4 + s
        nrows = min(ncards, ncards_config)
        self.rows.append(
            (packet_id, self.status, self.statustime.copy(), self.cards[:nrows].copy(), fcid)
        )
        self.nrows += nrows

    def take(self):
        """The queued rows as an FCStatus table and their keys (None, None if there are none);
        clears the queue."""
        rows, self.rows, self.nrows = self.rows, [], 0
        if not rows:
            return None, None
        cards = np.concatenate([r[3] for r in rows])
        per = np.array([len(r[3]) for r in rows])
        pid = np.repeat(np.array([r[0] for r in rows], dtype=np.uint32), per)
        st = np.repeat(np.array([r[1] for r in rows]), per)
        times = np.repeat(np.stack([r[2] for r in rows]).astype(np.float64), per, axis=0)
        fcid = np.repeat(np.array([r[4] for r in rows]), per)
        return status_table(pid, st, times, cards), status_keys(fcid, cards[:, W_REQID])


def status_keys(fcid: np.ndarray, reqids: np.ndarray) -> np.ndarray:
    """``fcid_{fcid}/status/card{reqid}`` per row (object array)."""
    return np.array(
        [f"fcid_{int(f)}/status/card{int(r) & 0xFFFF}" for f, r in zip(fcid, reqids)], dtype=object
    )


def _ragged(cards: np.ndarray, first: int, count: np.ndarray, limit: int, dtype) -> tuple:
    count = np.clip(count.astype(np.int64), 0, limit)
    offsets = np.zeros(len(cards) + 1, dtype=np.int64)
    np.cumsum(count, out=offsets[1:])
    mask = np.arange(limit)[None, :] < count[:, None]
    content = cards[:, first : first + limit][mask].view(dtype)
    return offsets, content


def status_table(pid, status, times, cards):
    """The FCStatus table (one row per card) from stacked card blocks."""
    n = len(cards)
    env = cards[:, W_ENV : W_ENV + 16].view(np.int32)
    numenv = cards[:, W_NUMENV].astype(np.int64)
    adc_off, adc_temps = _ragged(env.view(np.uint32), 13, numenv - 13, 3, np.int32)
    cti_off, cti = _ragged(cards, W_CTILINKS, cards[:, W_NUMCTI], 4, np.uint32)
    link_off, links = _ragged(cards, W_LINKSTATES, cards[:, W_NUMLINKS], 256, np.uint32)
    fpga_ns = np.int64(1_000_000_000) * cards[:, W_PPS].astype(np.int64) + 4 * cards[
        :, W_TICKS
    ].astype(np.int64)
    c = {
        "packet_id": col(pid, doc="Index of the record in the file"),
        "status": col(status != 0, doc="True: no errors; False: errors on some card"),
        "fpga_time": col(
            times[:, 0] + 1e-6 * times[:, 1],
            units="s",
            doc="FPGA clock of the top master card at the status request",
        ),
        "server_time": col(
            times[:, 2] + 1e-6 * times[:, 3],
            units="s",
            doc="Server (unix) time at the status request",
        ),
        "fpga_start_time": col(
            times[:, 5] + 1e-6 * times[:, 6],
            units="s",
            doc="FPGA time of the trigger enable (run start)",
        ),
        "id": col(
            cards[:, W_REQID].copy(),
            doc="Card request id: 0 master, 0x1000+i trigger, "
            "0x2000+i ADC, 0x4000+i sub-master card",
        ),
        "eventnumber": col(cards[:, W_EVENTNO].copy(), doc="Event counter of the card"),
        "fpga_time_nsec": col(fpga_ns, units="ns", doc="FPGA clock of the card (PPS, ticks)"),
        "n_total_errors": col(cards[:, W_TOTALERR].copy(), doc="Sum of the card's errors"),
        "n_environment_errors": col(cards[:, W_ENVERR].copy(), doc="Environment sensor errors"),
        "n_cti_errors": col(cards[:, W_CTIERR].copy(), doc="CTI connection errors"),
        "n_link_errors": col(cards[:, W_LINKERR].copy(), doc="Trigger link errors"),
        "n_other_errors": col(cards[:, W_OTHERERR : W_OTHERERR + 5].copy(), doc="Other errors"),
        "mb_temps": col(env[:, :5].copy(), units="mC", doc="Motherboard temperatures"),
        "mb_voltages": col(env[:, 5:11].copy(), units="mV", doc="Motherboard supply voltages"),
        "mb_current": col(env[:, 11].copy(), units="mA", doc="Motherboard current"),
        "mb_humidity": col(env[:, 12].copy(), units="o/oo", doc="Motherboard humidity"),
        "adc_temps": vov(adc_off, adc_temps, units="mC", doc="ADC daughter-board temperatures"),
        "cti_links": vov(cti_off, cti, doc="CTI link words (expert)"),
        "link_states": vov(link_off, links, doc="Trigger link states (expert)"),
    }
    return table(c, n)
