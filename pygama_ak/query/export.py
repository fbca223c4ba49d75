"""Writing query results to Parquet: atomically, streamed in batches, units in the schema.

Jagged columns (vectors of vectors) become Arrow ``large_list``, equal-length waveforms
``fixed_size_list``; the LH5 ``units`` of each column go to its Arrow field metadata under
``b"units"``; ``metadata`` (e.g. the query and its cuts) goes to the schema metadata as JSON.
The file is written under a temporary name beside the output and moved into place when
complete; an existing output is never replaced unless ``overwrite``.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import polars as pl


class OutputExistsError(FileExistsError):
    """The output exists and overwriting was not asked for."""


def _check_target(out: Path, overwrite: bool) -> Path:
    if out.exists() and not overwrite:
        raise OutputExistsError(f"{out} exists; pass --overwrite (overwrite=True) to replace it")
    folder = out.parent if str(out.parent) else Path(".")
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no such folder")
    return folder


def _with_units(f, units: Any):
    """Arrow field ``f`` with ``units`` (a string, or ``{dotted sub-field: units}`` for a
    struct) in its metadata."""
    import pyarrow as pa

    if isinstance(units, Mapping):
        if pa.types.is_struct(f.type):
            children = []
            for child in f.type:
                sub = {k.split(".", 1)[1]: v for k, v in units.items()
                       if k.startswith(child.name + ".")}
                own = units.get(child.name, sub or None)
                children.append(_with_units(child, own) if own else child)
            return f.with_type(pa.struct(children))
        return f
    meta = dict(f.metadata or {})
    meta[b"units"] = str(units).encode()
    return f.with_metadata(meta)


def _schema(arrow_schema, units: Mapping[str, Any], metadata: Mapping[str, Any] | None):
    import pyarrow as pa

    fields = [_with_units(f, units[f.name]) if units.get(f.name) else f for f in arrow_schema]
    schema_meta = dict(arrow_schema.metadata or {})
    if metadata:
        schema_meta[b"pygama_ak"] = json.dumps(metadata, default=str).encode()
    return pa.schema(fields, metadata=schema_meta or None)


def write_parquet(frame: pl.LazyFrame | pl.DataFrame, out: str | os.PathLike, *,
                  overwrite: bool = False, units: Mapping[str, Any] | None = None,
                  metadata: Mapping[str, Any] | None = None, compression: str | None = "zstd",
                  chunk_rows: int | None = None) -> int:
    """Write ``frame`` to ``out`` (batch by batch for a lazy frame); returns the row count."""
    import pyarrow.parquet as pq

    out = Path(out)
    folder = _check_target(out, overwrite)
    units = dict(units or {})
    fd, name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=folder)
    os.close(fd)
    tmp = Path(name)
    rows = 0
    writer = None
    try:
        if isinstance(frame, pl.DataFrame):
            batches = [frame]
            empty = frame
        else:
            batches = frame.collect_batches(chunk_size=chunk_rows, maintain_order=True)
            empty = None
        for batch in batches:
            table = batch.to_arrow(compat_level=pl.CompatLevel.oldest())
            if writer is None:
                schema = _schema(table.schema, units, metadata)
                writer = pq.ParquetWriter(tmp, schema, compression=compression)
            writer.write_table(table.cast(schema))
            rows += batch.height
        if writer is None:  # no rows: still a valid file with the schema
            if empty is None:
                empty = pl.DataFrame(schema=frame.collect_schema())
            table = empty.to_arrow(compat_level=pl.CompatLevel.oldest())
            writer = pq.ParquetWriter(tmp, _schema(table.schema, units, metadata),
                                      compression=compression)
        writer.close()
        writer = None
        os.chmod(tmp, 0o666 & ~_umask())
        _move(tmp, out, overwrite)
    finally:
        if writer is not None:
            writer.close()
        tmp.unlink(missing_ok=True)
    return rows


def write_arrow_parquet(table: Any, out: str | os.PathLike, *, overwrite: bool = False,
                        compression: str | None = "zstd") -> int:
    """Write a ``pyarrow.Table`` to ``out`` atomically (units already in its schema); returns rows."""
    import pyarrow.parquet as pq

    out = Path(out)
    folder = _check_target(out, overwrite)
    fd, name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=folder)
    os.close(fd)
    tmp = Path(name)
    try:
        pq.write_table(table, tmp, compression=compression)
        os.chmod(tmp, 0o666 & ~_umask())
        _move(tmp, out, overwrite)
    finally:
        tmp.unlink(missing_ok=True)
    return table.num_rows


def _move(tmp: Path, out: Path, overwrite: bool) -> None:
    if overwrite:
        os.replace(tmp, out)
        return
    try:
        os.link(tmp, out)  # atomic, and fails if out appeared meanwhile
    except FileExistsError:
        raise OutputExistsError(f"{out} exists; pass --overwrite (overwrite=True) to replace it") from None
    except OSError:  # no hard links here
        if out.exists():
            raise OutputExistsError(f"{out} exists; pass --overwrite to replace it") from None
        os.replace(tmp, out)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


__all__ = ["write_parquet", "OutputExistsError"]
