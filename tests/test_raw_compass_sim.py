"""Simulated CoMPASS files in every event layout: decode → every value equals what the
simulator encoded (integers and floats exactly: nothing is computed on them but casts)."""

from __future__ import annotations

import itertools

import h5py
import numpy as np
import pytest

from pygama_ak.daq.simulate_compass import SAMPLE_RATE, simulate_compass
from pygama_ak.raw import build_raw

ENERGIES = [(True, False), (False, True), (True, True)]  # (in channels, calibrated)
LAYOUTS = [
    (e, c, s, w, h, x)
    for (e, c), s, w, h, x in itertools.product(
        ENERGIES, (False, True), (True, False), (True, False), (True, False)
    )
]


def _id(p) -> str:
    e, c, s, w, h, x = p
    return "-".join(
        n
        for n, on in (
            ("E", e),
            ("cal", c),
            ("short", s),
            ("wf", w),
            ("hdr", h),
            ("xml", x),
        )
        if on
    )


@pytest.mark.parametrize(
    ("energy", "cal", "short", "wf", "header", "xml"), LAYOUTS, ids=[_id(p) for p in LAYOUTS]
)
def test_round_trip(tmp_path, energy, cal, short, wf, header, xml):
    sim = simulate_compass(
        tmp_path / "run.BIN",
        60,
        energy=energy,
        calibrated=cal,
        short=short,
        waveform=wf,
        header=header,
        settings=xml,
        n_boards=2,
        n_channels=3,
        seed=3,
    )
    out = tmp_path / "run.lh5"
    summary = build_raw(sim.path, out, compression=None, in_format=None if header else "Compass")
    assert summary.error is None
    ev = sim.events
    with h5py.File(out, "r") as f:
        t = f["CompassEvent"]
        np.testing.assert_array_equal(t["packet_id"][()], np.arange(1, 61))
        for name in ("board", "channel", "flags"):
            assert t[name].dtype == np.uint32
            np.testing.assert_array_equal(t[name][()], ev[name], err_msg=name)
        assert t["timestamp"].dtype == np.float64 and t["timestamp"].attrs["units"] == "ps"
        np.testing.assert_array_equal(t["timestamp"][()], ev["timestamp"].astype(np.float64))
        # absent fields: energies 0, calibrated energy NaN (daq2lh5: garbage, B4)
        np.testing.assert_array_equal(t["energy"][()], ev["energy"] if energy else 0)
        np.testing.assert_array_equal(t["energy_short"][()], ev["energy_short"] if short else 0)
        np.testing.assert_array_equal(
            t["energy_calibrated"][()], ev["energy_calibrated"] if cal else np.nan
        )
        np.testing.assert_array_equal(t["num_samples"][()], sim.n_samples if wf else 0)
        if wf:
            np.testing.assert_array_equal(t["waveform/values"][()], ev["samples"])
            # B4: dt from the model's sample rate (2 ns for the DT5730), NaN when unknown
            dt = t["waveform/dt"][()]
            np.testing.assert_array_equal(dt, sim.dt_ns if xml else np.nan)
            np.testing.assert_array_equal(t["waveform/t0"][()], 0.0)
        else:
            assert "waveform" not in t
        h = f["CompassHeader"]
        for name, on in (
            ("energy_channels", energy),
            ("energy_calibrated", cal),
            ("energy_short", short),
            ("waveform_samples", wf),
            ("header_present", header),
        ):
            assert int(h[name][()]) == int(on), name
        if xml:
            for b in range(2):
                board = h[f"boards/{b}"]
                assert board["modelName"][()] == b"DT5730"
                assert board["adcBitCount"][()] == b"14"
                assert board["sample_rate"][()] == SAMPLE_RATE["DT5730"]
                assert board["wf_len"][()] == sim.n_samples
                chans = {
                    int(c): {k: v[()].decode() for k, v in board[f"channels/{c}"].items()}
                    for c in board["channels"]
                }
                assert chans == sim.enabled[b]
        else:
            assert "boards" not in h


def test_keys_and_per_channel_routing(tmp_path):
    sim = simulate_compass(tmp_path / "k.BIN", 50, n_boards=2, n_channels=3, seed=5)
    out = tmp_path / "k.lh5"
    spec = {"CompassEventDecoder": {"ch{key}": {"key_list": ["*"]}}}
    build_raw(sim.path, out, out_spec=spec, compression=None)
    ev = sim.events
    keys = (ev["board"].astype(int) << 9) + (ev["channel"].astype(int) & 0xF)
    with h5py.File(out, "r") as f:
        assert sorted(f) == sorted(f"ch{k}" for k in np.unique(keys))
        for k in np.unique(keys):
            np.testing.assert_array_equal(f[f"ch{k}/waveform/values"][()], ev["samples"][keys == k])


def test_dt5725_samples_every_4ns(tmp_path):
    sim = simulate_compass(tmp_path / "d.BIN", 10, model="DT5725", seed=2)
    build_raw(sim.path, tmp_path / "d.lh5", compression=None)
    with h5py.File(tmp_path / "d.lh5", "r") as f:
        np.testing.assert_array_equal(f["CompassEvent/waveform/dt"][()], 4.0)
        assert f["CompassHeader/boards/0/sample_rate"][()] == 0.25


def test_bad_sample_count_is_named(tmp_path):
    """An event whose sample count differs from the file's: the events before it are kept and
    the error names the file, offset, record and field."""
    from pygama_ak.raw import CorruptFileError

    sim = simulate_compass(tmp_path / "b.BIN", 5, n_samples=100, settings=False)
    data = bytearray(sim.path.read_bytes())
    size = 2 + 12 + 2 + 2 + 4  # header, event fields up to the flags
    event = 25 + 200
    data[2 + 3 * event + size - 2 + 1 : 2 + 3 * event + size - 2 + 5] = (99).to_bytes(4, "little")
    sim.path.write_bytes(bytes(data))
    out = tmp_path / "b.lh5"
    with pytest.raises(CorruptFileError, match="num_samples") as info:
        build_raw(sim.path, out, compression=None)
    assert info.value.offset == 2 + 3 * event and info.value.records_done == 3
    with h5py.File(out, "r") as f:
        np.testing.assert_array_equal(
            f["CompassEvent/waveform/values"][()], sim.events["samples"][:3]
        )


def test_batches_are_bounded(tmp_path):
    """Decoded batches hold at most out_bytes of events (here 9 events of 825 bytes)."""
    from pygama_ak.raw import open_stream

    sim = simulate_compass(tmp_path / "m.BIN", 200, n_samples=400, seed=8)
    sizes, values = [], []
    for b in open_stream(sim.path, out_bytes=8000).batches():
        if b.decoder == "CompassEventDecoder":
            sizes.append(len(b.table))
            values.append(np.asarray(b.table["waveform"]["values"]))
    assert max(sizes) == 8000 // (25 + 800) and sum(sizes) == 200
    np.testing.assert_array_equal(np.concatenate(values), sim.events["samples"])
