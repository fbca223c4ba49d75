"""build_raw options across formats: Fletcher32 checksums, several files in worker processes."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
from helpers import assert_same
from typer.testing import CliRunner

from pygama_ak.cli.app import app
from pygama_ak.daq.simulators import simulate
from pygama_ak.lh5 import read
from pygama_ak.raw import build_raw

runner = CliRunner()


def datasets(path) -> dict[str, h5py.Dataset]:
    found = {}
    with h5py.File(path) as f:
        f.visititems(lambda n, o: found.setdefault(n, (o.fletcher32, o.chunks)) if isinstance(o, h5py.Dataset) else None)
    return found


@pytest.mark.parametrize("fmt", ["fcio", "orca-flashcam", "compass"])
def test_checksums_on_every_chunked_dataset_and_same_values(tmp_path, fmt):
    daq = simulate(fmt, tmp_path / f"run.{fmt}", 60)
    plain, checked = tmp_path / "plain.lh5", tmp_path / "checked.lh5"
    build_raw(daq, plain)
    build_raw(daq, checked, checksum=True)
    found = datasets(checked)
    chunked = {n: f for n, (f, chunks) in found.items() if chunks}
    assert chunked and all(chunked.values()), [n for n, f in chunked.items() if not f]
    assert not any(f for f, _ in datasets(plain).values())
    with h5py.File(plain) as f:
        tables = [k for k in f if isinstance(f[k], h5py.Group)]
    for table in tables:
        assert_same(read(checked, table), read(plain, table), table)


def test_checksum_detects_a_flipped_byte(tmp_path):
    daq = simulate("fcio", tmp_path / "run.fcio", 40)
    out = tmp_path / "raw.lh5"
    build_raw(daq, out, checksum=True, compression=None)
    with h5py.File(out) as f:
        ds = f["FCEvent/waveform/values/flattened_data"] if "FCEvent/waveform/values/flattened_data" in f \
            else f["FCEvent/waveform/values"]
        offset, name = ds.id.get_chunk_info(0).byte_offset, ds.name
    data = bytearray(out.read_bytes())
    data[offset + 100] ^= 0xFF
    out.write_bytes(bytes(data))
    with pytest.raises(OSError), h5py.File(out) as f:
        f[name][...]


def test_checksum_refuses_a_per_field_mapping(tmp_path):
    daq = simulate("fcio", tmp_path / "run.fcio", 5)
    with pytest.raises(ValueError, match="one plain compression setting"):
        build_raw(daq, tmp_path / "raw.lh5", checksum=True, compression={"default": "gzip", "waveform/values": "lzf"})


def test_cli_converts_several_files_in_workers_like_one_by_one(tmp_path):
    files = [simulate(fmt, tmp_path / f"run{i}.{fmt}", 50, seed=i)
             for i, fmt in enumerate(["fcio", "orca-sis3302", "llamadaq"])]
    serial, parallel = tmp_path / "serial", tmp_path / "parallel"
    serial.mkdir()
    parallel.mkdir()
    for folder, jobs in ((serial, "1"), (parallel, "2")):
        result = runner.invoke(app, ["raw", "build", *map(str, files), "--outdir", str(folder), "--jobs", jobs])
        assert result.exit_code == 0, result.output
    for daq in files:
        a, b = serial / f"{daq.stem}.lh5", parallel / f"{daq.stem}.lh5"
        with h5py.File(a) as f:
            tables = [k for k in f if isinstance(f[k], h5py.Group)]
        assert tables
        for table in tables:
            assert_same(read(b, table), read(a, table), f"{daq.name}:{table}")
    assert np.all([(parallel / f"{d.stem}.lh5").exists() for d in files])
