"""Simulated llamaDAQ files for every format-bit combination, with and without averaged
data: decode → every value equals what the simulator encoded.

Times are the encoded clock ticks × the sample period (1000 / sample_freq ns), the
documented conversion, computed here in the same order so they compare exactly; t0 and dt
follow llamaDAQ's EventConfig formulas (daq.md §2.4)."""

from __future__ import annotations

import datetime as dt

import h5py
import numpy as np
import pytest

from pygama_ak.daq.simulate_llama import (
    FIELDS_BIT0,
    FIELDS_BIT1,
    FIELDS_BIT2,
    FIELDS_BIT3,
    LlamaChannel,
    all_format_channels,
    simulate_llama,
)
from pygama_ak.raw import CorruptFileError, build_raw

NAME = "20250102-030405-sim.bin"
RUN_START = dt.datetime(2025, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc).timestamp()
BASE = {
    "packet_id",
    "fadc_channel_id",
    "time_since_run_start",
    "unixtime",
    "unixtime_accuracy",
    "fadc_status_bits",
    "waveform_windowed",
}


def expected_fields(bits: int) -> set[str]:
    out = set()
    for bit, names in enumerate((FIELDS_BIT0, FIELDS_BIT1, FIELDS_BIT2, FIELDS_BIT3)):
        if bits >> bit & 1:
            out |= set(names)
    return out


@pytest.mark.parametrize("bits", range(16))
def test_round_trip(tmp_path, bits):
    channels = all_format_channels(bits)
    sim = simulate_llama(tmp_path / NAME, 40, channels, seed=bits)
    out = tmp_path / "out.lh5"
    summary = build_raw(sim.path, out, compression=None)
    assert summary.error is None and not summary.warnings
    ev = sim.events
    with h5py.File(out, "r") as f:
        # channels differ in lengths: one table per channel, named by its key (daq2lh5)
        assert sorted(f) == ["LLAMAEvent_2", "LLAMAEvent_21", "LLAMAHeader"]
        for ch in channels:
            t = f[f"LLAMAEvent_{ch.fch}"]
            rows = np.flatnonzero(ev["fch"] == ch.fch)
            assert len(rows) > 3
            fields = (
                BASE | expected_fields(bits) | ({"waveform_presummed"} if ch.has_avg else set())
            )
            assert set(t) == fields
            np.testing.assert_array_equal(t["packet_id"][()], rows + 1)
            np.testing.assert_array_equal(t["fadc_channel_id"][()], ch.fch)
            np.testing.assert_array_equal(t["fadc_status_bits"][()], ev["status"][rows])
            dt_raw = 1 / ch.sample_freq * 1000
            times = ev["ticks"][rows] * dt_raw * 1e-9  # ticks above 2**32: bits 47-32 kept
            assert ev["ticks"][rows].min() > 2**32
            np.testing.assert_array_equal(t["time_since_run_start"][()], times)
            np.testing.assert_array_equal(t["unixtime"][()], times + RUN_START)
            np.testing.assert_array_equal(t["unixtime_accuracy"][()], 1.0)
            for name in expected_fields(bits):
                assert t[name].dtype == np.uint32
                np.testing.assert_array_equal(t[name][()], ev[name][rows], err_msg=name)
            w = t["waveform_windowed"]
            np.testing.assert_array_equal(w["values"][()], np.stack([sim.raw[i] for i in rows]))
            np.testing.assert_array_equal(w["dt"][()], dt_raw)
            t0 = (ch.sample_start_index - ch.sample_pretrigger) * dt_raw
            np.testing.assert_array_equal(w["t0"][()], np.float32(t0))
            if ch.has_avg:
                a = t["waveform_presummed"]
                np.testing.assert_array_equal(a["values"][()], np.stack([sim.avg[i] for i in rows]))
                dt_avg = dt_raw * 2 ** (ch.avg_mode + 1)
                np.testing.assert_array_equal(a["dt"][()], dt_avg)
                t0 = (
                    -ch.sample_pretrigger * dt_raw
                    - ch.avg_sample_pretrigger * dt_avg
                    + ev["avg_count"][rows] * dt_raw
                )
                np.testing.assert_array_equal(a["t0"][()], t0.astype(np.float32))
            h = f[f"LLAMAHeader/fch_{ch.fch:02d}"]
            for name in ("format_bits", "sample_length", "avg_sample_length", "avg_mode"):
                assert h[name][()] == getattr(ch, name), name
            assert h["sample_freq"][()] == ch.sample_freq
            assert h["event_length"][()] == ch.event_words
        hdr = f["LLAMAHeader"]
        assert (hdr["version_major"][()], hdr["version_minor"][()]) == (2, 0)
        assert hdr["number_chOpen"][()] == 2 and hdr["length_econf"][()] == 88
        assert hdr["initial_timestamp"][()] == RUN_START


def test_b5_accumulators_at_their_words(tmp_path):
    """cumsum_k is accumulator gate k; daq2lh5 reads gate k+1 (B5). Every gate differs here."""
    sim = simulate_llama(tmp_path / NAME, 20, [LlamaChannel(0, 0, format_bits=3)], seed=9)
    build_raw(sim.path, tmp_path / "b5.lh5", compression=None)
    ev = sim.events
    with h5py.File(tmp_path / "b5.lh5", "r") as f:
        t = f["LLAMAEvent"]  # one channel group: daq2lh5's single table name
        for k in range(1, 9):
            got = t[f"cumsum_{k}"][()]
            np.testing.assert_array_equal(got, ev[f"cumsum_{k}"])
            if k < 8:
                assert (got != ev[f"cumsum_{k + 1}"]).all()  # what daq2lh5 would write
        np.testing.assert_array_equal(t["info_bits"][()], ev["info_bits"])


def test_channels_with_equal_settings_share_a_table(tmp_path):
    """Like daq2lh5: equal lengths and averaging share a table (here channels 1 and 0 of fadc
    0, listed in that order and sampling at different rates); the group is named by its
    position; each row keeps its channel's sample period."""
    chans = [
        LlamaChannel(0, 1, format_bits=1, sample_freq=125.0),
        LlamaChannel(1, 0, format_bits=1, sample_length=60),
        LlamaChannel(0, 0, format_bits=1),
    ]
    sim = simulate_llama(tmp_path / NAME, 30, chans, seed=4)
    build_raw(sim.path, tmp_path / "g.lh5", compression=None)
    ev = sim.events
    with h5py.File(tmp_path / "g.lh5", "r") as f:
        assert sorted(f) == ["LLAMAEvent_0", "LLAMAEvent_16", "LLAMAHeader"]
        rows = np.flatnonzero(np.isin(ev["fch"], [0, 1]))
        np.testing.assert_array_equal(f["LLAMAEvent_0/fadc_channel_id"][()], ev["fch"][rows])
        dt_raw = np.where(ev["fch"][rows] == 1, 1000 / 125.0, 1000 / 250.0)
        np.testing.assert_array_equal(f["LLAMAEvent_0/waveform_windowed/dt"][()], dt_raw)
        np.testing.assert_array_equal(
            f["LLAMAEvent_0/time_since_run_start"][()], ev["ticks"][rows] * dt_raw * 1e-9
        )


def test_corrupt_event_is_named(tmp_path):
    """A raw-length word without its 0xE/0xA marker: events before it kept, error named."""
    ch = LlamaChannel(0, 3, format_bits=0)
    sim = simulate_llama(tmp_path / NAME, 6, [ch], seed=1)
    data = bytearray(sim.path.read_bytes())
    start = 16 + 88
    bad = start + 4 * ch.event_words * 4 + 4 * ch.header_words
    data[bad + 3] = 0x10  # top nibble of the raw-length word
    sim.path.write_bytes(bytes(data))
    with pytest.raises(CorruptFileError, match="raw-length word") as info:
        build_raw(sim.path, tmp_path / "c.lh5", compression=None)
    err = info.value
    assert err.offset == start + 4 * ch.event_words * 4 and err.records_done == 4
    assert err.record == "SIS3316 event" and str(sim.path) in str(err)
    with h5py.File(tmp_path / "c.lh5", "r") as f:
        assert len(f["LLAMAEvent/packet_id"]) == 4


def test_unknown_channel_is_named(tmp_path):
    ch = LlamaChannel(0, 3, format_bits=0)
    sim = simulate_llama(tmp_path / NAME, 3, [ch], seed=1)
    data = bytearray(sim.path.read_bytes())
    at = 16 + 88 + 4 * ch.event_words
    data[at] = (data[at] & 0x0F) | 0x70  # channel 7 has no configuration
    sim.path.write_bytes(bytes(data))
    with pytest.raises(CorruptFileError, match="no configuration") as info:
        build_raw(sim.path, tmp_path / "u.lh5", compression=None)
    assert info.value.offset == at and info.value.records_done == 1


def test_inconsistent_channel_config_is_named(tmp_path):
    """A config whose event_length disagrees with its format bits and lengths is refused
    before any event is read (its events could not be framed)."""
    chans = [LlamaChannel(0, 1, format_bits=0), LlamaChannel(0, 2, format_bits=3)]
    sim = simulate_llama(tmp_path / NAME, 4, chans, seed=2)
    data = bytearray(sim.path.read_bytes())
    at = 16 + 88  # second config; event_length is its u32 word 16
    data[at + 64 : at + 68] = (chans[1].event_words + 1).to_bytes(4, "little")
    sim.path.write_bytes(bytes(data))
    with pytest.raises(CorruptFileError, match="field event_length") as info:
        build_raw(sim.path, tmp_path / "e.lh5", compression=None)
    assert (info.value.offset, info.value.record) == (at, "channel config")
