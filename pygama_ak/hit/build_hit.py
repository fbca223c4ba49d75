"""dsp → hit: pygama's ``build_hit`` configs as lazy Polars queries.

For each input table (``ch*/dsp`` by default) only the columns the config needs are read,
the operations become Polars expressions (restricted grammar, no ``eval``) applied in
dependency order, flags are bit-packed by ``aggregations``, and the ``outputs`` are written to
``<table with dsp→hit>`` in chunks of ``chunk_rows`` rows (bounded memory).
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ..configs import ConfigError
from .config import HitConfig, parse_hit_config

DEFAULT_CHUNK_ROWS = 1_000_000


def hit_frame(lf, config: HitConfig, schema: Mapping[str, Any] | None = None):
    """The hit columns of ``lf`` (a ``pl.LazyFrame`` of a dsp table) as a LazyFrame."""
    import polars as pl

    schema = dict(schema if schema is not None else lf.collect_schema())
    available = list(schema)
    for op in config.operations:
        def resolve(name: str, op=op):
            if name in op.parameters:
                value = op.parameters[name]
                return pl.lit(value, dtype=pl.Float64) if isinstance(value, float) else value
            if name in schema:
                return pl.col(name)
            top, _, sub = name.partition("__")
            if sub and top in schema:
                expr = pl.col(top)
                for part in sub.split("__"):
                    expr = expr.struct.field(part)
                return expr
            raise ConfigError(f"{config.source}: operation {op.name!r}: unknown name {name!r}")

        lf = lf.with_columns(op.expression.to_polars(resolve, schema).alias(op.name))
        schema[op.name] = pl.Float64  # only used to decide NaN handling downstream
    for agg, columns in config.aggregations.items():
        n = len(columns)
        dtype = pl.UInt8 if n <= 8 else pl.UInt16 if n <= 16 else pl.UInt32 if n <= 32 else pl.UInt64
        packed = pl.lit(0, dtype=dtype)
        for bit, col in enumerate(columns):
            packed = packed + pl.col(col).cast(dtype) * pl.lit(1 << bit, dtype=dtype)
        lf = lf.with_columns(packed.alias(agg))
    if config.outputs is not None:
        computed = {op.name for op in config.operations} | set(config.aggregations)
        missing = [o for o in config.outputs if o not in computed and o not in available]
        if missing:
            raise ConfigError(f"{config.source}: output {missing[0]!r} is neither computed nor an input column")
        lf = lf.select(config.outputs)
    return lf


def _column_attrs(config: HitConfig) -> dict[str, dict]:
    attrs = {op.name: dict(op.attrs) for op in config.operations}
    for agg, columns in config.aggregations.items():
        attrs[agg] = {"bit_names": ",".join(columns)}
    return attrs


def discover_tables(path: str | os.PathLike, tier: str = "dsp") -> list[str]:
    """``<group>/dsp`` tables of a file (and a root ``dsp`` table), sorted."""
    import h5py

    out = []
    with h5py.File(path, "r", locking=False) as f:
        if tier in f:
            out.append(tier)
        for key in f:
            obj = f.get(key)
            if isinstance(obj, h5py.Group) and tier in obj:
                out.append(f"{key}/{tier}")
    return out


def select_tables(path, tables: str | Sequence[str] | None, tier: str = "dsp") -> list[str]:
    """Tables named by ``tables`` (list, comma-separated names, or glob such as ``ch*/dsp``)."""
    found = discover_tables(path, tier)
    if tables is None:
        return found
    patterns = tables.split(",") if isinstance(tables, str) else list(tables)
    out = []
    for pattern in patterns:
        pattern = pattern.strip().strip("/")
        matches = [t for t in found if fnmatch.fnmatchcase(t, pattern)] if any(
            c in pattern for c in "*?[") else [pattern]
        if not matches:
            raise ConfigError(f"{path}: no table matches {pattern!r} (tables: {', '.join(found)})")
        out += [m for m in matches if m not in out]
    return out


def output_name(table: str, tier_in: str = "dsp", tier_out: str = "hit") -> str:
    """``ch1084803/dsp`` → ``ch1084803/hit``."""
    parts = table.split("/")
    if parts[-1] == tier_in:
        parts[-1] = tier_out
    return "/".join(parts)


def build_hit(
    infile: str | os.PathLike,
    outfile: str | os.PathLike,
    *,
    config: str | os.PathLike | Mapping | None = None,
    tables_config: Mapping[str, Any] | str | os.PathLike | None = None,
    tables: str | Sequence[str] | None = None,
    overwrite: bool = False,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    compression: Any = "gzip",
    progress: Callable[[str, int, int], None] | None = None,
) -> dict[str, int]:
    """Build the hit tier of one dsp file; returns rows written per output table.

    Exactly one of ``config`` (one config for every table) and ``tables_config``
    (``{table: config}``, or a file holding that mapping) is needed. The output is written to a
    temporary file and renamed when complete; an existing ``outfile`` needs ``overwrite``.
    """
    import awkward as ak

    from ..configs import load_config
    from ..lh5 import read, write
    from ..lh5.arrow import from_polars, to_polars
    from ..lh5.output import atomic_output
    from ..lh5.read import read_n_rows

    if (config is None) == (tables_config is None):
        raise ConfigError("give exactly one of config (all tables) and tables_config (per table)")
    if tables_config is not None:
        mapping, _ = load_config(tables_config)
        configs = {t.strip("/"): parse_hit_config(c) for t, c in mapping.items()}
        names = list(configs) if tables is None else select_tables(infile, tables)
    else:
        shared = parse_hit_config(config)
        names = select_tables(infile, tables)
        configs = dict.fromkeys(names, shared)
    if not names:
        raise ConfigError(f"{infile}: no dsp tables found")
    counts: dict[str, int] = {}
    with atomic_output(outfile, overwrite=overwrite) as tmp:
        for table in names:
            cfg = configs.get(table)
            if cfg is None:
                raise ConfigError(f"{infile}: no hit config for table {table!r}")
            head = read(infile, table, rows=(0, 0))
            available = list(head.fields)
            columns = cfg.input_columns(available)
            attrs = _column_attrs(cfg)
            n = read_n_rows(infile, table) or 0
            out_name = output_name(table)
            counts[out_name] = 0
            per_field = {name: a.get("hdf5_settings") for name, a in attrs.items() if a.get("hdf5_settings")}
            settings = {"default": compression, **per_field} if per_field else compression
            for start in range(0, max(n, 1), chunk_rows):
                stop = min(start + chunk_rows, n)
                chunk = read(infile, table, fields=columns, rows=(start, stop))
                frame = to_polars(chunk)
                result = hit_frame(frame.lazy(), cfg, frame.schema).collect()
                array = from_polars(result)
                array = _with_attrs(ak, array, attrs, head)
                write(array, tmp, out_name, mode="append", compression=settings)
                counts[out_name] += len(result)
                if progress is not None:
                    progress(table, stop, n)
    return counts


def _with_attrs(ak, array, attrs: dict[str, dict], head):
    """Attach units/description/bit_names (config) or the input's parameters (forwarded)."""
    fields = {}
    for name in array.fields:
        col = array[name]
        if name in attrs:
            a = {k: v for k, v in attrs[name].items() if k != "hdf5_settings"}
            params = {}
            if "units" in a:
                params["units"] = str(a.pop("units"))
            if a:
                params["attrs"] = {k: v if isinstance(v, int | float | bool) else str(v)
                                   for k, v in a.items()}
            for key, value in params.items():
                col = ak.with_parameter(col, key, value)
        elif name in head.fields:
            for key, value in ak.parameters(head[name]).items():
                col = ak.with_parameter(col, key, value)
        fields[name] = col
    return ak.zip(fields, depth_limit=1)


def default_output(infile: str | os.PathLike, outdir: str | os.PathLike | None = None) -> Path:
    """``x-tier_dsp.lh5`` → ``x-tier_hit.lh5`` (``x_dsp`` → ``x_hit``), in ``outdir`` or beside."""
    path = Path(infile)
    stem = path.stem
    for old, new in (("tier_dsp", "tier_hit"), ("_dsp", "_hit")):
        if stem.endswith(old):
            stem = stem[: -len(old)] + new
            break
    else:
        stem += "_hit"
    return Path(outdir or path.parent) / f"{stem}.lh5"
