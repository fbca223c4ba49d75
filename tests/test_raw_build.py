"""build_raw behaviour: outputs, overwrite, atomicity, daq2lh5 out_spec routing, format
detection and the ``pygama-ak raw build`` command."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from pygama_ak.lh5 import read
from pygama_ak.raw import build_raw, default_output, detect_format, open_stream
from pygama_ak.raw.fcio import encode as E
from pygama_ak.raw.routing import Router

SPMS = "L200-comm-20211130-phy-spms"
RAWIDS = [52800, 52801, 52802, 52803, 52804, 52805]


@pytest.fixture
def spms(testdata_dir, tmp_path):
    """A copy of the SiPM test file in a scratch folder (outputs default to beside it)."""
    path = tmp_path / f"{SPMS}.fcio"
    path.write_bytes((testdata_dir / "fcio" / f"{SPMS}.fcio").read_bytes())
    return path


def test_default_output_and_overwrite(spms):
    summary = build_raw(spms, compression=None)
    out = default_output(spms)
    assert out.name == f"{SPMS}.lh5" and summary.outputs == [str(out)]
    assert summary.tables == {f"{out}:FCConfig": 1, f"{out}:FCEvent": 300, f"{out}:FCStatus": 2}
    assert summary.bytes_read == summary.file_size == spms.stat().st_size
    with pytest.raises(FileExistsError, match="overwrite"):
        build_raw(spms, compression=None)
    before = out.stat().st_mtime_ns
    build_raw(spms, compression=None, overwrite=True)
    assert out.stat().st_mtime_ns >= before
    assert not [p for p in spms.parent.iterdir() if p.name.startswith(".")]  # no temp left


def test_failure_leaves_nothing(spms, tmp_path):
    """A failure that is not about the input (here: a bad compression setting) removes the
    temporary output and leaves an existing output untouched."""
    out = tmp_path / "x.lh5"
    with pytest.raises(ValueError, match="compression"):
        build_raw(spms, out, compression="nonsense")
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    with pytest.raises(FileNotFoundError):
        build_raw(tmp_path / "missing.fcio", out)


def test_out_spec_per_channel_tables(spms, tmp_path):
    """daq2lh5 routing: ``{key}`` templates, ranges, wildcards, patterns on string keys,
    group in out_stream, ``out_name``, undecoded-but-not-written buffers."""
    spec = {
        "FCEventDecoder": {
            "ch{key:07d}/raw": {
                "key_list": [[52801, 52803]],
                "out_stream": "{orig_basename}_a.lh5",
            },
            "rest": {"key_list": ["*"], "out_stream": ":/other", "out_name": "ch{key}"},
        },
        "FCStatusDecoder": {"{name}": {"key_list": ["fcid_0/status/card8*"]}},
        "FCConfigDecoder": {"cfg": {"key_list": ["*"], "out_stream": ""}},
    }
    spec_file = tmp_path / "spec.json"
    spec_file.write_text(json.dumps(spec))
    out = tmp_path / "main.lh5"
    summary = build_raw(
        spms, out, out_spec=spec_file, compression=None, orig_basename=str(tmp_path / "run")
    )
    side = tmp_path / "run_a.lh5"
    assert sorted(summary.outputs) == sorted([str(out), str(side)])
    with h5py.File(side) as f:
        assert sorted(f) == ["ch0052801", "ch0052802", "ch0052803"]
        assert f["ch0052801"].attrs["datatype"] == "struct{raw}"
    for key in (52801, 52802, 52803):
        ev = read(side, f"ch{key:07d}/raw", fields=["channel", "packet_id"])
        assert len(ev) == 50 and set(ev.channel.to_list()) == {key - 52800}
    with h5py.File(out) as f:
        assert sorted(f) == ["FCStatus", "other"]
        assert sorted(f["other"]) == ["ch52800", "ch52804", "ch52805"]
    status = read(out, "FCStatus")
    assert status.id.to_list() == [8192]  # only card8192 matches the pattern
    assert summary.decoded["FCConfigDecoder"] == 1  # decoded, not written


def test_decode_only_spec(spms, tmp_path):
    """``out_stream: ""`` for every decoder: decoded, nothing written (a benchmark mode)."""
    summary = build_raw(
        spms,
        tmp_path / "none.lh5",
        out_spec={"*": {"{name}": {"key_list": ["*"], "out_stream": ""}}},
    )
    assert summary.outputs == [] and not (tmp_path / "none.lh5").exists()
    assert summary.decoded == {"FCConfigDecoder": 1, "FCEventDecoder": 300, "FCStatusDecoder": 2}


def test_router_rules():
    r = Router(
        {
            "D": {
                "a{key}": {"key_list": [1, "x*", [10, 12]]},
                "b": {"key_list": [11, "*"], "out_stream": "f.lh5:/g"},
            }
        },
        default_file="def.lh5",
    )
    assert r.destination("D", 1).name == "a1" and r.destination("D", 1).file == "def.lh5"
    assert r.destination("D", "xyz").name == "axyz"
    assert r.destination("D", 10).name == "a10"
    assert r.destination("D", 11) == r.destination("D", 99)  # last listing wins; then "*"
    assert r.destination("D", 11).file == "f.lh5" and r.destination("D", 11).name == "g/b"
    assert r.destination("Other", 1) is None  # no "*" decoder: dropped, as in daq2lh5
    with pytest.raises(ValueError, match="key_list"):
        Router({"D": {"a": {}}}, default_file="x")


def test_format_detection(tmp_path):
    """Formats are recognised from content; only FlashCam FCIO has a decoder so far."""
    fc = tmp_path / "run.dat"
    fc.write_bytes(E.protocol_header() + E.config(adcs=1, eventsamples=2))
    assert detect_format(fc).name == "FlashCam"
    assert open_stream(fc).format_name == "FlashCam"
    llama = tmp_path / "x.bin"
    llama.write_bytes(np.uint32(0x4972414C).tobytes() + bytes(60))
    assert detect_format(llama).name == "LlamaDaq"
    with pytest.raises(ValueError, match="length_econf is 0"):  # a llamaDAQ decoder read it
        build_raw(llama, tmp_path / "x.lh5")
    orca = tmp_path / "x.orca"
    orca.write_bytes(np.array([40, 100], "<u4").tobytes() + b"<?xml version" + bytes(20))
    assert detect_format(orca).name == "ORCA"


def test_cli_build(spms, testdata_dir, tmp_path):
    from pygama_ak.cli.raw import app as raw_app

    root = typer.Typer()
    root.add_typer(raw_app, name="raw")

    @root.command()
    def other() -> None:  # a second command keeps "raw" a sub-command
        pass

    runner = CliRunner()
    res = runner.invoke(
        root, ["raw", "build", str(spms), "--outdir", str(tmp_path / "o"), "--compression", "lzf"]
    )
    assert res.exit_code == 0, res.output
    assert "FCEvent" in res.output and "300" in res.output and "SparseEvent" in res.output
    with h5py.File(tmp_path / "o" / f"{SPMS}.lh5") as f:
        assert f["FCEvent/waveform/values"].compression == "lzf"
    res = runner.invoke(root, ["raw", "build", str(spms), "--outdir", str(tmp_path / "o")])
    assert res.exit_code == 1 and "overwrite" in res.output
    p06 = testdata_dir / "fcio" / "l200-p06-r007-cal-20230725T202227Z.fcio"
    res = runner.invoke(
        root, ["raw", "build", str(p06), "-o", str(tmp_path / "p06.lh5"), "--compression", "none"]
    )
    assert res.exit_code == 1 and "truncated" in res.output and "4032328" in res.output
    assert len(read(tmp_path / "p06.lh5", "FCEvent")) == 246
    res = runner.invoke(
        root,
        [
            "raw",
            "build",
            str(p06),
            "-o",
            str(tmp_path / "p06.lh5"),
            "--overwrite",
            "--allow-truncated",
            "--compression",
            "none",
        ],
    )
    assert res.exit_code == 0, res.output
