"""lh5.keep_open: tables held open between chunk reads (HDF5's chunk cache is then shared)."""

from __future__ import annotations

import awkward as ak
import h5py
import numpy as np

from pygama_ak.lh5 import keep_open as K
from pygama_ak.lh5 import read, write


def _table(path, n=5000, seed=0):
    rng = np.random.default_rng(seed)
    arr = ak.zip({"a": rng.integers(0, 1000, n), "b": rng.normal(size=n)}, depth_limit=1)
    write(arr, path, "t", compression="gzip")
    return arr


def test_held_tables_read_the_same_rows_and_are_released(tmp_path):
    path = tmp_path / "x.lh5"
    arr = _table(path)
    try:
        parts = []
        for a in range(0, 5000, 700):
            K.keep_table_open(path, "t")
            parts.append(read(path, "t", rows=(a, min(a + 700, 5000))))
        assert K.held_tables() == 1
        got = ak.concatenate(parts)
        assert ak.to_list(got.a) == ak.to_list(arr.a)
        assert np.array_equal(ak.to_numpy(got.b), ak.to_numpy(arr.b))
    finally:
        K.release_tables()
    assert K.held_tables() == 0
    with h5py.File(path, "a") as f:  # nothing of ours still holds it open
        f.attrs["touched"] = 1


def test_at_most_keep_tables_held_oldest_released_first(tmp_path, monkeypatch):
    monkeypatch.setattr(K, "KEEP_TABLES", 2)
    paths = [tmp_path / f"{i}.lh5" for i in range(3)]
    for i, p in enumerate(paths):
        _table(p, 10, seed=i)
    try:
        for p in paths:
            K.keep_table_open(p, "t")
        assert K.held_tables() == 2
        with h5py.File(paths[0], "a") as f:  # the oldest was closed
            f.attrs["touched"] = 1
    finally:
        K.release_tables()


def test_a_replaced_file_is_a_new_entry(tmp_path):
    path = tmp_path / "x.lh5"
    _table(path, 10, seed=1)
    try:
        K.keep_table_open(path, "t")
        path.unlink()
        new = _table(path, 20, seed=2)
        K.keep_table_open(path, "t")
        assert K.held_tables() == 2
        assert ak.to_list(read(path, "t").a) == ak.to_list(new.a)
    finally:
        K.release_tables()


def test_missing_table_raises_and_holds_nothing(tmp_path):
    import pytest

    from pygama_ak.lh5.errors import LH5NotFoundError

    path = tmp_path / "x.lh5"
    _table(path, 10)
    with pytest.raises(LH5NotFoundError):
        K.keep_table_open(path, "nope")
    assert K.held_tables() == 0
    with h5py.File(path, "a") as f:
        f.attrs["touched"] = 1
