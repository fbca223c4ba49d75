"""Writing: round trips of every datatype, lgdo's on-disk conventions, modes and their errors."""

from __future__ import annotations

import importlib
import os

import awkward as ak
import h5py
import numpy as np
import pytest
from conftest import lh5_files
from helpers import assert_same
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from pygama_ak.lh5 import read, write
from pygama_ak.lh5.errors import LH5WriteError

FILES = lh5_files()


def _attr(obj, key):
    value = obj.attrs[key]
    return value.decode() if isinstance(value, bytes) else value


# ----------------------------------------------------------------------------- real files
@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_real_files_round_trip(path, tmp_path, testdata_dir):
    """Every object of every real file, written by us and read back, is unchanged."""
    out = tmp_path / "copy.lh5"
    with h5py.File(path) as f:
        keys = list(f.keys())
    for key in keys:
        value = read(path, key)
        write(value, out, key)
        assert_same(value, read(out, key), f"{path.name}:{key}")


# ----------------------------------------------------------------------------- conventions
def test_lgdo_on_disk_conventions(tmp_path):
    path = tmp_path / "t.lh5"
    tbl = ak.Array({
        "zeta": np.arange(5, dtype=np.float32),
        "alpha": np.array([True, False, True, True, False]),
        "name": ["a", "bb", "", "dddd", "e"],
        "hits": [[1, 2], [], [3], [4, 5, 6], [7]],
        "wf": np.arange(50, dtype=np.uint16).reshape(5, 10),
    })
    write(tbl, path, "ch001/raw")
    with h5py.File(path) as f:
        grp = f["ch001/raw"]
        assert _attr(grp, "datatype") == "table{alpha,hits,name,wf,zeta}"  # sorted like lgdo
        assert _attr(f["ch001"], "datatype") == "struct{raw}"
        # attributes are variable-length ASCII strings, as lgdo >= 2024 writes them
        tid = grp.attrs.get_id("datatype").get_type()
        assert tid.is_variable_str() and tid.get_cset() == h5py.h5t.CSET_ASCII
        assert grp["alpha"].dtype == np.uint8 and _attr(grp["alpha"], "datatype") == "array<1>{bool}"
        assert grp["name"].dtype == np.dtype("S4") and _attr(grp["name"], "datatype") == "array<1>{string}"
        assert _attr(grp["hits"], "datatype") == "array<1>{array<1>{real}}"
        assert list(grp["hits/cumulative_length"][...]) == [2, 2, 3, 6, 7]
        assert _attr(grp["wf"], "datatype") == "array_of_equalsized_arrays<1,1>{real}"
        for ds in (grp["zeta"], grp["wf"], grp["hits/flattened_data"]):
            assert ds.maxshape[0] is None
            assert ds.compression == "gzip" and ds.compression_opts == 4 and ds.shuffle
        assert grp["wf"].chunks[1] == 10  # whole waveforms per chunk
        assert grp["zeta"].chunks[0] > 5  # not frozen by the 5-row first write
    back = read(path, "ch001/raw")
    assert back.fields == ["alpha", "hits", "name", "wf", "zeta"]
    assert ak.to_list(back.name) == ["a", "bb", "", "dddd", "e"]
    assert back.alpha.type.content.primitive == "bool"


@pytest.mark.parametrize(
    ("setting", "check"),
    [
        ("lzf", lambda ds: ds.compression == "lzf"),
        (None, lambda ds: ds.compression is None and not ds.shuffle),
        ("zstd", lambda ds: 32015 in _filter_ids(ds)),
        ("lz4", lambda ds: 32004 in _filter_ids(ds)),
        ("bitshuffle", lambda ds: 32008 in _filter_ids(ds)),
        ({"compression": "gzip", "compression_opts": 9}, lambda ds: ds.compression_opts == 9),
    ],
)
def test_compression_options(tmp_path, setting, check):
    path = tmp_path / "c.lh5"
    data = ak.Array({"x": np.arange(10_000, dtype=np.int32) % 7})
    write(data, path, "t", compression=setting)
    with h5py.File(path) as f:
        assert check(f["t/x"])
    assert ak.to_list(read(path, "t").x) == ak.to_list(data.x)


def _filter_ids(ds) -> list[int]:
    plist = ds.id.get_create_plist()
    return [plist.get_filter(i)[0] for i in range(plist.get_nfilters())]


@pytest.mark.parametrize("codec", ["radware_sigcompress", "uleb128_zigzag_diff"])
def test_codec_layout_matches_lgdo(tmp_path, codec):
    path = tmp_path / "w.lh5"
    rng = np.random.default_rng(1)
    wf = (15000 + rng.integers(-20, 20, size=(7, 300))).astype(np.uint16)
    table = ak.Array({"t0": np.zeros(7, np.float32), "dt": np.full(7, 16, np.float32), "values": wf})
    write(table, path, "wf", compression={"values": codec})
    with h5py.File(path) as f:
        grp = f["wf/values"]
        assert _attr(grp, "datatype") == "array_of_encoded_equalsized_arrays<1,1>{real}"
        assert _attr(grp, "codec") == codec
        if codec == "radware_sigcompress":
            assert grp.attrs["codec_shift"] == -32768
        assert grp["decoded_size"].shape == () and grp["decoded_size"][()] == 300
        assert grp["encoded_data/flattened_data"].dtype == np.uint8
        assert grp["encoded_data/flattened_data"].compression is None
        assert grp["encoded_data/cumulative_length"].dtype == np.uint32
        if codec == "radware_sigcompress":  # uint16 is what readers assume for shift -32768
            assert "dtype" not in grp.attrs
        else:  # uleb128 is read as uint32 (presummed) unless told otherwise
            assert _attr(grp, "dtype") == "uint16"
    back = read(path, "wf")
    assert ak.to_numpy(back["values"]).dtype == np.uint16
    np.testing.assert_array_equal(ak.to_numpy(back["values"]), wf)
    # rewriting what we read keeps the codec
    write(back, path, "copy")
    with h5py.File(path) as f:
        assert _attr(f["copy/values"], "codec") == codec


def test_variable_length_encoded_waveforms(tmp_path):
    path = tmp_path / "v.lh5"
    rows = [np.arange(n, dtype=np.int16) * np.int16((-1) ** n) for n in (0, 1, 5, 300, 77)]
    values = ak.unflatten(np.concatenate(rows), [len(r) for r in rows])
    arr = ak.zip({"values": values}, depth_limit=1)
    for codec in ("radware_sigcompress", "uleb128_zigzag_diff"):
        write(arr, path, codec, compression={"values": codec})
        with h5py.File(path) as f:
            assert _attr(f[f"{codec}/values"], "datatype") == "array<1>{encoded_array<1>{real}}"
        back = read(path, codec)
        assert ak.to_list(back["values"]) == [r.tolist() for r in rows]
        assert ak.flatten(back["values"]).type.content.primitive == "int16"


# ----------------------------------------------------------------------------- modes
def test_write_safe_refuses_and_overwrite_replaces(tmp_path):
    path = tmp_path / "m.lh5"
    write(ak.Array({"a": [1, 2]}), path, "t")
    before = path.read_bytes()
    with pytest.raises(LH5WriteError, match=r"m.lh5:/t: object exists"):
        write(ak.Array({"a": [3]}), path, "t")
    assert path.read_bytes() == before
    write(ak.Array({"b": [3.5]}), path, "t", mode="overwrite")
    assert read(path, "t").fields == ["b"]


def test_append_rows_and_clash(tmp_path):
    path = tmp_path / "a.lh5"
    first = ak.Array({"e": [1.0, 2.0], "h": [[1], [2, 3]], "s": ["x", "yy"]})
    second = ak.Array({"e": [3.0], "h": [[4, 5, 6]], "s": ["z"]})
    write(first, path, "t", mode="append")
    write(second, path, "t", mode="append")
    both = read(path, "t")
    assert ak.to_list(both.h) == [[1], [2, 3], [4, 5, 6]]
    assert ak.to_list(both.e) == [1.0, 2.0, 3.0]
    with pytest.raises(LH5WriteError, match="cannot append a table with fields"):
        write(ak.Array({"other": [1]}), path, "t", mode="append")
    with pytest.raises(LH5WriteError, match="do not fit"):
        write(ak.Array({"e": [1.0], "h": [[1]], "s": ["much longer"]}), path, "t", mode="append")


def test_append_column(tmp_path):
    path = tmp_path / "c.lh5"
    write(ak.Array({"a": [1, 2, 3]}), path, "t")
    write(ak.Array({"b": [4.0, 5.0, 6.0]}), path, "t", mode="append_column")
    back = read(path, "t")
    assert back.fields == ["a", "b"] and ak.to_list(back.b) == [4.0, 5.0, 6.0]
    with pytest.raises(LH5WriteError, match="field exists"):
        write(ak.Array({"a": [0, 0, 0]}), path, "t", mode="append_column")
    with pytest.raises(LH5WriteError, match="2 rows, table has 3"):
        write(ak.Array({"c": [0, 0]}), path, "t", mode="append_column")


def test_overwrite_file_is_atomic(tmp_path, monkeypatch):
    path = tmp_path / "f.lh5"
    write(ak.Array({"a": [1]}), path, "keep")
    before = path.read_bytes()

    class Boom(RuntimeError):
        pass

    writer = importlib.import_module("pygama_ak.lh5.write")

    def explode(*args, **kwargs):
        raise Boom("disk full")

    monkeypatch.setattr(writer._Writer, "table", explode)
    with pytest.raises(Boom):
        write(ak.Array({"b": [2]}), path, "new", mode="overwrite_file")
    assert path.read_bytes() == before  # untouched
    assert [p.name for p in tmp_path.iterdir()] == ["f.lh5"]  # no temp file left
    with pytest.raises(Boom):
        write(ak.Array({"b": [2]}), tmp_path / "g.lh5", "new")
    assert not (tmp_path / "g.lh5").exists()


def test_refuses_non_hdf5_target(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("precious")
    with pytest.raises(LH5WriteError, match="not an HDF5 file"):
        write(ak.Array({"a": [1]}), path, "t")
    assert path.read_text() == "precious"


def test_missing_values_are_refused(tmp_path):
    with pytest.raises(LH5WriteError, match=r"/t/a: missing values"):
        write(ak.Array({"a": [1, None, 3]}), tmp_path / "n.lh5", "t")


# ----------------------------------------------------------------------------- structs, scalars
def test_structs_scalars_and_histograms(tmp_path, testdata_dir):
    path = tmp_path / "s.lh5"
    rec = ak.Record({"run": 42, "ok": True, "label": "cal", "tbl": ak.Array({"x": [1.0, 2.0]}),
                     "meta": {"tau": 400.0}})
    write(rec, path, "info")
    back = read(path, "info")
    assert back.run == 42 and back.ok is np.True_ or back.ok is True
    assert back.label == "cal" and back.meta.tau == 400.0
    assert ak.to_list(back.tbl.x) == [1.0, 2.0]
    with h5py.File(path) as f:
        assert _attr(f["info"], "datatype") == "struct{label,meta,ok,run,tbl}"
        assert _attr(f["info/run"], "datatype") == "real" and f["info/run"].shape == ()
        assert _attr(f["info/tbl"], "datatype") == "table{x}"
    hist_file = testdata_dir / "lh5/lgdo-histograms.lh5"
    hist = read(hist_file, "test_histogram_variable")
    write(hist, path, "h")
    assert_same(hist, read(path, "h"))
    write("plain string", path, "note")
    assert read(path, "note") == "plain string"


# ----------------------------------------------------------------------------- hypothesis
_dtypes = st.sampled_from(["int8", "int16", "int32", "int64", "uint8", "uint16", "uint32",
                           "uint64", "float32", "float64", "bool"])


@st.composite
def tables(draw):
    rows = draw(st.integers(0, 40))
    n = max(rows, 1)  # generate at least one row so every column has a concrete type
    columns = {}
    for i in range(draw(st.integers(1, 5))):
        kind = draw(st.sampled_from(["flat", "vov", "vovov", "regular", "string", "nested"]))
        dtype = np.dtype(draw(_dtypes))
        elems = hnp.from_dtype(dtype, allow_nan=True, allow_infinity=True)
        name = f"c{i}_{kind}"
        if kind == "flat":
            columns[name] = draw(hnp.arrays(dtype, n, elements=elems))
        elif kind == "regular":
            width = draw(st.integers(1, 6))
            columns[name] = draw(hnp.arrays(dtype, (n, width), elements=elems))
        elif kind == "vov":
            counts = draw(st.lists(st.integers(0, 4), min_size=n, max_size=n))
            flat = draw(hnp.arrays(dtype, sum(counts), elements=elems))
            columns[name] = ak.unflatten(flat, np.asarray(counts, dtype=np.int64))
        elif kind == "vovov":
            outer = draw(st.lists(st.integers(0, 3), min_size=n, max_size=n))
            inner = draw(st.lists(st.integers(0, 3), min_size=sum(outer), max_size=sum(outer)))
            flat = draw(hnp.arrays(dtype, sum(inner), elements=elems))
            columns[name] = ak.unflatten(ak.unflatten(flat, np.asarray(inner, np.int64)),
                                         np.asarray(outer, np.int64))
        elif kind == "string":
            columns[name] = draw(st.lists(st.text(alphabet="abcxyz é", max_size=6), min_size=n,
                                          max_size=n))
        else:
            columns[name] = ak.zip({"a": draw(hnp.arrays(dtype, n, elements=elems)),
                                    "b": np.arange(n, dtype=np.float32)}, depth_limit=1)
    return ak.zip(columns, depth_limit=1)[:rows]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(table=tables(), compression=st.sampled_from(["gzip", None, "lzf", "zstd"]))
def test_hypothesis_round_trip(tmp_path, table, compression):
    path = tmp_path / "h.lh5"
    if path.exists():
        os.remove(path)
    write(table, path, "t", compression=compression)
    assert_same(table, read(path, "t"))
    # appending the same rows doubles them
    write(table, path, "t", mode="append", compression=compression)
    back = read(path, "t")
    assert len(back) == 2 * len(table)
    assert_same(table, back[len(table):])


# ----------------------------------------------------------------------------- threaded gzip
# shuffle+gzip datasets are written through pygama_ak.lh5.deflate: chunks compressed in a
# thread pool (stored blocks for incompressible byte planes, run-length for constant ones)
# and stored with write_direct_chunk under the standard filter pipeline.
def _columns():
    rng = np.random.default_rng(7)
    n = 1_100_001  # several chunks of every dtype (bool: 512 Ki rows), and a partial last one
    return {
        "noise": rng.normal(1000, 10, n),  # random low mantissa bytes: stored planes
        "f4": rng.normal(size=n).astype(np.float32),
        "counter": np.arange(n, dtype=np.int64) // 3,  # constant high bytes: run-length planes
        "key": np.full(n, 1084803, dtype=np.int64),
        "i4": rng.integers(-(2**31), 2**31 - 1, n).astype(np.int32),
        "u2": rng.integers(0, 3, n).astype(np.uint16),
        "flag": rng.random(n) < 0.3,
        "two_d": rng.normal(size=(n // 10, 3)),
    }


@pytest.mark.parametrize("name", list(_columns()))
def test_threaded_gzip_is_plain_hdf5(tmp_path, name):
    """What the pool writes decodes with plain h5py (HDF5's own filters) to the same values,
    under the declared pipeline shuffle + deflate level 4, as lgdo writes it."""
    data = _columns()[name]
    path = tmp_path / "g.lh5"
    write(ak.Array({name: data}), path, "t")
    with h5py.File(path, "r") as f:
        ds = f[f"t/{name}"]
        assert (ds.compression, ds.compression_opts, ds.shuffle) == ("gzip", 4, True)
        assert ds.chunks[0] < len(data) and len(data) % ds.chunks[0]  # partial last chunk
        back = ds[...]
    np.testing.assert_array_equal(back, data.astype(np.uint8) if data.dtype == bool else data)


def test_deflate_chunk_is_a_zlib_stream_of_the_shuffled_bytes():
    import zlib

    from pygama_ak.lh5.deflate import deflate_chunk, shuffle

    rng = np.random.default_rng(3)
    chunks = [rng.normal(size=65536), np.zeros(65536), np.arange(65536, dtype=np.int64),
              rng.integers(0, 255, 200_000).astype(np.uint8), np.array([1.5]),
              np.concatenate([np.zeros(40000), rng.normal(size=40000)])]
    for chunk in chunks:
        raw = shuffle(chunk).tobytes()
        assert zlib.decompress(deflate_chunk(chunk)) == raw
        assert zlib.decompress(deflate_chunk(chunk, level=1)) == raw
    # incompressible planes cost at most ~1 % over zlib's own level 4
    noise = chunks[0]
    assert len(deflate_chunk(noise)) < 1.02 * len(zlib.compress(shuffle(noise).tobytes(), 4))


def test_threaded_append_equals_one_write(tmp_path):
    """Appends in odd pieces (partial chunks at every boundary) give the rows of one write."""
    cols = _columns()
    n = len(cols["noise"])
    table = ak.Array({k: v for k, v in cols.items() if k != "two_d"})
    one, pieces = tmp_path / "one.lh5", tmp_path / "pieces.lh5"
    write(table, one, "t")
    for lo, hi in [(0, 1), (1, 70_000), (70_000, 70_001), (70_001, 650_000), (650_000, n)]:
        write(table[lo:hi], pieces, "t", mode="append")
    with h5py.File(one, "r") as a, h5py.File(pieces, "r") as b:
        for k in table.fields:
            np.testing.assert_array_equal(a[f"t/{k}"][...], b[f"t/{k}"][...])
            assert a[f"t/{k}"].chunks == b[f"t/{k}"].chunks


def test_append_to_a_file_written_by_plain_h5py(tmp_path):
    """An unfinished last chunk written by HDF5 itself is read back and rewritten whole."""
    path = tmp_path / "p.lh5"
    first = np.arange(1000, dtype=np.float64)
    with h5py.File(path, "w") as f:
        grp = f.create_group("t")
        grp.attrs["datatype"] = "table{x}"
        ds = grp.create_dataset("x", data=first, maxshape=(None,), chunks=(256,),
                                compression="gzip", shuffle=True)
        ds.attrs["datatype"] = "array<1>{real}"
    more = np.linspace(0, 1, 777)
    write(ak.Array({"x": more}), path, "t", mode="append")
    np.testing.assert_array_equal(read(path, "t").x.to_numpy(), np.concatenate([first, more]))


def test_empty_tables_and_other_filters_append(tmp_path):
    for compression in ("gzip", None, "lzf"):
        path = tmp_path / f"e-{compression}.lh5"
        empty = ak.Array({"a": np.zeros(0), "v": ak.Array([[1.0]])[:0]})
        write(empty, path, "t", compression=compression)
        assert len(read(path, "t")) == 0
        rows = ak.Array({"a": np.arange(5.0), "v": [[1.0], [], [2.0, 3.0], [4.0], []]})
        write(rows, path, "t", mode="append", compression=compression)
        write(rows, path, "t", mode="append", compression=compression)
        back = read(path, "t")
        assert ak.to_list(back.v) == 2 * ak.to_list(rows.v)
        assert ak.to_list(back.a) == 2 * list(range(5))


def test_appender_streams_chunks(tmp_path):
    """Appender: several appends into one open file, VoV offsets continue across appends
    whose rows are still held by the sink, and TCM-like VoVs sharing offsets."""
    from pygama_ak.lh5.write import Appender

    rng = np.random.default_rng(11)
    parts = []
    for n in (10, 70_000, 3, 140_000, 1):
        counts = rng.integers(0, 4, n)
        flat = rng.integers(0, 2**40, int(counts.sum()))
        parts.append(ak.Array({
            "key": ak.unflatten(flat, counts), "row": ak.unflatten(flat // 7, counts),
            "e": rng.normal(size=n), "ok": rng.random(n) < 0.5}))
    path = tmp_path / "s.lh5"
    with Appender(path) as out:
        for part in parts:
            out.append(part, "evt")
    back = read(path, "evt")
    whole = ak.concatenate(parts)
    for field in whole.fields:
        assert ak.to_list(back[field]) == ak.to_list(whole[field]), field
    with h5py.File(path, "r") as f:
        np.testing.assert_array_equal(f["evt/key/cumulative_length"][...],
                                      f["evt/row/cumulative_length"][...])


def test_appender_finds_its_datasets_without_lookups(tmp_path, monkeypatch):
    """After the first append, later appends reach their datasets through the sink, not by
    h5py's lookup by name; the rows are those of all appends."""
    from pygama_ak.lh5.write import Appender

    path = tmp_path / "a.lh5"
    with Appender(path) as out:
        out.append(ak.Array({"e": np.arange(5.0), "w": np.zeros((5, 3), np.uint16)}), "t")
        assert set(out.sink.by_path) == {"/t/e", "/t/w"}
        lookups = []
        real_get = h5py.Group.get
        monkeypatch.setattr(h5py.Group, "get", lambda g, name, *a, **k: lookups.append(name)
                            or real_get(g, name, *a, **k))
        for _ in range(3):
            out.append(ak.Array({"e": np.arange(5.0), "w": np.ones((5, 3), np.uint16)}), "t")
        assert "e" not in lookups and "w" not in lookups
    assert not out.sink.by_path  # closed: nothing held
    back = read(path, "t")
    assert ak.to_list(back.e) == list(np.tile(np.arange(5.0), 4))
    assert np.asarray(back.w).sum() == 3 * 5 * 3


def test_appender_error_leaves_no_sink_work(tmp_path):
    from pygama_ak.lh5.write import Appender

    path = tmp_path / "x.lh5"
    with pytest.raises(LH5WriteError), Appender(path) as out:
        out.append(ak.Array({"a": np.arange(100_000.0)}), "t")
        out.append(ak.Array({"b": [1]}), "t")  # other fields: refused
    assert not out.sink.queue and not out.sink.targets


def test_threaded_writes_after_fork(tmp_path):
    """A forked child gets its own compression threads (it inherits no running ones)."""
    import multiprocessing

    write(ak.Array({"a": np.arange(100_000.0)}), tmp_path / "parent.lh5", "t")  # starts the pool
    ctx = multiprocessing.get_context("fork")
    child = ctx.Process(target=write, args=(ak.Array({"a": np.arange(100_000.0)}),
                                            tmp_path / "child.lh5", "t"))
    child.start()
    child.join(60)
    assert child.exitcode == 0
    assert read(tmp_path / "child.lh5", "t").a.to_numpy().sum() == np.arange(100_000.0).sum()
