"""The ``pygama-ak`` command line: fast start-up, ``lh5 ls`` (tree, links, detail) and
``lh5 export`` (Parquet equal to ``read()``, no silent overwrite, clear errors)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
from typer.testing import CliRunner

from pygama_ak.cli.app import app

REPO = Path(__file__).resolve().parent.parent
RAW = Path("lh5/prod-ref-l200/generated/tier/raw/cal")
P03 = RAW / "p03/r001/l200-p03-r001-cal-20230318T012144Z-tier_raw.lh5"
P14 = RAW / "p14/r005/l200-p14-r004-cal-20250606T010224Z-tier_raw.lh5"
HEAVY = ("numba", "polars", "awkward", "h5py", "pyarrow", "numpy")

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture
def p03(testdata_dir: Path) -> Path:
    return testdata_dir / P03


@pytest.fixture
def p14(testdata_dir: Path) -> Path:
    return testdata_dir / P14


@pytest.fixture
def linked(tmp_path: Path) -> Path:
    """A small LH5 file with soft, dangling, external and cyclic links and an empty group
    (no file of the test data has soft links)."""
    path = tmp_path / "links.lh5"
    with h5py.File(path, "w") as f:
        stp = f.create_group("stp")
        stp.attrs["datatype"] = "struct{det1}"
        det = stp.create_group("det1")
        det.attrs["datatype"] = "table{edep}"
        edep = det.create_dataset("edep", data=np.arange(5.0), chunks=(5,), compression="gzip",
                                  compression_opts=6, shuffle=True)
        edep.attrs["datatype"] = "array<1>{real}"
        edep.attrs["units"] = "keV"
        uid = stp.create_group("__by_uid__")
        uid["det001"] = h5py.SoftLink("/stp/det1")
        uid["loop"] = h5py.SoftLink("/stp/__by_uid__")  # a soft link to its own parent
        uid["dangling"] = h5py.SoftLink("/nowhere")
        uid["ext"] = h5py.ExternalLink("other.lh5", "/x")
        det["back"] = stp  # a hard link to an ancestor
        f.create_group("empty")
        f.create_dataset("nodt", data=[1, 2])
    return path


# ----------------------------------------------------------------------------- start-up
def test_help_lists_the_commands():
    result = run("--help")
    assert result.exit_code == 0, result.output
    assert "lh5" in result.output and "version" in result.output
    result = run("lh5", "--help")
    assert result.exit_code == 0, result.output
    assert "ls" in result.output and "export" in result.output


def test_import_and_help_load_no_heavy_library():
    code = (
        "import sys\n"
        "import pygama_ak.cli.app as m\n"
        f"heavy = {HEAVY!r}\n"
        "print('import:', [h for h in heavy if h in sys.modules])\n"
        "from typer.testing import CliRunner\n"
        "for args in (['--help'], ['lh5', 'ls', '--help'], ['lh5', 'export', '--help']):\n"
        "    assert CliRunner().invoke(m.app, args).exit_code == 0\n"
        "print('help:', [h for h in heavy if h in sys.modules])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == ["import: []", "help: []"], out.stdout


def test_version():
    result = run("version")
    assert result.exit_code == 0
    assert result.output.startswith("pygama-ak ")
    assert run("--version").output == result.output


# ----------------------------------------------------------------------------- lh5 ls
def test_ls_lists_objects_and_datatypes(p03: Path):
    result = run("lh5", "ls", p03)
    assert result.exit_code == 0, result.output
    out = result.output
    assert "\x1b[" not in out  # no ANSI codes when not a terminal
    lines = out.splitlines()
    assert lines[0] == "/ · HDF5 group"
    assert "├── ch1084803 · HDF5 group" in lines
    assert any(line.endswith("raw · table{packet_id,eventnumber,timestamp,runtime,numtraces,"
                             "tracelist,baseline,daqenergy,channel,ts_pps,ts_ticks,ts_maxticks,"
                             "mu_offset_sec,mu_offset_usec,to_master_sec,delta_mu_usec,"
                             "abs_delta_mu_usec,to_start_sec,to_start_usec,dr_start_pps,"
                             "dr_start_ticks,dr_stop_pps,dr_stop_ticks,dr_maxticks,deadtime,"
                             "waveform,event_type,fcid,crate,slot,board_id,fc_input}")
               for line in lines)
    assert any(line.endswith("── waveform · table{t0,dt,values}") for line in lines)
    assert any(line.endswith("── values · array_of_equalsized_arrays<1,1>{real}") for line in lines)
    assert any(line.endswith("── tracelist · array<1>{array<1>{real}}") for line in lines)
    assert any(line.startswith("    └── raw · table{") for line in lines)  # last channel
    assert lines[-1] == "        └── fc_input · array<1>{real}"
    # children of a table come in datatype order: packet_id first, fc_input last
    raw = [line for line in lines if "── packet_id ·" in line or "── fc_input ·" in line]
    assert "packet_id" in raw[0] and "fc_input" in raw[1]


def test_tree_is_machine_readable(p03: Path):
    from pygama_ak.lh5.browse import tree

    entries = {e["path"]: e for e in tree(p03)}
    assert entries["/"]["depth"] == 0 and entries["/"]["datatype"] is None
    assert entries["/ch1084803"]["kind"] == "group"
    values = entries["/ch1084803/raw/waveform/values"]
    assert values["datatype"] == "array_of_equalsized_arrays<1,1>{real}"
    assert values["kind"] == "dataset" and values["depth"] == 4
    assert values["dtype"] == "uint16" and values["shape"] == (10, 8192)
    assert values["filters"] == [] and values["n_rows"] == 10
    assert entries["/ch1084803/raw"]["n_rows"] == 10
    assert entries["/ch1084803/raw/waveform/dt"]["attrs"] == {"units": "ns"}
    only_channels = tree(p03, "/", depth=1, detail=False)
    assert [e["path"] for e in only_channels] == ["/", "/ch1084803", "/ch1084804", "/ch1121600"]
    sub = tree(p03, "ch1084803/raw/waveform", detail=False)
    assert [e["name"] for e in sub] == ["waveform", "t0", "dt", "values"]


def test_ls_hard_links_listed_under_every_name(p14: Path):
    from pygama_ak.lh5.browse import tree

    result = run("lh5", "ls", p14)
    assert result.exit_code == 0, result.output
    out = result.output
    assert "├── ch1105600 · struct{raw}" in out
    assert "└── raw · struct{V07302A,V00048A,V03421A,B00079C,B00000D,V00050B}" in out
    assert "(hard link, also /raw/V07302A)" in out
    entries = {e["path"]: e for e in tree(p14, detail=False)}
    linked = entries["/raw/V07302A"]
    assert linked["datatype"].startswith("table{abs_delta_mu_usec,baseline,")
    assert linked["hard_links"] == 2
    assert len(linked["also"]) == 1 and linked["also"][0].startswith("/ch")
    same = linked["also"][0]
    # the whole table is listed again under its second name
    below = sorted(p[len(same):] for p in entries if p.startswith(same + "/"))
    assert below and below == sorted(p[len("/raw/V07302A"):] for p in entries
                                     if p.startswith("/raw/V07302A/"))


def test_ls_detail_shows_filters_and_rows(p14: Path):
    result = run("lh5", "ls", p14, "ch1105600/raw", "--detail")
    assert result.exit_code == 0, result.output
    out = result.output
    assert "dtype=uint16, shape=(1,)" in out
    assert "filters=shuffle,zstd(3)" in out
    assert "filters=shuffle\n" in out  # encoded waveform bytes: shuffle only
    assert "rows=1" in out and "chunks=1×(1,)" in out
    assert out.splitlines()[0].startswith("/ch1105600/raw · table{")


def test_ls_attrs_and_depth(p03: Path):
    result = run("lh5", "ls", p03, "ch1084803/raw/waveform", "-a")
    assert result.exit_code == 0, result.output
    assert "── t0 · array<1>{real} ── {units: 'ns'}" in result.output
    assert "datatype:" not in result.output
    result = run("lh5", "ls", p03, "--depth", "1")
    assert result.output.splitlines() == [
        "/ · HDF5 group",
        "├── ch1084803 · HDF5 group",
        "├── ch1084804 · HDF5 group",
        "└── ch1121600 · HDF5 group",
    ]


def test_ls_links_are_shown_not_followed(linked: Path):
    from pygama_ak.lh5.browse import filters_of, tree

    result = run("lh5", "ls", linked, "-d")
    assert result.exit_code == 0, result.output
    out = result.output
    for line in ("det001 -> /stp/det1", "loop -> /stp/__by_uid__", "dangling -> /nowhere",
                 "ext -> other.lh5:/x", "nodt · no datatype", "__by_uid__ · HDF5 group",
                 "back · struct{det1} (hard link, also /stp) (hard link to an ancestor, not expanded)"):
        assert line in out, line
    assert "├── empty · HDF5 group\n│   └── empty\n" in out
    assert "filters=shuffle,deflate(6)" in out
    entries = {e["path"]: e for e in tree(linked)}
    assert entries["/stp/__by_uid__/det001"]["kind"] == "soft_link"
    assert entries["/stp/__by_uid__/ext"]["kind"] == "external_link"
    assert entries["/stp/det1/back"]["cycle"] is True
    assert not any(p.startswith("/stp/det1/back/") for p in entries)
    assert not any(p.startswith("/stp/__by_uid__/det001/") for p in entries)
    with h5py.File(linked, "r") as f:
        assert filters_of(f["stp/det1/edep"]) == ["shuffle", "deflate(6)"]
    result = run("lh5", "ls", linked, "stp/__by_uid__/dangling")
    assert result.exit_code == 1 and "/stp/__by_uid__/dangling" in result.output
    assert result.output.startswith("error: ") and "Traceback" not in result.output
    result = run("lh5", "ls", linked, "stp/__by_uid__/det001")  # a link given by name is followed
    assert result.exit_code == 0 and result.output.startswith("/stp/__by_uid__/det001 · table{edep}")


def test_ls_missing_object_and_file(p03: Path, tmp_path: Path):
    result = run("lh5", "ls", p03, "ch999")
    assert result.exit_code == 1
    assert result.output.startswith("error: ")
    assert str(p03) in result.output and "/ch999" in result.output
    assert "Traceback" not in result.output
    result = run("lh5", "ls", tmp_path / "nope.lh5")
    assert result.exit_code == 1
    assert result.output.strip() == f"error: {tmp_path / 'nope.lh5'}: no such file"


# ----------------------------------------------------------------------------- lh5 export
def test_export_equals_read(p03: Path, tmp_path: Path):
    import awkward as ak
    import polars as pl
    import pyarrow as pa
    import pyarrow.parquet as pq
    from helpers import assert_same

    from pygama_ak.lh5 import read

    out = tmp_path / "raw.parquet"
    result = run("lh5", "export", p03, "ch1084803/raw", out)
    assert result.exit_code == 0, result.output
    assert "wrote 10 rows × 32 columns" in result.output
    expected = read(p03, "ch1084803/raw")
    table = pq.read_table(out)
    assert table.column_names == list(expected.fields)
    schema = table.schema
    assert schema.field("timestamp").metadata[b"units"] == b"s"
    assert pa.types.is_large_list(schema.field("tracelist").type)
    values = schema.field("waveform").type.field("values").type
    assert pa.types.is_fixed_size_list(values) and values.list_size == 8192
    assert values.value_type == pa.uint16()
    assert_same(ak.from_arrow(table), expected, "parquet")
    frame = pl.read_parquet(out)
    assert frame.shape == (10, 32)
    assert frame["packet_id"].to_list() == expected["packet_id"].to_list()
    assert frame["waveform"].struct.field("values").to_numpy().tolist() == \
        expected["waveform", "values"].to_list()
    assert [p.name for p in tmp_path.iterdir()] == ["raw.parquet"]  # no temp file left


def test_export_fields_and_overwrite(p03: Path, tmp_path: Path):
    import pyarrow.parquet as pq

    out = tmp_path / "sel.parquet"
    result = run("lh5", "export", p03, "ch1084803/raw", out, "--fields",
                 "timestamp, waveform/values", "--compression", "none")
    assert result.exit_code == 0, result.output
    table = pq.read_table(out)
    assert table.column_names == ["timestamp", "waveform"]
    assert [f.name for f in table.schema.field("waveform").type] == ["values"]
    before = out.read_bytes()
    result = run("lh5", "export", p03, "ch1084804/raw", out)
    assert result.exit_code == 1
    assert "exists" in result.output and "--overwrite" in result.output
    assert out.read_bytes() == before
    result = run("lh5", "export", p03, "ch1084804/raw", out, "--overwrite")
    assert result.exit_code == 0, result.output
    assert pq.read_table(out).num_columns == 32
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sel.parquet"]


def test_export_errors_are_one_line(p03: Path, linked: Path, tmp_path: Path):
    out = tmp_path / "x.parquet"
    result = run("lh5", "export", p03, "ch999/raw", out)
    assert result.exit_code == 1
    assert result.output.startswith("error: ") and len(result.output.strip().splitlines()) == 1
    assert str(p03) in result.output and "ch999/raw" in result.output
    result = run("lh5", "export", p03, "ch1084803/raw", out, "--fields", "nope")
    assert result.exit_code == 1 and "nope" in result.output
    result = run("lh5", "export", linked, "stp", out)
    assert result.exit_code == 1 and "struct" in result.output
    assert not out.exists()
    result = run("lh5", "export", p03, "ch1084803/raw", tmp_path / "no" / "x.parquet")
    assert result.exit_code == 1 and "no such folder" in result.output
