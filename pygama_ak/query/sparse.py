"""Reading table columns for a query: row ranges, and scattered rows (late materialisation).

:func:`pygama_ak.lh5.read` reads a row range; for scattered row numbers it reads their
bounding range, and every call re-opens the file and re-reads the index datasets. After a
selective filter (1 % of the hits of a cal run) that costs as much as reading everything.
:func:`read_rows` opens the file once and, per column:

* numeric datasets (``array``, ``fixedsize_array``, ``array_of_equalsized_arrays``, bools):
  straight from h5py into numpy and Polars (no Awkward/Arrow round trip); for scattered
  rows one read per cluster of nearby rows (:data:`GAP_BYTES`), then the rows are taken;
* encoded waveforms (``array_of_encoded_equalsized_arrays``, radware / uleb128): the byte
  offsets of the bounding range are read once, then only the selected rows' bytes — from a
  memory map at the chunk addresses HDF5 reports when the bytes are stored unfiltered (as
  encoded waveforms are), else one HDF5 read of a union of byte ranges — and one decode
  call for all of them: unselected waveforms are never read nor decoded;
* anything else (vectors of vectors, strings, views) goes through ``read`` per cluster.

Values and dtypes are those of ``read`` followed by :func:`~pygama_ak.lh5.arrow.to_polars`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

import h5py
import numpy as np
import polars as pl

from ..lh5.arrow import to_polars
from ..lh5.read import decoded_dtype, get_object, open_lh5, read, read_attrs

#: A gap of unselected rows worth more than this many bytes is skipped (a new read); a
#: smaller one is read through. One more HDF5 read costs about as much as copying ~1 MB.
GAP_BYTES = 1 << 20
_DIRECT = ("array<", "fixedsize_array<", "array_of_equalsized_arrays<")


def clusters(rows: np.ndarray, gap: int) -> list[tuple[int, int, np.ndarray]]:
    """Sorted ``rows`` → ``[(lo, hi, rows in [lo, hi))]``, split where more than ``gap`` rows
    are skipped."""
    if len(rows) == 0:
        return []
    cuts = np.flatnonzero(np.diff(rows) - 1 > gap) + 1
    return [(int(p[0]), int(p[-1]) + 1, p) for p in np.split(rows, cuts)]


def _numbers(ds: h5py.Dataset, index: np.ndarray) -> np.ndarray:
    row = int(np.prod(ds.shape[1:], dtype=np.int64)) * ds.dtype.itemsize
    parts = [ds[lo:hi][part - lo] for lo, hi, part in clusters(index, max(0, GAP_BYTES // max(row, 1)))]
    if not parts:
        return np.empty((0, *ds.shape[1:]), dtype=ds.dtype)
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


def _byte_ranges(ds: h5py.Dataset, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """The elements [start, end) of each range of a 1-d dataset, concatenated, in one HDF5
    read (a union of hyperslabs)."""
    lengths = ends - starts
    out = np.empty(int(lengths.sum()), dtype=ds.dtype)
    if len(out) == 0:
        return out
    space = ds.id.get_space()
    space.select_none()
    for s, n in zip(starts[lengths > 0].tolist(), lengths[lengths > 0].tolist()):
        space.select_hyperslab((s,), (n,), op=h5py.h5s.SELECT_OR)
    ds.id.read(h5py.h5s.create_simple(out.shape), space, out)
    return out


def _direct_bytes(ds: h5py.Dataset, starts: np.ndarray, ends: np.ndarray) -> np.ndarray | None:
    """The byte ranges of an unfiltered ``uint8`` dataset read straight from a memory map of
    the file at the addresses HDF5 reports for its chunks; None when the layout does not
    allow it (filters other than a byte shuffle, which is the identity on bytes, external or
    virtual storage, unallocated chunks, a user block, another file driver)."""
    plist = ds.id.get_create_plist()
    if ds.dtype != np.uint8 or ds.file.driver != "sec2" or ds.file.userblock_size \
            or ds.is_virtual or ds.external:
        return None
    if any(plist.get_filter(i)[0] != h5py.h5z.FILTER_SHUFFLE for i in range(plist.get_nfilters())):
        return None
    layout = plist.get_layout()
    keep = ends > starts
    starts, lengths = starts[keep].astype(np.int64), (ends - starts)[keep].astype(np.int64)
    if layout == h5py.h5d.CONTIGUOUS:
        base = ds.id.get_offset()
        if base is None:
            return None
        offsets = starts + base
    elif layout == h5py.h5d.CHUNKED:
        size = ds.chunks[0]
        first, last = starts // size, (starts + lengths - 1) // size
        if np.any(first != last):  # split the ranges that cross a chunk boundary
            pieces_s, pieces_n = [], []
            for a, n in zip(starts.tolist(), lengths.tolist()):
                b = a + n
                while a < b:
                    stop = min(b, (a // size + 1) * size)
                    pieces_s.append(a)
                    pieces_n.append(stop - a)
                    a = stop
            starts, lengths = np.array(pieces_s, np.int64), np.array(pieces_n, np.int64)
            first = starts // size
        chunks, where = np.unique(first, return_inverse=True)
        address = np.empty(len(chunks), dtype=np.int64)
        for i, chunk in enumerate(chunks.tolist()):
            info = ds.id.get_chunk_info_by_coord((chunk * size,))
            if info.byte_offset is None:
                return None
            address[i] = info.byte_offset
        offsets = address[where] + starts - first * size
    else:
        return None
    if len(offsets) == 0:
        return np.empty(0, dtype=np.uint8)
    data = np.asarray(np.memmap(ds.file.filename, dtype=np.uint8, mode="r"))
    return np.concatenate([data[o:o + n] for o, n in zip(offsets.tolist(), lengths.tolist())])


def _encoded(group: h5py.Group, attrs: dict, index: np.ndarray) -> np.ndarray:
    """Decoded equal-size waveforms of rows ``index`` (shape (len(index), L))."""
    from ..lh5.codecs import decode

    lo, hi = int(index[0]), int(index[-1]) + 1
    cl = group["encoded_data/cumulative_length"]
    ends = cl[lo:hi].astype(np.int64)
    start0 = int(cl[lo - 1]) if lo > 0 else 0
    starts = np.concatenate([[start0], ends[:-1]])
    sel_start, sel_end = starts[index - lo], ends[index - lo]
    sizes = sel_end - sel_start
    flat = group["encoded_data/flattened_data"]
    encoded = _direct_bytes(flat, sel_start, sel_end)
    if encoded is None:
        encoded = _byte_ranges(flat, sel_start, sel_end)
    offsets = np.zeros(len(index) + 1, dtype=np.int64)
    np.cumsum(sizes, out=offsets[1:])
    size = int(np.asarray(group["decoded_size"][()]).reshape(-1)[0])
    values = decode(attrs.get("codec"), encoded, offsets, size, dtype=decoded_dtype(attrs),
                    codec_shift=int(attrs.get("codec_shift", 0)))
    return values.reshape(len(index), size)


def is_direct(node: h5py.Dataset, attrs: dict) -> bool:
    """Whether a dataset is read straight into numpy: numbers/bools of an LH5 array."""
    return str(attrs.get("datatype", "")).startswith(_DIRECT) and node.dtype.kind in "iufb" \
        and node.ndim >= 1


def series(name: str, values: np.ndarray, datatype: str) -> pl.Series:
    """A Polars column from numbers read from an LH5 array dataset, as ``to_polars`` makes it
    (bools stored as uint8 → Boolean, 2-d → ``pl.Array``)."""
    if datatype.endswith("{bool}") and values.dtype != np.bool_:
        values = values.astype(np.bool_)
    if values.ndim == 1:
        return pl.Series(name, values)
    inner = pl.Series(values.reshape(-1)[:0]).dtype
    return pl.Series(name, values, dtype=pl.Array(inner, values.shape[1:]))


def read_rows(file: str, table: str, paths: Sequence[str], index: np.ndarray | None = None, *,
              rows: tuple[int, int] | None = None, handle: h5py.File | None = None) -> pl.DataFrame:
    """Columns ``paths`` (``a/b`` for nested) of a table for sorted unique row numbers
    ``index`` or a row range ``rows`` = (start, stop), as a frame with one column per path
    (named by the path). ``handle``: the file, already open."""
    if index is not None:
        index = np.asarray(index, dtype=np.int64)
    out: dict[str, pl.Series] = {}
    fallback: list[str] = []
    with contextlib.nullcontext(handle) if handle is not None else open_lh5(file) as f:
        obj = get_object(f, file, table)
        for path in paths:
            node = obj.get(path)
            if node is None:
                fallback.append(path)  # read() raises the proper error
                continue
            attrs = read_attrs(node)
            datatype = str(attrs.get("datatype", ""))
            if isinstance(node, h5py.Dataset) and is_direct(node, attrs):
                values = node[rows[0]:rows[1]] if index is None else _numbers(node, index)
                out[path] = series(path, values, datatype)
            elif index is not None and len(index) and isinstance(node, h5py.Group) \
                    and datatype.startswith("array_of_encoded_equalsized_arrays"):
                out[path] = series(path, _encoded(node, attrs, index), datatype)
            else:
                fallback.append(path)
    if fallback:
        if index is None:
            parts = [to_polars(read(file, table, fields=fallback, rows=rows))]
        else:
            parts = [to_polars(read(file, table, fields=fallback, index=part))
                     for _, _, part in clusters(index, max(0, GAP_BYTES // 4096))] or \
                    [to_polars(read(file, table, fields=fallback, index=index))]
        frame = pl.concat(parts, how="vertical") if len(parts) > 1 else parts[0]
        while any(isinstance(d, pl.Struct) for d in frame.dtypes):
            frame = frame.unnest([c for c, d in frame.schema.items() if isinstance(d, pl.Struct)],
                                 separator="/")
        for path in fallback:
            out[path] = frame.get_column(path)
    if paths:
        return pl.DataFrame([out[p] for p in paths])
    return pl.DataFrame(height=len(index) if index is not None else rows[1] - rows[0])


__all__ = ["read_rows", "clusters", "GAP_BYTES"]
