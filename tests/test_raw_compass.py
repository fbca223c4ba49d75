"""CAEN CoMPASS → raw LH5: the real DT5730 file against legend-daq2lh5 1.7.1's output, its
settings file, a header-less copy, and truncated copies.

Where daq2lh5 is wrong (daq.md §8 B4) the test asserts the true value and says why:
``energy_calibrated`` (absent from this file: the reference holds uninitialised memory) and
the waveform ``dt`` (16 ns in the reference; the DT5730 samples every 2 ns).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest
from helpers import attrs, datasets, deadline

from pygama_ak.raw import DAQFileError, TruncatedFileError, build_raw, open_stream

DATA = "compass/compass_test_data.BIN"
SETTINGS = "compass/compass_test_data_settings.xml"
REF = "raw/compass_test_data.BIN.lh5"
B4_FIELDS = {"CompassEvent/energy_calibrated", "CompassEvent/waveform/dt"}
HEADER_BYTES = 2
EVENT_BYTES = 25 + 2 * 1000  # channels + short + waveform layout, 1000 samples


@pytest.fixture(scope="module")
def ref(reference_dir):
    path = reference_dir / REF
    if not path.is_file():
        pytest.skip(f"reference {path} not found")
    with h5py.File(path, "r") as f:
        yield f


@pytest.fixture(scope="module")
def data_file(testdata_dir) -> Path:
    path = testdata_dir / DATA
    if not path.is_file():
        pytest.skip(f"real CoMPASS file {path} not found")
    return path


@pytest.fixture(scope="module")
def built(data_file, testdata_dir, tmp_path_factory):
    """Our output, made as the reference was (settings file passed explicitly)."""
    out = tmp_path_factory.mktemp("compass") / "out.lh5"
    summary = build_raw(
        data_file, out, compression=None, compass_config_file=testdata_dir / SETTINGS
    )
    assert summary.error is None and not summary.warnings
    with h5py.File(out, "r") as f:
        yield f


def test_every_field_matches_reference(built, ref):
    """Same objects, datatypes, dtypes, units and values (exactly) as daq2lh5, except B4."""
    ours, theirs = datasets(built), datasets(ref)
    assert sorted(ours) == sorted(theirs)
    for name, obj in theirs.items():
        assert attrs(ours[name]) == attrs(obj), name
        if not isinstance(obj, h5py.Dataset):
            continue
        assert ours[name].dtype == obj.dtype, name
        if name not in B4_FIELDS:
            np.testing.assert_array_equal(ours[name][()], obj[()], err_msg=name)
    assert ref["CompassEvent/packet_id"].shape == (102,)


def test_b4_energy_calibrated_is_nan_when_absent(built, ref):
    # the file header (0xCAE5: energy in channels + energy short + waveform) announces no
    # calibrated energy; daq2lh5 writes uninitialised memory there (B4), we write NaN
    assert int(ref["CompassHeader/energy_calibrated"][()]) == 0
    assert np.isnan(built["CompassEvent/energy_calibrated"][()]).all()
    assert np.isfinite(ref["CompassEvent/energy_calibrated"][()]).any()  # garbage, not NaN


def test_b4_waveform_dt_is_the_sample_period(built, ref):
    # daq2lh5 hard-codes 16 ns; the DT5730 samples at the rate its own header struct states
    rate = float(ref["CompassHeader/boards/0/sample_rate"][()])  # samples/ns
    assert ref["CompassHeader/boards/0/modelName"][()] == b"DT5730" and rate == 0.5
    np.testing.assert_array_equal(built["CompassEvent/waveform/dt"][()], 1 / rate)
    assert (ref["CompassEvent/waveform/dt"][()] == 16).all()


def test_settings_found_beside_the_file(data_file, ref, tmp_path):
    """Without compass_config_file, ``<stem>_settings.xml`` beside the file is used."""
    out = tmp_path / "auto.lh5"
    build_raw(data_file, out, compression=None)
    with h5py.File(out, "r") as f:
        assert f["CompassHeader/boards/0/modelName"][()] == b"DT5730"
        np.testing.assert_array_equal(f["CompassEvent/waveform/dt"][()], 2.0)
        np.testing.assert_array_equal(
            f["CompassEvent/waveform/values"][()], ref["CompassEvent/waveform/values"][()]
        )


def test_without_settings(data_file, ref, tmp_path):
    """compass_config_file=False: flags only in the header, dt unknown (NaN), a warning."""
    out = tmp_path / "nosettings.lh5"
    summary = build_raw(data_file, out, compression=None, compass_config_file=False)
    assert any("settings" in w for w in summary.warnings)
    with h5py.File(out, "r") as f:
        assert "boards" not in f["CompassHeader"]
        assert int(f["CompassHeader/header_present"][()]) == 1
        assert np.isnan(f["CompassEvent/waveform/dt"][()]).all()
        np.testing.assert_array_equal(f["CompassEvent/energy"][()], ref["CompassEvent/energy"][()])
    out2 = tmp_path / "dt.lh5"
    build_raw(data_file, out2, compression=None, compass_config_file=False, compass_dt_ns=2)
    with h5py.File(out2, "r") as f:
        np.testing.assert_array_equal(f["CompassEvent/waveform/dt"][()], 2.0)


def test_headerless_copy_guesses_the_layout(data_file, ref, tmp_path):
    """A size-split file has no 0xCAEx header: the layout is guessed from the events."""
    cut = tmp_path / "split.BIN"
    cut.write_bytes(data_file.read_bytes()[HEADER_BYTES:])
    out = tmp_path / "split.lh5"
    build_raw(cut, out, compression=None, in_format="Compass", compass_config_file=False)
    with h5py.File(out, "r") as f:
        assert int(f["CompassHeader/header_present"][()]) == 0
        for flag in ("energy_channels", "energy_calibrated", "energy_short", "waveform_samples"):
            assert f[f"CompassHeader/{flag}"][()] == ref[f"CompassHeader/{flag}"][()], flag
        for name in ("timestamp", "energy", "energy_short", "flags", "board", "channel"):
            np.testing.assert_array_equal(
                f[f"CompassEvent/{name}"][()], ref[f"CompassEvent/{name}"][()], err_msg=name
            )


def test_keys_are_board_and_channel(data_file):
    """daq2lh5's key: (board << 9) + (channel & 0xF)."""
    keys = np.concatenate(
        [b.keys for b in open_stream(data_file).batches() if b.decoder == "CompassEventDecoder"]
    )
    assert sorted(set(keys.tolist())) == [0, 1]


def _cut_offsets(size: int) -> list[int]:
    rng = np.random.default_rng(11)
    picks = {0, 1, 2, 3, 13, 26, 27, size - 1}
    for k in (1, 2, 50, 101):
        b = HEADER_BYTES + k * EVENT_BYTES
        picks |= {b - 1, b, b + 1, b + 30}
    picks |= set(rng.integers(0, size, 24).tolist())
    return sorted(p for p in picks if p < size)


def test_truncated_copies(data_file, ref, tmp_path):
    """A cut copy never crashes or hangs: every complete event is kept, then a named error."""
    data = data_file.read_bytes()
    assert len(data) == HEADER_BYTES + 102 * EVENT_BYTES
    ts = ref["CompassEvent/timestamp"][()]
    cut = tmp_path / "cut.BIN"
    for size in _cut_offsets(len(data)):
        cut.write_bytes(data[:size])
        complete = max(0, (size - HEADER_BYTES) // EVENT_BYTES)
        rows = []
        err = None
        with deadline(20):
            try:
                for b in open_stream(cut, "Compass", compass_config_file=False).batches():
                    if b.decoder == "CompassEventDecoder":
                        rows.append(np.asarray(b.table["timestamp"]))
            except DAQFileError as exc:
                err = exc
        got = np.concatenate(rows) if rows else np.zeros(0)
        np.testing.assert_array_equal(got, ts[:complete], err_msg=f"cut at {size}")
        at_boundary = size >= HEADER_BYTES and (size - HEADER_BYTES) % EVENT_BYTES == 0
        if at_boundary:
            assert err is None, f"cut at {size}: {err}"
            continue
        assert isinstance(err, TruncatedFileError), f"cut at {size}: {err!r}"
        assert err.path == str(cut)
        if size < HEADER_BYTES:
            assert (err.offset, err.record) == (0, "file header")
        else:
            assert err.offset == HEADER_BYTES + complete * EVENT_BYTES, size
            assert err.record == "CompassEvent" and err.records_done == complete
            assert f"byte offset {err.offset}" in str(err) and str(cut) in str(err)


def test_truncated_build_keeps_complete_events(data_file, ref, tmp_path):
    cut = tmp_path / "cut.BIN"
    cut.write_bytes(data_file.read_bytes()[: HEADER_BYTES + 40 * EVENT_BYTES + 700])
    shutil.copy(data_file.with_name(Path(SETTINGS).name), tmp_path / "cut_settings.xml")
    out = tmp_path / "cut.lh5"
    with pytest.raises(TruncatedFileError, match="CompassEvent record at byte offset"):
        build_raw(cut, out, compression=None)
    with h5py.File(out, "r") as f:
        np.testing.assert_array_equal(
            f["CompassEvent/waveform/values"][()], ref["CompassEvent/waveform/values"][:40]
        )
        assert f["CompassHeader/boards/0/modelName"][()] == b"DT5730"


def test_cli_settings_option(data_file, testdata_dir, tmp_path):
    """``pygama-ak raw build --compass-config``: the settings file reaches the stream."""
    import typer
    from typer.testing import CliRunner

    from pygama_ak.cli.raw import app as raw_app

    root = typer.Typer()
    root.add_typer(raw_app, name="raw")

    @root.command()
    def other() -> None:  # a second command keeps "raw" a sub-command
        pass

    copy = tmp_path / "renamed.BIN"  # no <stem>_settings.xml beside it
    copy.write_bytes(data_file.read_bytes())
    out = tmp_path / "cli.lh5"
    args = ["raw", "build", str(copy), "--out", str(out)]
    res = CliRunner().invoke(root, [*args, "--compass-config", str(testdata_dir / SETTINGS)])
    assert res.exit_code == 0, res.output
    with h5py.File(out, "r") as f:
        np.testing.assert_array_equal(f["CompassEvent/waveform/dt"][()], 2.0)
