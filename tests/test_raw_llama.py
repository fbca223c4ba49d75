"""llamaDAQ (SIS3316) → raw LH5: the real pulser file against legend-daq2lh5 1.7.1's output,
the run-start time zone, and truncated copies.

The real file cannot show bug B5 (cumsum_1..6 one word late: all its accumulators are
equal) nor the lost timestamp bits 47–32 (its run is 0.4 s long); the synthetic files of
``test_raw_llama_sim.py`` do.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import h5py
import numpy as np
import pytest
from helpers import attrs, datasets, deadline

from pygama_ak.raw import DAQFileError, TruncatedFileError, build_raw, open_stream

DATA = "llamaDAQ/20241218-150158-pulser.bin"
REF = "raw/20241218-150158-pulser.bin.lh5"
DATA_START = 16 + 2 * 88  # file header + two channel configs


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
        pytest.skip(f"real llamaDAQ file {path} not found")
    return path


@pytest.fixture(scope="module")
def built(data_file, tmp_path_factory):
    out = tmp_path_factory.mktemp("llama") / "out.lh5"
    summary = build_raw(data_file, out, compression=None)  # format detected from content
    assert summary.format == "LlamaDaq" and summary.error is None and not summary.warnings
    with h5py.File(out, "r") as f:
        yield f


def test_every_field_matches_reference(built, ref):
    """Same tables (one per channel group), datatypes, dtypes, units and values, exactly.

    The float columns (times, t0, dt) are computed with the same operations in the same
    order as daq2lh5, so they are bit-identical; cumsum_1..6 agree only because every
    accumulator of this file holds the same sum (B5 is tested on synthetic files)."""
    ours, theirs = datasets(built), datasets(ref)
    assert sorted(ours) == sorted(theirs)
    assert {"LLAMAEvent_0", "LLAMAEvent_4", "LLAMAHeader"} <= set(theirs)
    for name, obj in theirs.items():
        assert attrs(ours[name]) == attrs(obj), name
        if isinstance(obj, h5py.Dataset):
            assert ours[name].dtype == obj.dtype, name
            np.testing.assert_array_equal(ours[name][()], obj[()], err_msg=name)


def test_accumulators_are_all_equal_in_this_file(ref):
    """Why the real file cannot reveal B5: every gate of an event holds the same sum."""
    for table in ("LLAMAEvent_0", "LLAMAEvent_4"):
        sums = np.stack([ref[f"{table}/cumsum_{k}"][()] for k in range(1, 9)])
        assert (sums == sums[0]).all()


def test_run_start_is_utc_whatever_the_machine_zone(data_file, ref, tmp_path):
    """A naive file-name time is read as UTC by default, not in the machine's zone (daq2lh5
    uses the local zone; the reference was made on a UTC machine)."""
    expect = float(ref["LLAMAHeader/initial_timestamp"][()])
    assert expect == 1734534118.0  # 2024-12-18 15:01:58 UTC
    old = os.environ.get("TZ")
    try:
        os.environ["TZ"] = "America/New_York"
        time.tzset()
        out = tmp_path / "ny.lh5"
        build_raw(data_file, out, compression=None)
    finally:
        if old is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = old
        time.tzset()
    with h5py.File(out, "r") as f:
        assert float(f["LLAMAHeader/initial_timestamp"][()]) == expect
        np.testing.assert_array_equal(
            f["LLAMAEvent_0/unixtime"][()], ref["LLAMAEvent_0/unixtime"][()]
        )


@pytest.mark.parametrize(
    ("zone", "shift"), [("+05:30", -19800.0), ("-02:00", 7200.0), ("Europe/Berlin", -3600.0)]
)
def test_run_start_in_a_given_zone(data_file, ref, tmp_path, zone, shift):
    if "/" in zone:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(zone)
        except ZoneInfoNotFoundError:
            pytest.skip("no IANA time zone database on this machine")
    out = tmp_path / "zone.lh5"
    build_raw(data_file, out, compression=None, llama_timezone=zone)
    with h5py.File(out, "r") as f:
        got = float(f["LLAMAHeader/initial_timestamp"][()])
        assert got == float(ref["LLAMAHeader/initial_timestamp"][()]) + shift


def test_name_with_z_is_utc_and_name_without_time_is_nan(data_file, ref, tmp_path):
    z = tmp_path / "run-20241218T150158Z-pulser.bin"
    z.write_bytes(data_file.read_bytes())
    build_raw(z, tmp_path / "z.lh5", compression=None, llama_timezone="+05:00")
    with h5py.File(tmp_path / "z.lh5", "r") as f:
        assert f["LLAMAHeader/initial_timestamp"][()] == ref["LLAMAHeader/initial_timestamp"][()]
    plain = tmp_path / "pulser.bin"
    plain.write_bytes(data_file.read_bytes())
    summary = build_raw(plain, tmp_path / "plain.lh5", compression=None)
    assert any("unixtime is NaN" in w for w in summary.warnings)
    with h5py.File(tmp_path / "plain.lh5", "r") as f:
        assert np.isnan(f["LLAMAEvent_4/unixtime"][()]).all()
        np.testing.assert_array_equal(
            f["LLAMAEvent_4/time_since_run_start"][()],
            ref["LLAMAEvent_4/time_since_run_start"][()],
        )


def _event_ends(ref) -> tuple[np.ndarray, np.ndarray]:
    """Byte offset after each event (file order) and its packet id, from the reference."""
    pid, size = [], []
    for table, fch in (("LLAMAEvent_0", "fch_00"), ("LLAMAEvent_4", "fch_04")):
        p = ref[f"{table}/packet_id"][()]
        pid.append(p)
        size.append(np.full(len(p), 4 * int(ref[f"LLAMAHeader/{fch}/event_length"][()])))
    pid, size = np.concatenate(pid), np.concatenate(size)
    order = np.argsort(pid)
    return DATA_START + np.cumsum(size[order]), pid[order]


def test_truncated_copies(data_file, ref, tmp_path):
    """A cut copy never crashes or hangs: every complete event is kept, then a named error."""
    data = data_file.read_bytes()
    ends, pids = _event_ends(ref)
    assert ends[-1] == len(data)
    rng = np.random.default_rng(7)
    cuts = {0, 3, 15, 16, 17, 100, DATA_START - 1, DATA_START, DATA_START + 1, len(data) - 1}
    for k in (0, 1, 2, 40, 72):
        cuts |= {int(ends[k]) - 1, int(ends[k]), int(ends[k]) + 4}
    cuts |= set(rng.integers(0, len(data), 20).tolist())
    cut = tmp_path / "20241218-150158-cut.bin"
    for size in sorted(c for c in cuts if c < len(data)):
        cut.write_bytes(data[:size])
        complete = int(np.searchsorted(ends, size, side="right"))
        got, err = [], None
        with deadline(20):
            try:
                for b in open_stream(cut, "LlamaDaq").batches():
                    if b.decoder == "LLAMAEventDecoder":
                        got.append(np.asarray(b.table["packet_id"]))
            except DAQFileError as exc:
                err = exc
        got = np.sort(np.concatenate(got)) if got else np.zeros(0)
        np.testing.assert_array_equal(got, pids[:complete], err_msg=f"cut at {size}")
        if size >= DATA_START and (size == DATA_START or size in ends):
            assert err is None, f"cut at {size}: {err}"
            continue
        assert isinstance(err, TruncatedFileError), f"cut at {size}: {err!r}"
        assert err.path == str(cut) and str(cut) in str(err)
        assert err.records_done == complete
        if size < 16:
            assert (err.offset, err.record) == (0, "file header")
        elif size < DATA_START:
            assert err.record == "channel config" and err.offset in (16, 16 + 88)
        else:
            start = DATA_START if complete == 0 else int(ends[complete - 1])
            assert (err.offset, err.record) == (start, "SIS3316 event"), size


def test_small_chunks_give_the_same_tables(data_file, ref):
    """Chunks smaller than one event (input read 1000 bytes at a time) change nothing."""
    got = {}
    for b in open_stream(data_file, chunk_bytes=1000).batches():
        if b.decoder == "LLAMAEventDecoder":
            for key in np.unique(b.keys):
                got.setdefault(int(key), []).append(
                    np.asarray(b.table["waveform_windowed"]["values"][b.keys == key])
                )
    for key, table in ((0, "LLAMAEvent_0"), (4, "LLAMAEvent_4")):
        np.testing.assert_array_equal(
            np.concatenate(got[key]), ref[f"{table}/waveform_windowed/values"][()]
        )


@pytest.mark.parametrize("size", [10, 100, DATA_START + 30000])
def test_truncated_build(data_file, ref, tmp_path, size):
    """build_raw on a cut copy: the error names the record; complete events are written."""
    cut = tmp_path / "20241218-150158-cut.bin"
    cut.write_bytes(data_file.read_bytes()[:size])
    out = tmp_path / "cut.lh5"
    record = "file header" if size < 16 else "channel config" if size < DATA_START else "SIS3316"
    with pytest.raises(TruncatedFileError, match=record):
        build_raw(cut, out, compression=None)
    if size > DATA_START:
        with h5py.File(out, "r") as f:
            assert f["LLAMAHeader/fch_04/sample_length"][()] == 2000
            np.testing.assert_array_equal(
                f["LLAMAEvent_0/waveform_windowed/values"][()],
                ref["LLAMAEvent_0/waveform_windowed/values"][:1],
            )


def test_cli_options(data_file, ref, tmp_path):
    """``pygama-ak raw build --llama-timezone``: the option reaches the stream."""
    import typer
    from typer.testing import CliRunner

    from pygama_ak.cli.raw import app as raw_app

    root = typer.Typer()
    root.add_typer(raw_app, name="raw")

    @root.command()
    def other() -> None:  # a second command keeps "raw" a sub-command
        pass

    out = tmp_path / "cli.lh5"
    args = ["raw", "build", str(data_file), "--out", str(out), "--llama-timezone", "+05:30"]
    res = CliRunner().invoke(root, args)
    assert res.exit_code == 0, res.output
    with h5py.File(out, "r") as f:
        got = float(f["LLAMAHeader/initial_timestamp"][()])
    assert got == float(ref["LLAMAHeader/initial_timestamp"][()]) - 19800
