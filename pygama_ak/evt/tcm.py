"""The time coincidence map (TCM): which hits of which tables form one event.

pygama ≥ 2.1's algorithm and layout: every hit of every input table gets ``table_key`` (the
first integer in the table name, by the regex ``hash_func``, or the table's position) and
``row_in_table``; hits are sorted by ``(coin_col_1, ..., coin_col_n, table_key)`` (stable: ties
keep table order, then row order) and a new event starts where, for any coincidence column,
the step from the previous hit is larger than that column's window ("last"-referenced,
chained windows). The result is a table of two vector-of-vectors columns sharing their event
boundaries, attrs ``tables`` (Python-list repr of the input tables) and ``hash_func``.

All hits are sorted at once (only the coincidence columns are read), so the map cannot
depend on a chunk size.
"""

from __future__ import annotations

import fnmatch
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass
class Coincidences:
    """A TCM in memory: per hit ``table_key``/``row_in_table``, ``offsets`` (n_events + 1)."""

    table_key: np.ndarray
    row_in_table: np.ndarray
    offsets: np.ndarray
    tables: list[str]
    hash_func: str | None

    @property
    def n_events(self) -> int:
        return len(self.offsets) - 1

    def to_awkward(self):
        """A record array ``{table_key: var * int64, row_in_table: var * int64}`` with attrs."""
        import awkward as ak

        idx = ak.index.Index64(self.offsets)
        key = ak.contents.ListOffsetArray(idx, ak.contents.NumpyArray(self.table_key))
        row = ak.contents.ListOffsetArray(idx, ak.contents.NumpyArray(self.row_in_table))
        attrs = {"tables": repr(self.tables)}
        if self.hash_func is not None:
            attrs["hash_func"] = self.hash_func
        record = ak.contents.RecordArray([row, key], ["row_in_table", "table_key"],
                                         parameters={"attrs": attrs})
        return ak.Array(record)


def _expand_tables(inputs: Sequence[tuple[str, str | Sequence[str]]]) -> list[tuple[str, str]]:
    """``[(file, pattern or patterns)]`` → ``[(file, table)]`` in the given order."""
    from ..lh5.read import tables_in

    out = []
    for path, patterns in inputs:
        patterns = [patterns] if isinstance(patterns, str) else list(patterns)
        candidates = tables_in(path)
        for pattern in patterns:
            pattern = pattern.strip("/")
            matches = sorted(c for c in candidates if fnmatch.fnmatchcase(c, pattern))
            if not matches:
                raise ValueError(f"{path}: no table matches {pattern!r}")
            out += [(os.fspath(path), m) for m in matches if (os.fspath(path), m) not in out]
    return out


def table_key_of(table: str, position: int, hash_func: str | None) -> int:
    """The key of a table: the first match of ``hash_func`` in its name, as int."""
    if hash_func is None:
        return position
    match = re.search(hash_func, table)
    if match is None:
        raise ValueError(f"hash_func {hash_func!r} finds no key in table name {table!r}")
    return int(match.group(0))


def _read_columns(tables: list[tuple[str, str]], cols: list[str]) -> tuple[list[np.ndarray], np.ndarray]:
    """The coincidence columns of all tables, concatenated in table order, and the tables'
    row counts. Plain ``array<1>{real}`` datasets are read straight into the concatenated
    arrays (one HDF5 read per table and column); anything else through :func:`read`."""
    import h5py

    from ..lh5 import read
    from ..lh5.read import open_lh5, read_attrs

    handles: dict[str, h5py.File] = {}
    try:
        plain = []  # per table: the h5py datasets of the columns, or None
        sizes = np.zeros(len(tables), np.int64)
        for i, (path, table) in enumerate(tables):
            if path not in handles:
                handles[path] = open_lh5(path)
            f = handles[path]
            found = []
            for col in cols:
                ds = f.get(f"{table}/{col}")
                if not (isinstance(ds, h5py.Dataset) and ds.ndim == 1 and ds.dtype.kind in "iuf"
                        and str(read_attrs(ds).get("datatype", "")).replace(" ", "")
                        == "array<1>{real}"):
                    found = None
                    break
                found.append(ds)
            if found is None or len({len(ds) for ds in found}) > 1:
                plain.append(None)
                sizes[i] = len(read(path, table, fields=cols))
            else:
                plain.append(found)
                sizes[i] = len(found[0]) if found else 0
        bounds = np.zeros(len(tables) + 1, np.int64)
        np.cumsum(sizes, out=bounds[1:])
        no_cache = h5py.h5p.create(h5py.h5p.DATASET_ACCESS)
        no_cache.set_chunk_cache(0, 0, 1.0)  # uncompressed chunks: one copy, ≈ 2× faster
        coin = []
        for j, col in enumerate(cols):
            dtypes = [p[j].dtype for p in plain if p is not None]
            out = np.empty(int(bounds[-1]), np.result_type(*dtypes) if dtypes else np.float64)
            parts = []
            for i, (path, table) in enumerate(tables):
                lo, hi = int(bounds[i]), int(bounds[i + 1])
                if plain[i] is None:
                    parts.append((lo, hi, np.asarray(read(path, table, fields=[col])[col])))
                elif hi > lo:
                    ds = plain[i][j]
                    if ds.id.get_create_plist().get_nfilters() == 0:  # straight into `out`,
                        dsid = h5py.h5d.open(ds.file.id, ds.name.encode(), no_cache)  # no cache
                        mspace = h5py.h5s.create_simple((len(out),))
                        mspace.select_hyperslab((lo,), (hi - lo,))
                        dsid.read(mspace, h5py.h5s.ALL, out)
                    else:
                        ds.read_direct(out, dest_sel=np.s_[lo:hi])
            if parts:  # generic reads may need a wider dtype
                out = out.astype(np.result_type(out, *(a for *_, a in parts)), copy=False)
                for lo, hi, a in parts:
                    out[lo:hi] = a
            coin.append(out)
        return coin, sizes
    finally:
        for f in handles.values():
            f.close()


def build_tcm(
    inputs: Sequence[tuple[str | os.PathLike, str | Sequence[str]]],
    coin_cols: str | Sequence[str],
    *,
    hash_func: str | None = r"\d+",
    coin_windows: float | Sequence[float] = 0,
    window_refs: str = "last",
) -> Coincidences:
    """Compute the TCM of ``inputs`` (``[(file, "ch*/raw"), ...]``) on ``coin_cols``."""
    cols = [coin_cols] if isinstance(coin_cols, str) else list(coin_cols)
    windows = np.broadcast_to(np.asarray(coin_windows, dtype=np.float64), (len(cols),))
    if window_refs != "last":
        raise ValueError(f"window_refs={window_refs!r}: only 'last' is defined")
    tables = _expand_tables([(os.fspath(p), pat) for p, pat in inputs])
    coin, sizes = _read_columns(tables, cols)
    table_keys = np.array([table_key_of(t, i, hash_func) for i, (_, t) in enumerate(tables)],
                          dtype=np.int64)
    first_row = np.zeros(len(tables) + 1, np.int64)
    np.cumsum(sizes, out=first_row[1:])
    n = int(first_row[-1])
    # hits sorted by (coin cols..., table_key), stable; tables are concatenated in position
    # order, so when the keys grow with the position a stable sort on one column is enough
    # (timsort merges the tables' already sorted runs)
    if len(coin) == 1 and np.all(np.diff(table_keys) >= 0):
        order = np.argsort(coin[0], kind="stable")
    else:
        order = np.lexsort([np.repeat(table_keys, sizes), *reversed(coin)])
    # a new event starts where any coincidence column steps by more than its window; the
    # extra entry at the end makes the flat indices the event offsets (n_events + 1)
    new_event = np.zeros(n + 1, dtype=bool)
    new_event[0] = new_event[n] = True
    for c, window in zip(coin, windows):
        if n > 1:
            c = c[order]
            if window == 0 and c.dtype.kind == "f":  # b - a > 0 ⇔ b > a for floats: no diff
                new_event[1:n] |= c[1:] > c[:-1]
            else:
                new_event[1:n] |= np.diff(c) > window
    del coin
    table = np.repeat(np.arange(len(tables), dtype=np.min_scalar_type(len(tables))), sizes)[order]
    key = table_keys[table]
    row = np.subtract(order, first_row[table], out=order)  # the row within its table
    offsets = np.flatnonzero(new_event).astype(np.int64, copy=False)
    names = [t for _, t in tables]
    return Coincidences(key, row, offsets, names, hash_func)


def write_tcm(tcm: Coincidences, outfile: str | os.PathLike, name: str = "hardware_tcm_1", *,
              overwrite: bool = False, compression="gzip") -> None:
    """Write a TCM as pygama ≥ 2.1 lays it out (table of two VoVs, attrs tables/hash_func).

    ``compression`` as for :func:`pygama_ak.lh5.write` (gzip like lgdo; ``"zstd"`` writes
    ≈ 4× faster and smaller, readable wherever hdf5plugin is installed)."""
    from ..lh5 import write
    from ..lh5.output import atomic_output

    with atomic_output(outfile, overwrite=overwrite) as tmp:
        write(tcm.to_awkward(), tmp, name, compression=compression)
