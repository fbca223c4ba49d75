"""A lazy Polars source over LH5 tables: :func:`scan_lh5`.

``scan_lh5(files, "ch1104000/dsp").filter(pl.col("trapEmax") > 1000).select(...)`` builds a
:class:`pl.LazyFrame` through :func:`polars.io.plugins.register_io_source`; nothing is read
until ``collect()``. The source honours every pushdown Polars hands it:

* projection — only the requested columns are read (a struct column = its whole sub-table);
* predicate — *late materialisation*: per batch, the columns the predicate uses are read and
  evaluated first; a batch without passing rows is skipped; the other columns are read only
  for the passing rows (one read per cluster of nearby passing rows, :data:`GAP_BYTES`);
* ``n_rows`` (``head``/``limit``) — reading stops as soon as enough rows were produced,
  across files;
* batches — at most ``batch_size`` rows (or Polars' smaller hint, or ``BATCH_BYTES`` of
  uncompressed data) are read at a time, so memory stays bounded whatever the file size.

The schema comes from the first file's ``datatype`` attributes and HDF5 dtypes (no data read);
every further file must have the same schema. The frame holds the table columns only (no file
or row provenance columns).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence

import h5py
import numpy as np
import polars as pl
from polars.io.plugins import register_io_source

from .arrow import to_polars
from .datatype import Datatype, format_datatype
from .errors import LH5DecodeError
from .read import datatype_of, decoded_dtype, get_object, open_lh5, read, read_attrs, read_n_rows

PathLike = str | os.PathLike

#: Late materialisation reads the non-predicate columns once per cluster of passing rows; a gap
#: of unselected rows worth more than this many (uncompressed) bytes starts a new cluster,
#: since one more read call (≈ 2–5 ms) costs less than decompressing that much data.
GAP_BYTES = 4 << 20
BATCH_BYTES = 256 * 2**20  # at most this much uncompressed data per batch (≈ 16k 8192-sample wf)
MAX_CLUSTERS = 32  # per batch: bounds the per-call overhead of very scattered selections

_NUMPY_TO_POLARS: dict[str, pl.DataType] = {
    "i1": pl.Int8(), "i2": pl.Int16(), "i4": pl.Int32(), "i8": pl.Int64(),
    "u1": pl.UInt8(), "u2": pl.UInt16(), "u4": pl.UInt32(), "u8": pl.UInt64(),
    "f2": pl.Float16(), "f4": pl.Float32(), "f8": pl.Float64(), "b1": pl.Boolean(),
}


# ----------------------------------------------------------------------------- schema
def _number_dtype(dtype: np.dtype, file: str, path: str) -> pl.DataType:
    key = f"{dtype.kind}{dtype.itemsize}"
    if key not in _NUMPY_TO_POLARS:
        raise LH5DecodeError(file, path, f"HDF5 dtype {dtype} has no Polars equivalent")
    return _NUMPY_TO_POLARS[key]


def _element_dtype(dt: Datatype, dtype: np.dtype, file: str, path: str) -> pl.DataType:
    """Polars dtype of one element: bool (uint8 on disk) → Boolean, strings → String."""
    if dt.element == "bool":
        return pl.Boolean()
    if dt.element == "string" or dtype.kind in "SOU":
        return pl.String()
    if dt.element == "complex" or dtype.kind == "c":
        raise LH5DecodeError(file, path, "complex numbers have no Polars dtype")
    return _number_dtype(dtype, file, path)


def _column_dtype(obj, file: str, path: str) -> pl.DataType:
    """Polars dtype of one table column, from attributes and dtypes only."""
    attrs = read_attrs(obj)
    dt = datatype_of(obj, file, path, attrs)
    if dt is None:
        raise LH5DecodeError(file, path, "table column has no 'datatype' attribute")
    k = dt.kind
    if k in ("array", "fixedsize_array", "aoesa"):
        if not isinstance(obj, h5py.Dataset):
            raise LH5DecodeError(file, path, f"{format_datatype(dt)} must be a dataset")
        base = _element_dtype(dt, obj.dtype, file, path)
        return pl.Array(base, tuple(obj.shape[1:])) if len(obj.shape) > 1 else base
    if k == "vov":
        return pl.List(_column_dtype(obj["flattened_data"], file, f"{path}/flattened_data"))
    if k == "encoded_aoesa":
        size = int(np.asarray(obj["decoded_size"][()]).reshape(-1)[0])
        return pl.Array(_number_dtype(decoded_dtype(attrs), file, path), size)
    if k == "encoded_vov":
        return pl.List(_number_dtype(decoded_dtype(attrs), file, path))
    if k == "table":
        return pl.Struct(_table_fields(obj, dt, file, path))
    if k == "view":
        return _column_dtype(obj["data"], file, f"{path}/data")
    raise LH5DecodeError(file, path, f"a {format_datatype(dt)} cannot be a table column")


def _table_fields(obj, dt: Datatype, file: str, path: str) -> dict[str, pl.DataType]:
    fields: dict[str, pl.DataType] = {}
    for name in dt.fields:
        if name not in obj:
            raise LH5DecodeError(file, f"{path}/{name}",
                                 "field listed in the table's datatype is missing")
        fields[name] = _column_dtype(obj[name], file, f"{path}/{name}")
    return fields


def schema_of(path: PathLike, name: str) -> pl.Schema:
    """Polars schema of the LH5 table ``name`` in file ``path`` (column order = ``datatype``
    order), built from attributes and HDF5 dtypes without reading any column data."""
    file = os.fspath(path)
    with open_lh5(file) as f:
        obj = get_object(f, file, name)
        dt = datatype_of(obj, file, name)
        if dt is not None and dt.kind == "view":
            obj, dt = obj["data"], datatype_of(obj["data"], file, f"{name}/data")
        if dt is None or dt.kind != "table":
            what = "no datatype" if dt is None else format_datatype(dt)
            raise LH5DecodeError(file, name, f"scan_lh5 needs a table, found {what}")
        return pl.Schema(_table_fields(obj, dt, file, name))


_NUMBER_BYTES = {pl.Int8: 1, pl.UInt8: 1, pl.Int16: 2, pl.UInt16: 2, pl.Float16: 2,
                 pl.Int32: 4, pl.UInt32: 4, pl.Float32: 4}


def row_bytes(dtype: pl.DataType) -> int:
    """Rough uncompressed size of one value (lists and strings guessed), in bytes."""
    if isinstance(dtype, pl.Array):
        return int(np.prod(dtype.shape)) * row_bytes(dtype.inner)
    if isinstance(dtype, pl.Struct):
        return sum(row_bytes(f.dtype) for f in dtype.fields)
    if isinstance(dtype, pl.List):
        return 8 + 8 * row_bytes(dtype.inner)
    if dtype == pl.String:
        return 24
    if dtype == pl.Boolean:
        return 1
    return _NUMBER_BYTES.get(dtype.base_type(), 8)



def _clusters(rows: np.ndarray, gap_rows: int) -> list[np.ndarray]:
    """Split sorted row numbers where more than ``gap_rows`` rows are skipped (at most
    :data:`MAX_CLUSTERS` pieces, cutting at the largest gaps)."""
    if len(rows) < 2:
        return [rows]
    gaps = np.diff(rows) - 1
    cuts = np.flatnonzero(gaps > gap_rows)
    if len(cuts) >= MAX_CLUSTERS:
        cuts = np.sort(cuts[np.argsort(gaps[cuts], kind="stable")[-(MAX_CLUSTERS - 1):]])
    return np.split(rows, cuts + 1)


def _check_same_schema(files: list[str], name: str, first: pl.Schema) -> None:
    for file in files[1:]:
        other = schema_of(file, name)
        if other == first:
            continue
        missing = [c for c in first if c not in other]
        extra = [c for c in other if c not in first]
        if missing or extra:
            why = f"columns differ (missing {missing}, extra {extra})"
        elif list(other) != list(first):
            why = f"column order differs: {list(other)} vs {list(first)}"
        else:
            col = next(c for c in first if first[c] != other[c])
            why = f"column {col!r} is {other[col]} here but {first[col]} in {files[0]}"
        raise LH5DecodeError(file, name, f"schema differs from the first file: {why}")


# ----------------------------------------------------------------------------- the source
def _as_paths(paths: PathLike | Sequence[PathLike]) -> list[str]:
    if isinstance(paths, str | os.PathLike):
        return [os.fspath(paths)]
    return [os.fspath(p) for p in paths]


class _Source:
    """The generator Polars calls: ``(with_columns, predicate, n_rows, batch_size)``."""

    def __init__(self, files: list[str], name: str, schema: pl.Schema, batch_size: int) -> None:
        self.files, self.name, self.schema, self.batch_size = files, name, schema, batch_size

    def frame(self, file: str, columns: list[str], *, rows: tuple[int, int] | None = None,
              index: np.ndarray | None = None) -> pl.DataFrame:
        """Read ``columns`` of the given rows of one file as a frame in ``columns`` order."""
        n = (rows[1] - rows[0]) if index is None else len(index)
        if not columns:
            return pl.DataFrame(height=n)
        df = to_polars(read(file, self.name, fields=columns, rows=rows, index=index))
        df = df.select(columns)
        expected = pl.Schema({c: self.schema[c] for c in columns})
        if df.schema != expected:  # e.g. an empty column read with another dtype
            df = df.cast(dict(expected))
        return df

    def __call__(self, with_columns: list[str] | None, predicate: pl.Expr | None,
                 n_rows: int | None, batch_size: int | None) -> Iterator[pl.DataFrame]:
        columns = list(self.schema) if with_columns is None else list(with_columns)
        step = max(1, min(self.batch_size, batch_size or self.batch_size))
        bytes_per_row = sum(row_bytes(self.schema[c]) for c in columns) or 1
        step = max(1, min(step, BATCH_BYTES // bytes_per_row))  # waveforms: bound memory by bytes
        remaining = n_rows
        if remaining is not None and remaining <= 0:
            return
        pred_cols: list[str] = []
        if predicate is not None:
            roots = set(predicate.meta.root_names())
            pred_cols = [c for c in self.schema if c in roots]
        for file in self.files:
            n = read_n_rows(file, self.name) or 0
            for start in range(0, n, step):
                stop = min(n, start + step)
                if predicate is None:
                    if remaining is not None:
                        stop = min(stop, start + remaining)
                    df = self.frame(file, columns, rows=(start, stop))
                elif not pred_cols:  # a predicate without columns, e.g. pl.lit(True)
                    df = self.frame(file, columns, rows=(start, stop)).filter(predicate)
                    if remaining is not None:
                        df = df.head(remaining)
                else:
                    df = self._late(file, columns, pred_cols, predicate, start, stop, remaining)
                if df is None or df.height == 0:
                    continue
                yield df
                if remaining is not None:
                    remaining -= df.height
                    if remaining <= 0:
                        return

    def _late(self, file: str, columns: list[str], pred_cols: list[str], predicate: pl.Expr,
              start: int, stop: int, remaining: int | None) -> pl.DataFrame | None:
        """Late materialisation of one batch: predicate columns first, the rest only for the
        passing rows (None when no row passes)."""
        light = self.frame(file, pred_cols, rows=(start, stop))
        keep = light.select(predicate).to_series()
        if keep.len() == 1 and light.height != 1:  # a predicate that folded to a scalar
            keep = pl.repeat(keep[0], light.height, eager=True)
        passing = np.flatnonzero(keep.fill_null(False).to_numpy())
        if remaining is not None:
            passing = passing[:remaining]
        if len(passing) == 0:
            return None
        rest = [c for c in columns if c not in pred_cols]
        if len(passing) == stop - start:
            light_rows = light
            heavy = self.frame(file, rest, rows=(start, stop))
        else:
            light_rows = light[passing]
            bytes_per_row = sum(row_bytes(self.schema[c]) for c in rest) or 1
            parts = [self.frame(file, rest, index=part + start)
                     for part in _clusters(passing, max(1, GAP_BYTES // bytes_per_row))]
            heavy = parts[0] if len(parts) == 1 else pl.concat(parts, how="vertical")
        return pl.concat([light_rows, heavy], how="horizontal").select(columns)


def scan_lh5(paths: PathLike | Sequence[PathLike], name: str, *,
             batch_size: int = 100_000) -> pl.LazyFrame:
    """Lazily scan the LH5 table ``name`` (e.g. ``"ch1104000/dsp"``) of one or more files.

    Files are concatenated row-wise in the order given and must share one schema (else an
    :class:`~pygama_ak.lh5.errors.LH5DecodeError` names the odd file). ``batch_size`` is the
    largest number of rows read at once (Polars' batch-size hint is used when smaller).
    Projection, predicate and ``n_rows`` are pushed into the reader (see the module docs).
    """
    files = _as_paths(paths)
    if not files:
        raise ValueError("scan_lh5: no input files")
    if batch_size < 1:
        raise ValueError(f"batch_size must be ≥ 1, got {batch_size}")
    schema = schema_of(files[0], name)
    _check_same_schema(files, name, schema)
    where = files[0] if len(files) == 1 else f"{len(files)} files: {files[0]} …"
    return register_io_source(
        _Source(files, name, schema, batch_size),
        schema=schema,
        is_pure=True,
        explain_name="lh5",
        explain_detail=f"{where}:/{name.strip('/')}",
    )


__all__ = ["row_bytes", "scan_lh5", "schema_of"]
