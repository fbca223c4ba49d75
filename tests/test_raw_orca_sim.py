"""ORCA round trips: synthetic files (:mod:`pygama_ak.daq.simulate_orca`) for hardware
without a real test file — FlashCam status/config details, Struck SIS3302 (wrap mode) and
SIS3316, GRETINA4M — decoded back to every value the simulator encoded; and the real ORCA
FlashCam file re-encoded from its decoded tables gives its packets back byte for byte.

Where daq2lh5 writes a wrong value (daq.md §8: B6 SIS3316 packet_id/energy never filled,
B7 board revisions shifted by 4 bits, Q5 dt fixed at 16 ns), the test asserts the encoded
(true) value and says why.
"""

from __future__ import annotations

import json
import plistlib

import awkward as ak
import h5py
import numpy as np
import pytest

from pygama_ak.daq import simulate_orca as S
from pygama_ak.lh5 import read
from pygama_ak.raw import build_raw, open_stream
from pygama_ak.raw.orca.flashcam import CONFIG_FIELDS, TIME_WORDS


def tables(path) -> tuple[dict, dict]:
    """Rows per decoder (concatenated) and their keys, from the stream (no writing)."""
    parts: dict = {}
    for b in open_stream(path).batches():
        if not isinstance(b.table, str):
            parts.setdefault(b.decoder, []).append((b.table, b.keys))
    return (
        {k: ak.concatenate([t for t, _ in v]) for k, v in parts.items()},
        {k: np.concatenate([np.asarray(x) for _, x in v]) for k, v in parts.items()},
    )


def sort_by_packet(tbl: ak.Array, keys: np.ndarray) -> tuple[ak.Array, np.ndarray]:
    """Rows in file order (batches are split by waveform length or channel)."""
    order = np.argsort(tbl.packet_id.to_numpy(), kind="stable")
    return tbl[order], keys[order]


# ----------------------------------------------------------------------------- FlashCam
@pytest.mark.parametrize("adcbits", [16, 12])
def test_flashcam_waveforms_round_trip(tmp_path, adcbits):
    """Every header word, baseline, energy, waveform and key as encoded; dt is the sampling
    period of the listener's firmware (Q5: daq2lh5 always writes 16 ns; 12-bit is 4 ns)."""
    path = tmp_path / "fc.orca"
    truth = S.simulate_flashcam_orca(path, 40, adcbits=adcbits)
    got, keys = tables(path)
    wf = got["ORFlashCamADCWaveformDecoder"]
    t = truth["waveforms"]
    for name in (*TIME_WORDS, "baseline", "daqenergy", "event_type", "channel"):
        assert wf[name].to_numpy().tolist() == t[name], name
    assert wf.fc_input.to_numpy().tolist() == t["channel"]
    assert np.all(wf.board_id.to_numpy() == truth["card_address"])
    assert np.all(wf.fcid.to_numpy() == truth["fcid"]) and np.all(wf.slot.to_numpy() == 2)
    assert np.array_equal(wf.waveform["values"].to_numpy(), t["values"])
    assert np.all(wf.waveform.dt.to_numpy() == (4.0 if adcbits == 12 else 16.0))
    expected_keys = [truth["fcid"] * 10**6 + truth["card_address"] * 100 + c for c in t["channel"]]
    assert keys["ORFlashCamADCWaveformDecoder"].tolist() == expected_keys
    pps = np.array(t["ts_pps"], np.float64)
    runtime = pps + np.array(t["ts_ticks"]) / 250_000_000.0
    assert np.allclose(wf.runtime.to_numpy(), runtime, rtol=0, atol=1e-12)
    offset = np.array(t["mu_offset_sec"], np.float64) + np.array(t["mu_offset_usec"]) * 1e-6
    assert np.allclose(wf.timestamp.to_numpy(), runtime + offset, rtol=1e-15, atol=0)
    assert wf.packet_id.to_numpy().tolist() == list(range(3, 43))  # header, run, config first


def test_flashcam_config_and_status_round_trip(tmp_path):
    """Listener config (board revisions as 8-bit values: daq2lh5 shifts by 4 bits, B7) and
    the status packets daq2lh5 does not decode at all: every encoded value back."""
    path = tmp_path / "fc.orca"
    truth = S.simulate_flashcam_orca(path, 5, n_boards=5, n_status=3)
    got, _ = tables(path)
    cfg = got["ORFlashCamListenerConfigDecoder"]
    for name in CONFIG_FIELDS:
        assert cfg[name].to_list() == [truth["config"][name]], name
    assert cfg.readout_id.to_list() == [7]
    assert cfg.board_rev.to_list() == [truth["board_rev"]]
    assert cfg.board_uid.to_list() == [truth["board_uid"]]
    assert cfg.ch_board_id.to_list() == [[b for b, _ in truth["channels"]]]
    assert cfg.ch_inputnum.to_list() == [[i for _, i in truth["channels"]]]
    st = got["ORFlashCamListenerStatusDecoder"]
    assert len(st) == 3
    for row, (head, cards) in zip(st, truth["status"]):
        assert row.status == head["status"] and row.n_cards == len(cards)
        assert row.statustime == head["fpga_s"] + head["fpga_us"] * 1e-6
        assert row.cputime == head["cpu_s"] + head["cpu_us"] * 1e-6
        assert row.startoffset == head["start_s"] + head["start_us"] * 1e-6
        assert row.card_id.to_list() == cards[:, 0].tolist()
        assert row.card_n_link_states.to_list() == cards[:, 8].tolist()
        assert row.card_n_link_errors.to_list() == cards[:, 13].tolist()
        assert row.card_temps.to_list() == cards[:, 19:24].reshape(-1).tolist()
        assert row.card_voltages.to_list() == cards[:, 24:30].reshape(-1).tolist()
        assert row.card_cti_links.to_list() == cards[:, 35:39].reshape(-1).tolist()
        links = [v for c in cards for v in c[39 : 39 + c[8]].tolist()]
        assert row.card_link_states.to_list() == links


def test_real_flashcam_file_re_encodes_to_its_bytes(testdata_dir, tmp_path):
    """Decode the real ORCA FlashCam file, re-encode run, config and waveform packets from
    the tables with the simulator's packet writers: every packet after the header is byte
    for byte the original. The header's XML text is not stored (only its JSON, like
    daq2lh5), so it is compared as data: re-encoded plist parses to the same dict. This 2022
    file stores card addresses in the older ORCA form (word 2 bits 21–14 = address & 0xff),
    which the decoder maps to the header's CardAddress (288)."""
    src = testdata_dir / "orca/fc/L200-comm-20220519-phy-geds.orca"
    data = src.read_bytes()
    out = tmp_path / "geds.lh5"
    build_raw(src, out, compression=None)
    with h5py.File(out) as f:
        header = json.loads(f["OrcaHeader"][()].decode())
    ids = {
        rec["decoder"]: rec["dataId"] >> 18
        for recs in header["dataDescription"].values()
        for rec in recs.values()
    }
    run = read(out, "ORRunDecoderForRun")
    cfg = read(out, "ORFlashCamListenerConfig")
    wf = read(out, "ORFlashCamADCWaveform")
    packets: dict[int, np.ndarray] = {}
    for i in range(len(cfg)):
        c = cfg[i]
        packets[int(c.packet_id)] = S.flashcam_config_packet(
            ids["ORFlashCamListenerConfigDecoder"],
            int(c.fcid),
            {k: int(c[k]) for k in CONFIG_FIELDS},
            list(zip(c.ch_board_id.to_list(), c.ch_inputnum.to_list())),
            c.board_rev.to_list(),
            c.board_uid.to_list(),
            readout_id=int(c.readout_id),
            pad_to=int(c.packet_len),
        )
    cols = {k: wf[k].to_numpy() for k in wf.fields if k != "waveform"}
    values = wf.waveform["values"].to_numpy()
    for i in range(len(wf)):
        packets[int(cols["packet_id"][i])] = S.flashcam_waveform_packet(
            ids["ORFlashCamADCWaveformDecoder"],
            crate=int(cols["crate"][i]),
            slot=int(cols["slot"][i]),
            board_id=int(cols["board_id"][i]),
            fc_input=int(cols["fc_input"][i]),
            channel=int(cols["channel"][i]),
            event_type=int(cols["event_type"][i]),
            words={k: int(cols[k][i]) for k in TIME_WORDS},
            baseline=int(cols["baseline"][i]),
            daqenergy=int(cols["daqenergy"][i]),
            samples=values[i],
            old_board_shift=True,
        )
    free = iter(i for i in range(1, len(packets) + len(run) + 1) if i not in packets)
    flags = (
        "runstartorstop",
        "quickstartrun",
        "remotecontrolrun",
        "heartbeatrecord",
        "endsubrunrecord",
        "startsubrunrecord",
    )
    for r in run:
        bits = sum(int(bool(r[f])) << b for b, f in enumerate(flags))
        packets[next(free)] = S.run_packet(
            ids["ORRunDecoderForRun"], int(r.run_number), int(r.time), bits, int(r.subrun_number)
        )
    body = b"".join(packets[i].astype("<u4").tobytes() for i in sorted(packets))
    n_header = 4 * (int.from_bytes(data[:4], "little") & 0x3FFFF)
    assert len(body) == len(data) - n_header
    assert body == data[n_header:]
    xml_len = int.from_bytes(data[4:8], "little")
    original = plistlib.loads(data[8 : 8 + xml_len])
    assert plistlib.loads(plistlib.dumps(header)) == original


# ----------------------------------------------------------------------------- digitizers
def test_sis3302_round_trip_with_wrap_mode(tmp_path):
    """SIS3302: every value as encoded, wrap-mode traces in time order (the oldest sample
    at the w7 index, as ORCA's decoder reads it), 48-bit timestamps, one table per enabled
    channel named as daq2lh5 names them."""
    path = tmp_path / "sis3302.orca"
    truth = S.simulate_sis3302_orca(path, 30, wrap=True)
    got, keys = tables(path)
    x, k = sort_by_packet(got["ORSIS3302DecoderForEnergy"], keys["ORSIS3302DecoderForEnergy"])
    assert x.packet_id.to_numpy().tolist() == list(range(1, 31))
    for name in ("energy", "energy_first", "timestamp", "channel"):
        assert x[name].to_numpy().tolist() == truth[name], name
    assert max(truth["timestamp"]) > 2**40
    assert np.array_equal(x.waveform["values"].to_numpy(), truth["values"])
    assert np.all(x.waveform.dt.to_numpy() == 10.0)
    assert k.tolist() == truth["key"]
    out = tmp_path / "sis3302.lh5"
    build_raw(path, out, compression=None)
    with h5py.File(out) as f:
        names = sorted(n for n in f if n.startswith("ORSIS3302"))
    assert names == sorted(f"ORSIS3302DecoderForEnergy_{c}" for c in set(truth["key"]))


def test_sis3302_without_wrap(tmp_path):
    path = tmp_path / "sis3302.orca"
    truth = S.simulate_sis3302_orca(path, 12, wrap=False, energy_samples=0)
    got, _ = tables(path)
    x = got["ORSIS3302DecoderForEnergy"]
    x = x[np.argsort(x.packet_id.to_numpy())]
    assert np.array_equal(x.waveform["values"].to_numpy(), truth["values"])
    assert x.energy.to_numpy().tolist() == truth["energy"]


def test_sis3316_round_trip_all_format_bits(tmp_path):
    """SIS3316, several events a packet, all 16 format-bit combinations: every field as
    encoded, 0 where the format leaves it out; packet_id and energy/energy_first (max/start
    energy) filled — daq2lh5 never fills them (B6)."""
    path = tmp_path / "sis3316.orca"
    truth = S.simulate_sis3316_orca(path, 32, events_per_packet=4)
    got, keys = tables(path)
    x = got["ORSIS3316WaveformDecoder"]
    order = np.lexsort((np.arange(len(x)), x.packet_id.to_numpy()))
    x, k = x[order], keys["ORSIS3316WaveformDecoder"][order]
    rows = truth["rows"]
    assert len(x) == len(rows) == 128
    assert x.packet_id.to_numpy().tolist() == [1 + i // 4 for i in range(128)]
    blocks = {name: bit for bit, names in S.SIS3316_BLOCKS for name in names}
    blocks.update({"peakHighValue": 0, "peakHighIndex": 0, "accSum1": 0, "information": 0})
    for name, bit in blocks.items():
        if name in ("peak", "acc1"):
            continue
        want = [r[name] if r["format"] >> bit & 1 else 0 for r in rows]
        assert x[name].to_numpy().tolist() == want, name
    assert x.energy.to_numpy().tolist() == [r["maxEnergy"] if r["format"] & 8 else 0 for r in rows]
    assert x.energy_first.to_numpy().tolist() == [
        r["startEnergy"] if r["format"] & 8 else 0 for r in rows
    ]
    assert x.timestamp.to_numpy().tolist() == [r["timestamp"] for r in rows]
    assert x.channel.to_numpy().tolist() == [r["channel"] for r in rows]
    assert k.tolist() == [r["key"] for r in rows]
    assert np.array_equal(x.waveform["values"].to_numpy(), truth["values"])


def test_gretina4m_round_trip(tmp_path):
    """GRETINA4M: signed 25-bit energies (negative ones too) and full 48-bit timestamps
    (pygama 2021 truncated them to 32 bits), board id, int16 samples."""
    path = tmp_path / "gretina.orca"
    truth = S.simulate_gretina4m_orca(path, 8, records_per_packet=3)
    got, keys = tables(path)
    x = got["ORGretina4MWaveformDecoder"]
    assert x.energy.to_numpy().tolist() == truth["energy"] and min(truth["energy"]) < 0
    assert x.timestamp.to_numpy().tolist() == truth["timestamp"]
    assert min(truth["timestamp"]) >= 2**33
    assert x.channel.to_numpy().tolist() == truth["channel"]
    assert np.all(x.board_id.to_numpy() == 0x345) and np.all(x.crate.to_numpy() == 2)
    assert x.waveform["values"].to_numpy().dtype == np.int16
    assert np.array_equal(x.waveform["values"].to_numpy(), truth["values"])
    assert keys["ORGretina4MWaveformDecoder"].tolist() == truth["key"]
    assert x.packet_id.to_numpy().tolist() == [1 + i // 3 for i in range(24)]


def test_corrupt_digitizer_packets_name_the_field(tmp_path):
    """A SIS3302 packet without its 0xDEADBEEF footer and a GRETINA4M record without its
    sync word: CorruptFileError naming file, offset, packet type and field; packets before
    are kept."""
    from pygama_ak.raw import CorruptFileError

    path = tmp_path / "sis3302.orca"
    S.simulate_sis3302_orca(path, 4, wrap=False)
    data = bytearray(path.read_bytes())
    data[-4:] = bytes(4)  # the last packet's footer word
    path.write_bytes(bytes(data))
    rows = 0
    with pytest.raises(CorruptFileError) as info:
        for b in open_stream(path).batches():
            rows += 0 if isinstance(b.table, str) else len(b.table)
    assert "ORSIS3302DecoderForEnergy" in str(info.value) and "0xDEADBEEF" in str(info.value)
    assert str(path) in str(info.value) and rows == 3 and info.value.records_done == 4
    path = tmp_path / "gretina.orca"
    S.simulate_gretina4m_orca(path, 2, records_per_packet=2)
    data = bytearray(path.read_bytes())
    last = len(data) - 4 * 1024  # the last record's sync word
    data[last : last + 4] = bytes(4)
    path.write_bytes(bytes(data))
    rows = 0
    with pytest.raises(CorruptFileError) as info:
        for b in open_stream(path).batches():
            rows += 0 if isinstance(b.table, str) else len(b.table)
    assert info.value.offset == last and "sync" in str(info.value)
    assert rows == 2  # the first packet's two records


def test_short_packets_are_framed_and_counted(tmp_path):
    """One-word (short) packets between long ones: framed as one word, counted as packets
    without a decoder, and the packet ids of the packets after them count them."""
    w = S.OrcaWriter()
    short_id = w.add_decoder("ORCAScript", "State", "ORScriptDecoderForState", short=True)
    did = w.add_decoder("ORSIS3302Model", "Energy", "ORSIS3302DecoderForEnergy")
    w.add_card(
        0,
        {
            "Class Name": "ORSIS3302Model",
            "Card": 1,
            "internalTriggerEnabledMask": 1,
            "externalTriggerEnabledMask": 0,
            "sampleLengths": [4] * 4,
        },
    )
    raw = np.arange(4, dtype=np.uint16)
    for i in range(3):
        w.packets.append(S.short_packet(short_id, 0x123456 + i))
        w.packets.append(S.sis3302_packet(did, 0, 1, 0, 10 + i, raw, raw[:0], 5 + i, 1))
    path = w.write(tmp_path / "short.orca")
    stream = open_stream(path)
    got = [b for b in stream.batches() if not isinstance(b.table, str)]
    x = ak.concatenate([b.table for b in got])
    assert x.packet_id.to_list() == [2, 4, 6] and x.energy.to_list() == [5, 6, 7]
    assert stream.stats.skipped["ORScriptDecoderForState (no decoder)"] == 3
