"""Awkward ⇄ Arrow ⇄ Polars: types, zero-copy buffers, LH5 metadata round trips."""

from __future__ import annotations

import json

import awkward as ak
import numpy as np
import polars as pl
import pyarrow as pa
import pytest
from helpers import assert_same

from pygama_ak.lh5 import read, write
from pygama_ak.lh5.arrow import from_arrow, from_polars, to_arrow, to_polars
from pygama_ak.lh5.read import tables_in

RAW = "lh5/prod-ref-l200/generated/tier/raw/cal/p03/r001/l200-p03-r001-cal-20230318T012144Z-tier_raw.lh5"
DSP = "lh5/prod-ref-l200/generated/tier/dsp/cal/p03/r000/l200-p03-r000-cal-20230311T235840Z-tier_dsp.lh5"
TCM = "lh5/prod-ref-l200/generated/tier/tcm/cal/p03/r001/l200-p03-r001-cal-20230318T012144Z-tier_tcm.lh5"
PSP = "lh5/l200-p03-r000-phy-20230312T055349Z-tier_psp.lh5"


def _real(testdata_dir, rel: str):
    path = testdata_dir / rel
    if not path.exists():
        pytest.skip(f"{path} not in the test data")
    return path


# ----------------------------------------------------------------------------- a built array
def _buffers() -> dict[str, np.ndarray]:
    return {
        "energy": np.linspace(0.0, 10.0, 5),
        "offsets": np.array([0, 2, 2, 5, 6, 9], dtype=np.int64),
        "hits": np.arange(9, dtype=np.float32),
        "wf": np.arange(5 * 4, dtype=np.uint16),
        "flag": np.array([True, False, True, True, False]),
    }


def _table(b: dict[str, np.ndarray]) -> ak.Array:
    """A table as read.py builds it: numbers, VoV, waveform sub-table, bool; with parameters."""
    C = ak.contents
    vov = C.ListOffsetArray(ak.index.Index64(b["offsets"]),
                            C.NumpyArray(b["hits"], parameters={"datatype": "array<1>{real}",
                                                                "units": "keV"}),
                            parameters={"datatype": "array<1>{array<1>{real}}"})
    waveform = C.RecordArray(
        [C.NumpyArray(np.zeros(5, np.float32), parameters={"datatype": "array<1>{real}",
                                                           "units": "ns"}),
         C.RegularArray(C.NumpyArray(b["wf"]), 4,
                        parameters={"datatype": "array_of_equalsized_arrays<1,1>{real}"})],
        ["t0", "values"], parameters={"datatype": "table{t0,values}"})
    layout = C.RecordArray(
        [C.NumpyArray(b["energy"], parameters={"datatype": "array<1>{real}", "units": "keV",
                                               "attrs": {"description": "calibrated", "n": 3}}),
         vov, waveform, C.NumpyArray(b["flag"], parameters={"datatype": "array<1>{bool}"})],
        ["energy", "hits", "waveform", "flag"],
        parameters={"datatype": "table{energy,hits,waveform,flag}",
                    "attrs": {"hash_func": "\\d+"}})
    return ak.Array(layout)


def _arrow_values(arr: pa.Array, dtype) -> np.ndarray:
    """The data buffer of a primitive Arrow array as numpy (no copy)."""
    return np.frombuffer(arr.buffers()[1], dtype=dtype)


def test_arrow_types_and_metadata():
    table = to_arrow(_table(_buffers()))
    assert isinstance(table, pa.Table)
    s = table.schema
    assert s.field("energy").type == pa.float64()
    assert pa.types.is_large_list(s.field("hits").type)
    wf = s.field("waveform").type
    assert pa.types.is_struct(wf)
    assert wf.field("values").type == pa.list_(pa.field("item", pa.uint16(), False), 4)
    assert s.field("flag").type == pa.bool_()
    meta = s.field("energy").metadata
    assert meta[b"units"] == b"keV" and meta[b"datatype"] == b"array<1>{real}"
    assert json.loads(meta[b"attrs"]) == {"description": "calibrated", "n": 3}
    assert wf.field("t0").metadata[b"units"] == b"ns"
    assert s.field("hits").type.value_field.metadata[b"units"] == b"keV"  # on the VoV content
    assert s.metadata[b"datatype"] == b"table{energy,hits,waveform,flag}"
    assert json.loads(s.metadata[b"attrs"]) == {"hash_func": "\\d+"}


def test_arrow_round_trip_keeps_parameters():
    a = _table(_buffers())
    b = from_arrow(to_arrow(a))
    assert b.layout.form == a.layout.form  # same types and the same parameters, node by node
    assert ak.parameters(b["energy"])["attrs"] == {"description": "calibrated", "n": 3}
    assert ak.to_list(b) == ak.to_list(a)


def test_to_arrow_is_zero_copy():
    """A float column, a list column's offsets and flat values and the waveform samples keep
    the numpy buffers they were built on; booleans are the documented copy."""
    b = _buffers()
    table = to_arrow(_table(b))
    energy = table.column("energy").chunk(0)
    assert np.shares_memory(_arrow_values(energy, np.float64), b["energy"])
    hits = table.column("hits").chunk(0)
    assert np.shares_memory(_arrow_values(hits.values, np.float32), b["hits"])
    assert np.shares_memory(np.frombuffer(hits.buffers()[1], np.int64), b["offsets"])
    values = table.column("waveform").chunk(0).field("values")
    assert np.shares_memory(_arrow_values(values.values, np.uint16), b["wf"])
    flag = table.column("flag").chunk(0)
    assert flag.to_pylist() == b["flag"].tolist()  # a packed-bit copy, values unchanged


def test_from_arrow_is_zero_copy():
    b = _buffers()
    back = ak.to_layout(from_arrow(to_arrow(_table(b))))
    assert np.shares_memory(back.content("energy").data, b["energy"])
    assert np.shares_memory(back.content("hits").content.data, b["hits"])
    assert np.shares_memory(back.content("waveform").content("values").content.data, b["wf"])


def test_polars_is_zero_copy():
    """to_polars → Series.to_numpy and from_polars → Awkward share the original buffers."""
    b = _buffers()
    df = to_polars(_table(b))
    assert df.schema == pl.Schema({
        "energy": pl.Float64, "hits": pl.List(pl.Float32),
        "waveform": pl.Struct({"t0": pl.Float32, "values": pl.Array(pl.UInt16, 4)}),
        "flag": pl.Boolean})
    assert np.shares_memory(df["energy"].to_numpy(allow_copy=False), b["energy"])
    hits = df["hits"].to_arrow()
    assert np.shares_memory(_arrow_values(hits.values, np.float32), b["hits"])
    values = df["waveform"].struct.field("values").to_numpy(allow_copy=False)
    assert values.shape == (5, 4) and np.shares_memory(values, b["wf"])
    back = ak.to_layout(from_polars(df))
    assert np.shares_memory(back.content("energy").data, b["energy"])
    assert np.shares_memory(back.content("hits").content.data, b["hits"])
    assert np.shares_memory(back.content("waveform").content("values").content.data, b["wf"])


def test_polars_round_trip_values_and_types():
    a = _table(_buffers())
    back = from_polars(to_polars(a))
    assert_same(a, back)
    assert str(ak.without_parameters(back).type) == str(ak.without_parameters(a).type)  # no options


def test_from_polars_plain_frame_with_nulls(tmp_path):
    df = pl.DataFrame({"x": [1.0, 2.0, 3.0], "n": [1, None, 3], "s": ["a", "bc", ""],
                       "l": [[1, 2], [], [3]], "st": [{"a": 1, "b": [1.5]}] * 3})
    a = from_polars(df)
    assert a.fields == ["x", "n", "s", "l", "st"]
    assert str(a.type) == ("3 * {x: float64, n: ?int64, s: string, l: var * int64, "
                           "st: {a: int64, b: var * float64}}")  # options only where missing
    assert ak.to_list(a.n) == [1, None, 3]
    write(a[["x", "s", "l", "st"]], tmp_path / "f.lh5", "t")  # plain frames go to LH5 too
    assert ak.to_list(read(tmp_path / "f.lh5", "t").l) == [[1, 2], [], [3]]


def test_non_record_arrays():
    b = _buffers()
    vov = _table(b)["hits"]
    arr = to_arrow(vov)
    assert isinstance(arr, pa.Array) and pa.types.is_large_list(arr.type)
    assert arr.type.value_field.metadata[b"units"] == b"keV"
    back = from_arrow(arr)
    assert ak.to_list(back) == ak.to_list(vov)
    assert ak.parameters(back.layout.content)["units"] == "keV"
    series = to_polars(vov)
    assert isinstance(series, pl.Series) and series.dtype == pl.List(pl.Float32)
    chunked = pa.chunked_array([arr, arr])
    assert len(from_arrow(chunked)) == 2 * len(vov)


@pytest.mark.testdata
@pytest.mark.parametrize("rel", [RAW, DSP, TCM, PSP])
def test_real_files_round_trip(testdata_dir, rel):
    path = _real(testdata_dir, rel)
    for name in tables_in(path):
        a = read(path, name)
        table = to_arrow(a)
        assert from_arrow(table).layout.form == a.layout.form, name
        assert_same(a, from_arrow(table), name)
        assert_same(a, from_polars(to_polars(a)), name)


@pytest.mark.testdata
def test_real_raw_types(testdata_dir):
    a = read(_real(testdata_dir, RAW), "ch1084803/raw")
    schema = to_arrow(a).schema
    assert pa.types.is_large_list(schema.field("tracelist").type)
    values = schema.field("waveform").type.field("values")
    assert pa.types.is_fixed_size_list(values.type) and values.type.list_size == 8192
    assert values.metadata[b"datatype"] == b"array_of_equalsized_arrays<1,1>{real}"
    assert schema.field("timestamp").metadata[b"units"] == b"s"
    df = to_polars(a)
    assert df.schema["waveform"] == pl.Struct(
        {"t0": pl.Float32, "dt": pl.Float32, "values": pl.Array(pl.UInt16, 8192)})
    wf = df["waveform"].struct.field("values").to_numpy(allow_copy=False)
    assert np.shares_memory(wf, ak.to_layout(a).content("waveform").content("values").content.data)


@pytest.mark.testdata
def test_real_tcm_table_attrs(testdata_dir):
    a = read(_real(testdata_dir, TCM), "hardware_tcm_1")
    back = from_arrow(to_arrow(a))
    assert ak.parameters(back)["attrs"]["hash_func"] == ak.parameters(a)["attrs"]["hash_func"]
    assert ak.parameters(back)["datatype"] == "table{table_key,row_in_table}"
