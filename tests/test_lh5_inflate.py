"""Reading shuffle + deflate datasets by inflating their chunks ourselves: every row range of
every plain layout equals HDF5's own read, and every other layout is left to HDF5."""

from __future__ import annotations

import sys
import zlib

import awkward as ak
import h5py
import numpy as np
import pytest

from pygama_ak.lh5 import inflate, write
from pygama_ak.lh5.read import _read_numbers

READ = sys.modules["pygama_ak.lh5.read"]


@pytest.fixture(autouse=True)
def small_chunks_too(monkeypatch):
    """The tests' chunks are small: let them take the fast path as large ones do."""
    monkeypatch.setattr(inflate, "MIN_CHUNK_BYTES", 0)
DTYPES = ["i1", "u1", "<u2", "<i2", "<i4", "<u4", "<i8", "<f4", "<f8", "?"]


def _data(rng, dtype: str, shape: tuple[int, ...]) -> np.ndarray:
    if dtype == "?":
        return rng.random(shape) < 0.3
    dt = np.dtype(dtype)
    if dt.kind == "f":
        return (rng.normal(size=shape) * 100).astype(dt)
    info = np.iinfo(dt)
    return rng.integers(max(info.min, -5000), min(info.max, 5000), shape, endpoint=True).astype(dt)


def _ranges(n: int, rng) -> list[tuple[int, int]]:
    cuts = sorted(set(rng.integers(0, n + 1, 6).tolist()))
    return [(0, n), (0, 1), (n - 1, n), *zip(cuts[:-1], cuts[1:], strict=True)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,chunks", [((1000,), (64,)), ((333, 7), (50, 7)), ((90, 3, 4), (16, 3, 4))])
@pytest.mark.parametrize("shuffle", [True, False])
def test_row_ranges_equal_hdf5(tmp_path, dtype, shape, chunks, shuffle):
    rng = np.random.default_rng(abs(hash((dtype, shape, shuffle))) % 2**32)
    data = _data(rng, dtype, shape)
    with h5py.File(tmp_path / "x.h5", "w") as f:
        ds = f.create_dataset("x", data=data, chunks=chunks, compression="gzip",
                              compression_opts=int(rng.integers(1, 10)), shuffle=shuffle)
        assert inflate.plan(ds.id) == (chunks[0], shuffle)
        for start, stop in _ranges(shape[0], rng):
            out = np.full((stop - start, *shape[1:]), 7, dtype=data.dtype)
            assert inflate.read_rows(ds.id, start, stop, out)
            np.testing.assert_array_equal(out, data[start:stop])
            got = _read_numbers(ds.id, slice(start, stop))
            assert got.dtype == data.dtype
            np.testing.assert_array_equal(got, data[start:stop])


def test_our_writers_tables_take_the_fast_path(tmp_path):
    table = ak.Array({"energy": np.arange(5000, dtype=np.float32),
                      "wf": np.arange(5000 * 40, dtype=np.uint16).reshape(5000, 40)})
    write(table, tmp_path / "t.lh5", "t")
    with h5py.File(tmp_path / "t.lh5") as f:
        for name in ("t/energy", "t/wf"):
            assert inflate.plan(f[name].id) is not None, name
            np.testing.assert_array_equal(_read_numbers(f[name].id, slice(123, 4567)),
                                          f[name][123:4567])


@pytest.mark.parametrize(
    "kwargs",
    [
        {"chunks": (16, 5), "compression": "gzip", "shuffle": True},  # chunks split rows
        {"chunks": (16, 10), "compression": "gzip", "fletcher32": True},
        {"chunks": (16, 10), "compression": "lzf"},
        {"chunks": (16, 10)},  # no filter at all
        {},  # contiguous
    ],
)
def test_other_layouts_are_left_to_hdf5(tmp_path, kwargs):
    data = np.arange(100 * 10, dtype="<i4").reshape(100, 10)
    with h5py.File(tmp_path / "x.h5", "w") as f:
        ds = f.create_dataset("x", data=data, **kwargs)
        assert inflate.plan(ds.id) is None
        assert not inflate.read_rows(ds.id, 0, 100, np.empty_like(data))
        np.testing.assert_array_equal(_read_numbers(ds.id, slice(5, 77)), data[5:77])


def test_big_endian_is_left_to_hdf5(tmp_path):
    data = np.arange(300, dtype=">i4")
    with h5py.File(tmp_path / "x.h5", "w") as f:
        ds = f.create_dataset("x", data=data, chunks=(64,), compression="gzip", shuffle=True)
        assert inflate.plan(ds.id) is None
        got = _read_numbers(ds.id, slice(10, 200))
        np.testing.assert_array_equal(got, data[10:200])


def test_unwritten_chunks_read_as_the_fill_value(tmp_path):
    with h5py.File(tmp_path / "x.h5", "w") as f:
        ds = f.create_dataset("x", shape=(1000,), dtype="<f4", chunks=(100,), compression="gzip",
                              shuffle=True, fillvalue=-1.5)
        ds[:250] = np.arange(250)
        out = np.empty(500, dtype="<f4")
        assert not inflate.read_rows(ds.id, 0, 500, out)
        got = _read_numbers(ds.id, slice(0, 500))
        np.testing.assert_array_equal(got[:250], np.arange(250))
        assert (got[300:] == -1.5).all()  # never written: HDF5's fill value


def test_chunk_with_a_skipped_filter_is_left_to_hdf5(tmp_path):
    data = np.arange(200, dtype="<u2")
    with h5py.File(tmp_path / "x.h5", "w") as f:
        ds = f.create_dataset("x", shape=(200,), dtype="<u2", chunks=(100,), compression="gzip")
        ds[:100] = data[:100]
        # the second chunk stored without its deflate filter (filter mask bit 0 set)
        ds.id.write_direct_chunk((100,), data[100:].tobytes(), filter_mask=1)
        assert not inflate.read_rows(ds.id, 0, 200, np.empty(200, "<u2"))
        np.testing.assert_array_equal(_read_numbers(ds.id, None), data)


def test_corrupt_chunk_is_reported_by_hdf5(tmp_path):
    with h5py.File(tmp_path / "x.h5", "w") as f:
        ds = f.create_dataset("x", shape=(200,), dtype="<u2", chunks=(100,), compression="gzip")
        ds[:] = np.arange(200)
        good = zlib.compress(np.arange(100, dtype="<u2").tobytes())
        ds.id.write_direct_chunk((100,), good[:-9] + b"garbage!!")
        assert not inflate.read_rows(ds.id, 100, 200, np.empty(100, "<u2"))
        with pytest.raises(OSError):
            _read_numbers(ds.id, None)


def test_fast_path_is_what_reads_use(tmp_path, monkeypatch):
    data = np.arange(1000, dtype="<f8")
    calls = []

    def spy(*args):
        calls.append(args[1:3])
        return inflate.read_rows(*args)

    monkeypatch.setattr(READ, "read_rows_inflated", spy)
    with h5py.File(tmp_path / "x.h5", "w") as f:
        ds = f.create_dataset("x", data=data, chunks=(128,), compression="gzip", shuffle=True)
        np.testing.assert_array_equal(_read_numbers(ds.id, slice(3, 900)), data[3:900])
    assert calls == [(3, 900)]


def test_small_chunks_are_left_to_hdf5(tmp_path, monkeypatch):
    monkeypatch.setattr(inflate, "MIN_CHUNK_BYTES", 64 << 10)
    with h5py.File(tmp_path / "x.h5", "w") as f:
        small = f.create_dataset("s", data=np.arange(50_000.0), chunks=(2397,), compression="gzip")
        large = f.create_dataset("l", data=np.arange(50_000.0), chunks=(8192,), compression="gzip")
        assert inflate.plan(small.id) is None
        assert inflate.plan(large.id) == (8192, False)


def test_real_fcio_file_converted_by_us_reads_equal_to_hdf5(tmp_path, testdata_dir, monkeypatch):
    from pygama_ak.raw.build_raw import build_raw

    monkeypatch.setattr(inflate, "MIN_CHUNK_BYTES", 64 << 10)  # the real threshold
    out = tmp_path / "th228-tier_raw.lh5"
    build_raw(testdata_dir / "fcio/th228.fcio", out)
    fast = 0
    with h5py.File(out) as f:
        datasets: list[h5py.Dataset] = []
        f.visititems(lambda _, o: datasets.append(o) if isinstance(o, h5py.Dataset) else None)
        for ds in datasets:
            if ds.shape and ds.dtype.kind != "O" and inflate.plan(ds.id) is not None:
                fast += 1
                n = ds.shape[0]
                for start, stop in [(0, n), (n // 3, max(n // 3, n - 7))]:
                    np.testing.assert_array_equal(_read_numbers(ds.id, slice(start, stop)),
                                                  ds[start:stop], err_msg=ds.name)
    assert fast >= 1  # the waveforms at least
