"""Synthetic ORCA files: XML plist header + packets, for hardware without a real test file.

:class:`OrcaWriter` assembles a file: it registers decoders (``dataDescription``), cards
(``ObjectInfo.Crates``), FlashCam listeners (``ReadoutDescription``, ``AuxHw``) and takes
packets as uint32 word arrays. The ``*_packet`` functions encode one packet each; the
``simulate_*`` functions write a whole file of HPGe pulses (:mod:`.pulses`) and return what
they encoded, field by field, so tests can compare every decoded value with the truth.

Layouts are those of ``pygama_ak/raw/orca/*`` module docs (daq.md §2.2.2): FlashCam listener
config / ADC waveform / status, run control, Struck SIS3302 (incl. wrap mode) and SIS3316,
GRETINA4M (MJD firmware, 1024-word records, 48-bit timestamps, signed 25-bit energies).
"""

from __future__ import annotations

import os
import plistlib
from pathlib import Path

import numpy as np

from .pulses import hpge_pulses, th228_energies

SIS_ENERGY_PER_KEV = 20.0


def ccc(crate: int, card: int, channel: int) -> int:
    """VME channel key: (crate << 9) + (card << 4) + channel."""
    return (crate << 9) + ((card & 0x1F) << 4) + (channel & 0xF)


def long_header(data_id: int, n_words: int, extended: bool = False) -> list[int]:
    """First word(s) of a long packet (``extended``: length 0 in word 0, words in word 1)."""
    if extended or n_words > 0x3FFFF:
        return [data_id << 18, n_words]
    return [(data_id << 18) | n_words]


def _packet(data_id: int, body: list[int] | np.ndarray, extended: bool = False) -> np.ndarray:
    body = np.asarray(body, dtype=np.int64).astype(np.uint32)
    n = len(body) + (2 if extended else 1)
    return np.concatenate([np.array(long_header(data_id, n, extended), np.uint32), body])


class OrcaWriter:
    """Collect header entries and packets; :meth:`write` the ORCA file."""

    def __init__(self, run_number: int = 1) -> None:
        self.data_description: dict = {}
        self.crates: dict[int, list[dict]] = {}
        self.readout: list[dict] = []
        self.aux_hw: list[dict] = []
        self.packets: list[np.ndarray] = []
        self.run_number = run_number
        self._next_id = 1

    def add_decoder(self, model: str, record: str, decoder: str, short: bool = False) -> int:
        """Register a decoder; returns its data id (shifted, as packets carry it). ``short``:
        one-word packets (bit 31 set, 6-bit id in bits 31–26; see :func:`short_packet`)."""
        data_id = self._next_id | (0x20 if short else 0)
        self._next_id += 1
        self.data_description.setdefault(model, {})[record] = {
            "dataId": data_id << (26 if short else 18),
            "decoder": decoder,
            "length": -1,
            "variable": True,
        }
        return data_id

    def add_card(self, crate: int, card: dict) -> None:
        self.crates.setdefault(crate, []).append(card)

    def header_dict(self) -> dict:
        return {
            "Document Info": {"dataVersion": 3, "documentName": "pygama_ak synthetic"},
            "ObjectInfo": {
                "Crates": [
                    {"CrateNumber": c, "Cards": cards} for c, cards in sorted(self.crates.items())
                ],
                "AuxHw": self.aux_hw,
                "DataChain": [{"Run Control": {"RunNumber": self.run_number}}],
            },
            "ReadoutDescription": self.readout,
            "dataDescription": self.data_description,
        }

    def header_packet(self) -> bytes:
        xml = plistlib.dumps(self.header_dict(), fmt=plistlib.FMT_XML)
        padded = xml + b"\0" * (4 - len(xml) % 4)  # at least one NUL, as ORCA writes
        n_words = 2 + len(padded) // 4
        return np.array([n_words, len(xml)], "<u4").tobytes() + padded

    def write(self, path: str | os.PathLike) -> Path:
        path = Path(path)
        with open(path, "wb") as f:
            f.write(self.header_packet())
            for p in self.packets:
                f.write(p.astype("<u4").tobytes())
        return path


# ----------------------------------------------------------------------------- packets
def short_packet(data_id: int, payload: int) -> np.ndarray:
    """A one-word packet: id from :meth:`OrcaWriter.add_decoder` (``short=True``), 26 bits."""
    return np.array([(data_id << 26) | (payload & 0x3FFFFFF)], np.uint32)


def run_packet(data_id: int, run_number: int, time_s: int, flags: int = 0, subrun: int = 0):
    """Run control: flags bits 0–5, subrun number in bits 31–16 of word 1."""
    return _packet(data_id, [(subrun << 16) | flags, run_number, time_s])


def flashcam_config_packet(
    data_id: int,
    fcid: int,
    values: dict,
    channels: list[tuple[int, int]],
    board_revs: list[int] | None = None,
    board_uids: list[int] | None = None,
    readout_id: int = 0,
    pad_to: int = 0,
) -> np.ndarray:
    """Listener config: ``values`` by field name, ``channels`` as (board, input) pairs."""
    from ..raw.orca.flashcam import CONFIG_FIELDS

    body = [(readout_id << 16) | fcid]
    body += [int(values.get(k, 0)) & 0xFFFFFFFF for k in CONFIG_FIELDS]
    body += [(b << 16) | i for b, i in channels]
    if board_revs is not None:
        revs = list(board_revs) + [0] * (-len(board_revs) % 4)
        body += [
            revs[i] | revs[i + 1] << 8 | revs[i + 2] << 16 | revs[i + 3] << 24
            for i in range(0, len(revs), 4)
        ]
        for uid in board_uids or [0] * len(board_revs):
            body += [uid >> 32, uid & 0xFFFFFFFF]
    body += [0] * max(pad_to - 1 - len(body), 0)
    return _packet(data_id, body)


def flashcam_waveform_packet(
    data_id: int,
    *,
    crate: int,
    slot: int,
    board_id: int,
    fc_input: int,
    channel: int,
    event_type: int,
    words: dict,
    baseline: int,
    daqenergy: int,
    samples: np.ndarray,
    old_board_shift: bool = False,
) -> np.ndarray:
    """One FlashCam ADC trace (``words``: the 16 header words by field name). Bits 21–14 of
    word 2 hold the card address / 16, or (``old_board_shift``, older ORCA versions) its
    low 8 bits."""
    from ..raw.orca.flashcam import TIME_WORDS

    ns = len(samples)
    w1 = (3 << 28) | (17 << 22) | (ns << 6) | event_type
    board_field = board_id & 0xFF if old_board_shift else board_id >> 4
    w2 = crate << 27 | slot << 22 | board_field << 14 | fc_input << 10 | channel
    body = [w1, w2] + [int(words[k]) & 0xFFFFFFFF for k in TIME_WORDS]
    body.append((daqenergy << 16) | baseline)
    wf = np.zeros(ns + ns % 2, np.uint16)
    wf[:ns] = samples
    return _packet(data_id, np.concatenate([np.array(body, np.uint32), wf.view("<u4")]))


def flashcam_status_packet(data_id: int, fcid: int, head: dict, cards: np.ndarray) -> np.ndarray:
    """Listener status: ``head`` (status, times), ``cards`` (n_cards × words per card)."""
    body = [fcid, head["status"], head["fpga_s"], head["fpga_us"], head["cpu_s"], head["cpu_us"]]
    body += [0, head["start_s"], head["start_us"], 0, 0, 0, len(cards), cards.shape[1]]
    return _packet(data_id, np.concatenate([np.array(body, np.int64), cards.reshape(-1)]))


def sis3302_packet(
    data_id: int,
    crate: int,
    card: int,
    channel: int,
    timestamp: int,
    raw: np.ndarray,
    energy_wf: np.ndarray,
    energy: int,
    energy_first: int,
    flags: int = 0,
    wrap_start: int | None = None,
) -> np.ndarray:
    """SIS3302: ``raw`` are the samples in time order; with ``wrap_start`` the buffer is
    stored rotated (the oldest sample at index ``wrap_start``), as the card's wrap mode."""
    wrap = wrap_start is not None
    stored = np.roll(raw, wrap_start) if wrap else raw
    w1 = crate << 21 | card << 16 | channel << 8 | int(wrap)
    body = [w1, len(raw) // 2, len(energy_wf) // 2, (timestamp >> 32) << 16, timestamp & 0xFFFFFFFF]
    if wrap:
        body += [len(raw), wrap_start]
    data = np.concatenate([stored.astype(np.uint16), energy_wf.astype(np.uint16)]).view("<u4")
    footer = [energy, energy_first, flags, 0xDEADBEEF]
    return _packet(data_id, np.concatenate([body, data.astype(np.int64), footer]))


SIS3316_BLOCKS = (  # (format bit, fields)
    (0, ("peak", "acc1", "accSum2", "accSum3", "accSum4", "accSum5", "accSum6")),
    (1, ("accSum7", "accSum8")),
    (2, ("mawMax", "mawBefore", "mawAfter")),
    (3, ("startEnergy", "maxEnergy")),
)


def sis3316_event(fmt: int, chan_id: int, ev: dict, raw: np.ndarray, maw: np.ndarray) -> list:
    """Words of one SIS3316 event (``ev``: field values; ``raw``: even number of samples)."""
    ts = ev["timestamp"]
    words = [(ts >> 32) << 16 | chan_id << 4 | fmt, ts & 0xFFFFFFFF]
    for bit, names in SIS3316_BLOCKS:
        if fmt >> bit & 1:
            for name in names:
                if name == "peak":
                    words.append(ev["peakHighIndex"] << 16 | ev["peakHighValue"])
                elif name == "acc1":
                    words.append(ev["information"] << 24 | ev["accSum1"])
                else:
                    words.append(ev[name])
    words.append(len(raw) // 2 | ev.get("status_flag", 0) << 26 | int(len(maw) > 0) << 27)
    words += raw.astype(np.uint16).view("<u4").tolist() + list(maw)
    return words


def sis3316_packet(
    data_id: int, crate: int, card: int, channel: int, events: list[list], header_words: int
):
    """SIS3316 packet of equally sized events (lists of words from :func:`sis3316_event`);
    ``header_words``: words of each event before its raw samples."""
    n_words = len(events[0])
    body = [crate << 21 | card << 16 | channel << 8, len(events), n_words, len(events)]
    body += [header_words, 0, 0, 0, 0]
    flat = [w for ev in events for w in ev]
    return _packet(data_id, body + flat)


def gretina4m_record(channel: int, board_id: int, timestamp: int, energy: int, wf: np.ndarray):
    """One 1024-word GRETINA4M record: sync word, channel/board, 48-bit LED timestamp,
    25-bit two's complement energy, 2018 int16 samples from word 15 on."""
    rec = np.zeros(2048, np.uint16)
    rec[0:2] = 0xAAAA
    rec[2] = (board_id << 4) | channel
    rec[3] = 2046  # record length in u16 after the sync word (informational)
    rec[4], rec[5], rec[6] = timestamp & 0xFFFF, (timestamp >> 16) & 0xFFFF, timestamp >> 32
    e = energy & 0x1FFFFFF
    rec[7], rec[8] = e & 0xFFFF, e >> 16
    rec[30:] = wf.astype(np.int16).view(np.uint16)
    return rec.view("<u4")


GRETINA4M_PRESUM = (2, 4, 8, 10)  # full-rate samples per presum, by Mrpsrt
GRETINA4M_SAMPLES = 2018


def gretina4m_multisample(full: np.ndarray, ftcnt: int, mrpsrt: int, mrpsdv: int) -> np.ndarray:
    """The 2018 samples the MJD firmware stores for the full-rate waveform ``full`` (length
    2018 − ``ftcnt`` + ``ftcnt``·ps) in multisampling mode: the first 2018 − ``ftcnt`` as
    they are, then ``ftcnt`` sums of ps = (2, 4, 8, 10)[``mrpsrt``] consecutive samples,
    each shifted right by ``mrpsdv`` (a floor division by 1, 2, 4 or 8) and kept to its low
    16 bits (int16, two's complement)."""
    ps = GRETINA4M_PRESUM[mrpsrt]
    n0 = GRETINA4M_SAMPLES - ftcnt
    full = np.asarray(full, np.int64)
    if len(full) != n0 + ftcnt * ps:
        raise ValueError(f"{len(full)} samples, expected {n0 + ftcnt * ps}")
    sums = full[n0:].reshape(ftcnt, ps).sum(axis=1) >> mrpsdv
    out = np.concatenate([full[:n0], sums])
    return (out & 0xFFFF).astype(np.uint16).view(np.int16)


def gretina4m_packet(data_id: int, crate: int, card: int, records: list[np.ndarray]):
    body = [crate << 21 | card << 16]
    return _packet(data_id, np.concatenate([np.array(body, np.uint32), *records]).astype(np.int64))


# ----------------------------------------------------------------------------- files
def _times(n: int, rng: np.random.Generator, rate_hz: float, tick_hz: float, start: int) -> list:
    return (start + np.cumsum(rng.exponential(tick_hz / rate_hz, n)).astype(np.int64)).tolist()


def simulate_flashcam_orca(
    path: str | os.PathLike,
    n_events: int,
    *,
    n_channels: int = 3,
    n_samples: int = 1000,
    adcbits: int = 16,
    fcid: int = 1,
    card_address: int = 288,
    seed: int = 1,
    n_status: int = 2,
    n_boards: int = 1,
) -> dict:
    """ORCA FlashCam file: run start, listener config, ``n_events`` traces, status packets,
    run stop. Returns the encoded values (``"waveforms"``, ``"config"``, ``"status"``)."""
    from ..raw.orca.flashcam import TIME_WORDS

    rng = np.random.default_rng(seed)
    w = OrcaWriter(run_number=42)
    run_id = w.add_decoder("ORRunModel", "Run", "ORRunDecoderForRun")
    cfg_id = w.add_decoder(
        "ORFlashCamListenerModel", "FlashCamConfig", "ORFlashCamListenerConfigDecoder"
    )
    wf_id = w.add_decoder("ORFlashCamADCModel", "FlashCamADC", "ORFlashCamADCWaveformDecoder")
    st_id = w.add_decoder(
        "ORFlashCamListenerModel", "FlashCamStatus", "ORFlashCamListenerStatusDecoder"
    )
    w.add_card(
        0,
        {
            "Class Name": "ORFlashCamADCModel",
            "Card": 2,
            "CardAddress": card_address,
            "Enabled": [i < n_channels for i in range(6)],
        },
    )
    w.readout.append(
        {
            "name": "ORFlashCamListenerModel",
            "uniqueID": fcid,
            "children": [{"crate": 0, "station": 2, "name": "ORFlashCamADCModel"}],
        }
    )
    w.aux_hw.append(
        {"Class Name": "ORFlashCamListenerModel", "uniqueID": fcid, "eventSamples": n_samples}
    )
    t0 = 1_700_000_000
    w.packets.append(run_packet(run_id, 42, t0, flags=0b100001))
    config = {
        "streamid": fcid,
        "nadcs": n_channels,
        "ntriggers": 0,
        "nsamples": n_samples,
        "adcbits": adcbits,
        "sumlength": 1,
        "blprecision": 1,
        "mastercards": 0,
        "triggercards": 0,
        "adccards": n_boards,
        "gps": 0,
    }
    revs = rng.integers(0, 256, n_boards).tolist()
    uids = rng.integers(0, 2**63, n_boards, dtype=np.int64).tolist()
    chans = [(card_address, i) for i in range(n_channels)]
    w.packets.append(flashcam_config_packet(cfg_id, fcid, config, chans, revs, uids, readout_id=7))
    chan = rng.integers(0, n_channels, n_events)
    wfs, bls = hpge_pulses(th228_energies(n_events, rng), n_samples, rng)
    ticks = rng.integers(0, 250_000_000, n_events)
    truth: dict = {k: [] for k in ("channel", "baseline", "daqenergy", "event_type", *TIME_WORDS)}
    for i in range(n_events):
        words = {k: int(rng.integers(-(2**31), 2**31)) for k in TIME_WORDS}
        words.update(
            {
                "ts_pps": i,
                "ts_ticks": int(ticks[i]),
                "ts_maxticks": 249_999_999,
                "dr_maxticks": 249_999_999,
            }
        )
        energy = int(wfs[i].max()) - int(bls[i])
        etype = int(rng.choice([1, 11]))
        w.packets.append(
            flashcam_waveform_packet(
                wf_id,
                crate=0,
                slot=2,
                board_id=card_address,
                fc_input=int(chan[i]),
                channel=int(chan[i]),
                event_type=etype,
                words=words,
                baseline=int(bls[i]),
                daqenergy=energy,
                samples=wfs[i],
            )
        )
        for k in TIME_WORDS:
            truth[k].append(words[k])
        truth["channel"].append(int(chan[i]))
        truth["baseline"].append(int(bls[i]))
        truth["daqenergy"].append(energy)
        truth["event_type"].append(etype)
    truth["values"] = wfs
    status = []
    for s in range(n_status):
        cards = rng.integers(0, 2**31, (n_boards + 1, 39 + 8)).astype(np.int64)
        cards[:, 8] = rng.integers(0, 9, n_boards + 1)  # link states present
        head = {
            "status": 1,
            "fpga_s": s,
            "fpga_us": 500_000,
            "cpu_s": t0 + s,
            "cpu_us": 250_000,
            "start_s": 3,
            "start_us": 1,
        }
        w.packets.append(flashcam_status_packet(st_id, fcid, head, cards))
        status.append((head, cards))
    w.packets.append(run_packet(run_id, 42, t0 + 60, flags=0))
    w.write(path)
    return {
        "waveforms": truth,
        "config": config,
        "board_rev": revs,
        "board_uid": uids,
        "channels": chans,
        "status": status,
        "fcid": fcid,
        "card_address": card_address,
    }


def simulate_sis3302_orca(
    path: str | os.PathLike,
    n_events: int,
    *,
    n_samples: int = 800,
    energy_samples: int = 100,
    wrap: bool = True,
    seed: int = 2,
    crate: int = 1,
    card: int = 5,
) -> dict:
    """ORCA file of SIS3302 packets on channels 0–3 (wrap mode on odd events if ``wrap``)."""
    rng = np.random.default_rng(seed)
    w = OrcaWriter()
    did = w.add_decoder("ORSIS3302Model", "Energy", "ORSIS3302DecoderForEnergy")
    w.add_card(
        crate,
        {
            "Class Name": "ORSIS3302Model",
            "Card": card,
            "internalTriggerEnabledMask": 0b0101,
            "externalTriggerEnabledMask": 0b1010,
            "sampleLengths": [n_samples] * 4,
        },
    )
    energies = th228_energies(n_events, rng)
    wfs, _ = hpge_pulses(energies, n_samples, rng)
    ts = _times(n_events, rng, 50.0, 1e8, 2**40)
    truth: dict = {k: [] for k in ("channel", "timestamp", "energy", "energy_first", "key")}
    for i in range(n_events):
        ch = int(rng.integers(0, 4))
        e = int(energies[i] * SIS_ENERGY_PER_KEV)
        ew = rng.integers(0, 2**16, energy_samples).astype(np.uint16)
        start = int(rng.integers(1, n_samples)) if wrap and i % 2 else None
        w.packets.append(
            sis3302_packet(
                did,
                crate,
                card,
                ch,
                ts[i],
                wfs[i],
                ew,
                e,
                int(rng.integers(0, 2**20)),
                wrap_start=start,
            )
        )
        truth["channel"].append(ch)
        truth["timestamp"].append(ts[i])
        truth["energy"].append(e)
        truth["energy_first"].append(int(w.packets[-1][-3]))
        truth["key"].append(ccc(crate, card, ch))
    truth["values"] = wfs
    w.write(path)
    return truth


def simulate_sis3316_orca(
    path: str | os.PathLike,
    n_packets: int,
    *,
    events_per_packet: int = 4,
    n_samples: int = 400,
    seed: int = 3,
    crate: int = 0,
    card: int = 3,
) -> dict:
    """ORCA file of SIS3316 packets (several events each), cycling through all 16
    format-bit combinations; channels 0, 1, 7."""
    rng = np.random.default_rng(seed)
    w = OrcaWriter()
    did = w.add_decoder("ORSIS3316Model", "Waveform", "ORSIS3316WaveformDecoder")
    w.add_card(
        crate,
        {
            "Class Name": "ORSIS3316Model",
            "Card": card,
            "enabledMask": 0b10000011,
            "rawDataBufferLen": n_samples,
        },
    )
    truth: dict = {"rows": []}
    values = []
    for p in range(n_packets):
        fmt = p % 16
        ch = (0, 1, 7)[p % 3]
        maw = rng.integers(0, 2**28, 6).tolist() if p % 2 else []
        events = []
        energies = th228_energies(events_per_packet, rng)
        wfs, _ = hpge_pulses(energies, n_samples, rng)
        for j in range(events_per_packet):
            ev = {k: int(rng.integers(0, 2**28)) for _, names in SIS3316_BLOCKS for k in names}
            ev.update(
                {
                    "peakHighValue": int(rng.integers(0, 2**16)),
                    "peakHighIndex": int(rng.integers(0, 2**16)),
                    "accSum1": int(rng.integers(0, 2**24)),
                    "information": int(rng.integers(0, 256)),
                    "timestamp": int(rng.integers(0, 2**48)),
                    "maxEnergy": int(energies[j] * SIS_ENERGY_PER_KEV),
                }
            )
            events.append(sis3316_event(fmt, card << 4 | ch, ev, wfs[j], maw))
            row = {"format": fmt, "channel": ch, "key": ccc(crate, card, ch), **ev}
            truth["rows"].append(row)
            values.append(wfs[j])
        n_hdr = len(events[0]) - n_samples // 2 - len(maw)
        w.packets.append(sis3316_packet(did, crate, card, ch, events, n_hdr))
    truth["values"] = np.array(values)
    w.write(path)
    return truth


def simulate_gretina4m_orca(
    path: str | os.PathLike,
    n_packets: int,
    *,
    records_per_packet: int = 3,
    seed: int = 4,
    crate: int = 2,
    card: int = 9,
    board_id: int = 0x345,
    multisampling: dict[int, tuple[int, int, int]] | None = None,
    full_rate=None,
) -> dict:
    """ORCA file of GRETINA4M (MJD firmware) packets; timestamps above 2³² and negative
    energies included.

    ``multisampling``: ``{channel: (FtCnt, Mrpsrt, Mrpsdv)}`` for channels 0–3 recorded in
    multisampling mode (written to the card's header entry; the records' last FtCnt samples
    are presummed, :func:`gretina4m_multisample`). ``full_rate(rng, channel, n)``, if given,
    makes every full-rate waveform (n int samples) instead of the HPGe pulses.

    Returns the encoded values; ``"values"``: the 2018 stored samples of every record,
    ``"full"``: the full-rate waveform each record was made from (lengths differ between
    multisampled channels), ``"settings"``: the ``multisampling`` argument.
    """
    ms = dict(multisampling or {})
    rng = np.random.default_rng(seed)
    w = OrcaWriter()
    did = w.add_decoder("ORGretina4MModel", "Gretina4M", "ORGretina4MWaveformDecoder")
    setting = [ms.get(ch, (0, 0, 0)) for ch in range(8)]
    w.add_card(
        crate,
        {
            "Class Name": "ORGretina4MModel",
            "Card": card,
            "Crate": crate,
            "Enabled": [True] * 4 + [False] * 4,
            "FtCnt": [s[0] for s in setting],
            "Mrpsrt": [s[1] for s in setting],
            "Mrpsdv": [s[2] for s in setting],
        },
    )
    truth: dict = {k: [] for k in ("channel", "timestamp", "energy", "key")}
    values, full = [], []
    for _ in range(n_packets):
        recs = []
        energies = th228_energies(records_per_packet, rng)
        if not ms and full_rate is None:
            wfs, _ = hpge_pulses(energies, 2018, rng, baseline_adc=2000)
        for j in range(records_per_packet):
            ch = int(rng.integers(0, 4))
            ts = int(rng.integers(2**33, 2**48))
            e = int(energies[j] * 100) * (-1 if rng.random() < 0.3 else 1)
            ft, rate, div = setting[ch]
            n = GRETINA4M_SAMPLES - ft + ft * GRETINA4M_PRESUM[rate]
            if full_rate is not None:
                wf = np.asarray(full_rate(rng, ch, n), np.int64)
            elif ms:
                wf = hpge_pulses(energies[j : j + 1], n, rng, baseline_adc=2000)[0][0]
                wf = wf.astype(np.int64) - 4000
            else:
                wf = wfs[j].astype(np.int32) - 4000
            stored = gretina4m_multisample(wf, ft, rate, div) if ft else wf.astype(np.int16)
            recs.append(gretina4m_record(ch, board_id, ts, e, stored))
            truth["channel"].append(ch)
            truth["timestamp"].append(ts)
            truth["energy"].append(e)
            truth["key"].append(ccc(crate, card, ch))
            values.append(stored)
            full.append(np.asarray(wf, np.int64))
        w.packets.append(gretina4m_packet(did, crate, card, recs))
    truth["values"] = np.array(values)
    truth["full"] = full
    truth["settings"] = ms
    w.write(path)
    return truth


# ----------------------------------------------------------------------------- ORCA-FCIO
def fcio_packet(data_id: int, streamid: int, tmio: bytes) -> np.ndarray:
    """An ORCA-wrapped FCIO packet (``ORFCIO*Decoder``): extended header (w0, w1 = length),
    w2 = FCIO stream id, then the tmio bytes of the FCIO record(s), NUL-padded to a word."""
    data = bytes(tmio) + b"\0" * (-len(tmio) % 4)
    body = np.concatenate(
        [np.array([streamid & 0xFFFFFFFF], np.uint32), np.frombuffer(data, "<u4")]
    )
    return _packet(data_id, body, extended=True)


def wrap_fcio_in_orca(
    path: str | os.PathLike,
    fcio_path: str | os.PathLike,
    *,
    fcid: int = 0,
    card_address: int = 16,
    n_channels: int = 3,
    fsp_enabled: bool = True,
) -> Path:
    """Write the records of an FCIO file as an ORCA file of ORCA-FCIO packets (LEGEND-200 2025
    layout): the protocol header, an FSPConfig and the Config in the first packet; every FSP
    record in one packet with the FCIO record after it (one ``packet_id``). The listener
    ``fcid`` must equal the FCIO stream id's low 16 bits; ``fsp_enabled`` sets the listener's
    ``fspEnabled`` (daq2lh5 writes the FSP tables only then)."""
    from ..raw.fcio import records as R
    from ..raw.fcio.framing import SCAN_END, scan_records

    raw = np.frombuffer(Path(fcio_path).read_bytes(), dtype=np.uint8)
    cap = len(raw) // 4 + 1
    tags, offs, ends, nfr = (np.empty(cap, np.int64) for _ in range(4))
    k, _, status, _, _ = scan_records(raw, len(raw), 0, True, tags, offs, ends, nfr)
    if status != SCAN_END:
        raise ValueError(f"{fcio_path}: not a complete FCIO stream (scan status {status})")
    w = OrcaWriter(run_number=7)
    ids = {
        name: w.add_decoder("ORFlashCamListenerModel", f"FCIO{name}", f"ORFCIO{name}Decoder")
        for name in ("Config", "Event", "EventHeader", "Status")
    }
    w.add_card(
        0,
        {
            "Class Name": "ORFlashCamADCModel",
            "Card": 2,
            "CardAddress": card_address,
            "Enabled": [i < n_channels for i in range(max(n_channels, 6))],
        },
    )
    w.readout.append(
        {
            "name": "ORFlashCamListenerModel",
            "uniqueID": fcid,
            "children": [{"crate": 0, "station": 2, "name": "ORFlashCamADCModel"}],
        }
    )
    w.aux_hw.append(
        {"Class Name": "ORFlashCamListenerModel", "uniqueID": fcid, "fspEnabled": fsp_enabled}
    )
    decoder_of = {
        R.CONFIG: "Config",
        R.EVENT: "Event",
        R.SPARSE_EVENT: "Event",
        R.EVENT_HEADER: "EventHeader",
        R.STATUS: "Status",
    }
    start = 0  # first byte of the packet being assembled
    for i in range(k):
        tag = int(tags[i])
        if tag in R.FSP_TAGS or tag == R.PSEUDO_PROTOCOL:
            continue  # goes into the packet of the record after it
        name = decoder_of.get(tag)
        if name is not None:
            w.packets.append(fcio_packet(ids[name], fcid, raw[start : ends[i]].tobytes()))
        start = int(ends[i])
    return w.write(path)
