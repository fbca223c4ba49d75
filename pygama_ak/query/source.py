"""Lazy Polars sources over the tiers of many cycles: one row per hit (or event).

:class:`TierSource` is registered with :func:`polars.io.plugins.register_io_source`. Its
rows come in *units* — one channel of one cycle (hits) or one cycle (events) — whose tables in
the different tiers (``ch1084803/raw``, ``ch1084803/dsp``, ``ch1084803/hit``) are aligned row
by row, so the join of the tiers on (cycle, channel, row) is a side-by-side read. Per unit
the constant columns (``cycle``, ``channel``, cycle fields, channel-map fields) are known
without reading anything. The source honours every pushdown Polars hands it:

* projection: only the requested columns of each tier are read;
* predicate: parts of the filter that use only constant columns are decided once per unit
  (a unit that fails is never opened); the rest is evaluated on the columns it uses, read
  first, and the other columns (waveforms) are read only for the passing rows, in clusters
  of nearby rows (:data:`GAP_BYTES`);
* ``n_rows``: reading stops once enough rows were produced.

Batches are bounded by :data:`BATCH_BYTES` of requested data (Polars' batch-size hint is
ignored: whole channel tables are read at once when they fit). :class:`TcmSource` is the TCM
exploded to one row per hit: (cycle, event, channel, row).
"""

from __future__ import annotations

import ast
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl
from polars.io.plugins import register_io_source

from ..lh5.arrow import to_polars
from ..lh5.errors import LH5DecodeError, LH5NotFoundError
from ..lh5.read import read, read_n_rows
from .columns import Column
from .sparse import read_rows

#: Columns of at most this many bytes per row are "light": read together with the filter
#: columns of their tier (one read) rather than afterwards for the passing rows only.
LIGHT_BYTES = 64
#: A gap of unselected rows worth more than this many (uncompressed) bytes of the columns
#: still to read starts a new read; smaller gaps are read through (one read call costs about
#: as much as decompressing a few MB).
GAP_BYTES = 4 << 20
MAX_READS = 1024  # per batch and tier: bounds the call overhead of very scattered selections
BATCH_BYTES = 256 << 20  # requested data per batch
BATCH_ROWS = 2_000_000

_NUMBER_BYTES = {pl.Int8: 1, pl.UInt8: 1, pl.Boolean: 1, pl.Int16: 2, pl.UInt16: 2,
                 pl.Float16: 2, pl.Int32: 4, pl.UInt32: 4, pl.Float32: 4}


def row_bytes(dtype: pl.DataType) -> int:
    """Rough uncompressed size of one value in bytes (lists and strings guessed)."""
    if isinstance(dtype, pl.Array):
        return int(np.prod(dtype.shape)) * row_bytes(dtype.inner)
    if isinstance(dtype, pl.Struct):
        return sum(row_bytes(f.dtype) for f in dtype.fields)
    if isinstance(dtype, pl.List):
        return 8 + 8 * row_bytes(dtype.inner)
    if dtype == pl.String:
        return 24
    return _NUMBER_BYTES.get(dtype.base_type(), 8)


def clusters(rows: np.ndarray, gap_rows: int, max_reads: int = MAX_READS) -> list[np.ndarray]:
    """Split sorted row numbers where more than ``gap_rows`` rows are skipped (at most
    ``max_reads`` pieces, cutting at the largest gaps)."""
    if len(rows) < 2:
        return [rows]
    gaps = np.diff(rows) - 1
    cuts = np.flatnonzero(gaps > gap_rows)
    if len(cuts) >= max_reads:
        cuts = np.sort(cuts[np.argsort(gaps[cuts], kind="stable")[-(max_reads - 1):]])
    return np.split(rows, cuts + 1)


def conjuncts(expr: pl.Expr) -> list[pl.Expr]:
    """The terms of a top-level ``a & b & ...`` (the whole expression when it is not one)."""
    try:
        tree = json.loads(expr.meta.serialize(format="json"))
    except Exception:  # noqa: BLE001 - not serialisable: keep it whole
        return [expr]
    node = tree.get("BinaryExpr") if isinstance(tree, dict) else None
    if isinstance(node, dict) and node.get("op") in ("And", "LogicalAnd"):
        parts = expr.meta.pop()
        if len(parts) == 2:
            return conjuncts(parts[0]) + conjuncts(parts[1])
    return [expr]


def _and(exprs: list[pl.Expr]) -> pl.Expr | None:
    if not exprs:
        return None
    out = exprs[0]
    for e in exprs[1:]:
        out = out & e
    return out


def _flatten(df: pl.DataFrame) -> pl.DataFrame:
    """Struct columns (nested tables) → one column per leaf, named by its ``a/b`` path."""
    while True:
        structs = [c for c, d in df.schema.items() if isinstance(d, pl.Struct)]
        if not structs:
            return df
        df = df.unnest(structs, separator="/")


def _frame(series: Mapping[str, pl.Series], height: int) -> pl.DataFrame:
    return pl.DataFrame(list(series.values())) if series else pl.DataFrame(height=height)


@dataclass
class Unit:
    """Rows that share their constant columns: one channel of a cycle, or one cycle."""

    consts: dict[str, Any]
    tables: dict[str, tuple[str, str]]  # tier → (file, table), every membership tier
    counts: dict[str, int | None] = field(default_factory=dict)  # tier → rows, when known

    def n_rows(self) -> int:
        """Rows of the unit (equal in every tier, else an error names both tables)."""
        counts = {t: self.counts[t] if self.counts.get(t) is not None else
                  (read_n_rows(f, name) or 0) for t, (f, name) in self.tables.items()}
        self.counts = counts
        values = set(counts.values())
        if len(values) > 1:
            (t0, n0), *rest = counts.items()
            t1, n1 = next((t, n) for t, n in rest if n != n0)
            f1, name1 = self.tables[t1]
            raise LH5DecodeError(f1, name1, f"{n1} rows, but {self.tables[t0][0]}:"
                                 f"/{self.tables[t0][1]} has {n0}: the tiers do not align")
        return values.pop() if values else 0


class TierSource:
    """The generator Polars calls: ``(with_columns, predicate, n_rows, batch_size)``."""

    def __init__(self, units: Callable[[], Iterable[Unit]], schema: pl.Schema,
                 columns: Mapping[str, Column], row_name: str, *,
                 batch_bytes: int = BATCH_BYTES, batch_rows: int = BATCH_ROWS) -> None:
        self.units, self.schema, self.row_name = units, schema, row_name
        self.columns = dict(columns)
        self.batch_bytes, self.batch_rows = batch_bytes, batch_rows
        self._missing: dict[tuple[str, str], set[str]] = {}

    # -- column kinds
    def is_const(self, name: str) -> bool:
        c = self.columns.get(name)
        return c is not None and c.kind in ("cycle", "map", "provenance") and name != self.row_name

    def lazy(self, explain: str) -> pl.LazyFrame:
        return register_io_source(self, schema=self.schema, is_pure=True,
                                  explain_name="pygama_ak.query", explain_detail=explain)

    # -- reading
    def _read_tier(self, tier: str, unit: Unit, names: list[str], *,
                   rows: tuple[int, int] | None = None, index: np.ndarray | None = None) -> dict[str, pl.Series]:
        """Columns ``names`` of one tier for a row range or sorted row numbers."""
        file, table = unit.tables[tier]
        missing = self._missing.get((file, table), set())
        paths = [self.columns[n].path for n in names if self.columns[n].path not in missing]
        n = (rows[1] - rows[0]) if index is None else len(index)
        per_row = sum(row_bytes(self.columns[n].dtype) for n in names) or 1
        df: pl.DataFrame | None = None
        if paths:
            try:
                df = self._read_paths(file, table, paths, rows, index, per_row)
            except LH5NotFoundError:
                missing = self._find_missing(file, table, paths)
                paths = [p for p in paths if p not in missing]
                df = self._read_paths(file, table, paths, rows, index, per_row) if paths else None
        out = {}
        for name in names:
            col = self.columns[name]
            if df is not None and col.path in df.columns:
                s = df.get_column(col.path)
                if s.dtype != col.dtype:
                    s = s.cast(col.dtype)
                out[name] = s.alias(name)
            else:  # the table lacks this column: nulls
                out[name] = pl.Series(name, [None] * n, dtype=col.dtype)
        return out

    @staticmethod
    def _read_paths(file: str, table: str, paths: list[str], rows, index,
                    per_row: int) -> pl.DataFrame:
        if index is None:
            return _flatten(to_polars(read(file, table, fields=paths, rows=rows)))
        return read_rows(file, table, paths, index)

    def _find_missing(self, file: str, table: str, paths: list[str]) -> set[str]:
        from ..lh5.read import get_object, open_lh5

        with open_lh5(file) as f:
            obj = get_object(f, file, table)
            missing = {p for p in paths if p not in obj}
        self._missing[(file, table)] = self._missing.get((file, table), set()) | missing
        return missing

    def _const(self, name: str, unit: Unit, n: int) -> pl.Series:
        dtype = self.schema[name]
        one = pl.Series(name, [unit.consts.get(name)], dtype=dtype)
        return one.new_from_index(0, n) if n != 1 else one

    def _columns(self, unit: Unit, names: list[str], start: int, stop: int,
                 index: np.ndarray | None = None) -> dict[str, pl.Series]:
        """``names`` (constants, row numbers, tier columns) for rows [start, stop) or ``index``."""
        n = (stop - start) if index is None else len(index)
        out: dict[str, pl.Series] = {}
        by_tier: dict[str, list[str]] = {}
        for name in names:
            if name == self.row_name:
                values = np.arange(start, stop, dtype=np.int64) if index is None else index
                out[name] = pl.Series(name, values, dtype=pl.Int64)
            elif self.is_const(name):
                out[name] = self._const(name, unit, n)
            else:
                by_tier.setdefault(self.columns[name].tier, []).append(name)
        for tier, tier_names in by_tier.items():
            if index is None:
                out.update(self._read_tier(tier, unit, tier_names, rows=(start, stop)))
            else:
                out.update(self._read_tier(tier, unit, tier_names, index=index))
        return out

    # -- the generator
    def __call__(self, with_columns: list[str] | None, predicate: pl.Expr | None,
                 n_rows: int | None, batch_size: int | None) -> Iterator[pl.DataFrame]:
        columns = list(self.schema) if with_columns is None else list(with_columns)
        remaining = n_rows
        if remaining is not None and remaining <= 0:
            return
        unit_terms: list[pl.Expr] = []
        row_terms: list[pl.Expr] = []
        for term in conjuncts(predicate) if predicate is not None else []:
            roots = set(term.meta.root_names())
            (unit_terms if roots and all(self.is_const(r) for r in roots) else row_terms).append(term)
        unit_pred, row_pred = _and(unit_terms), _and(row_terms)
        unit_cols = [c for c in self.schema if c in set().union(*(t.meta.root_names() for t in unit_terms))] \
            if unit_terms else []
        pred_cols = [c for c in self.schema if row_pred is not None and c in set(row_pred.meta.root_names())]
        data = [c for c in dict.fromkeys(columns + pred_cols) if self.columns[c].kind == "data"]
        per_row = sum(row_bytes(self.schema[c]) for c in data) or 8
        step = max(1, min(self.batch_rows, self.batch_bytes // per_row))
        for unit in self.units():
            if unit_pred is not None:
                one = _frame(self._columns(unit, unit_cols, 0, 1), 1)
                if not one.select(unit_pred.fill_null(False)).item():
                    continue
            n = unit.n_rows()
            for start in range(0, n, step):
                df = self._batch(unit, columns, row_pred, pred_cols, start, min(n, start + step),
                                 remaining)
                if df is None or df.height == 0:
                    continue
                yield df
                if remaining is not None:
                    remaining -= df.height
                    if remaining <= 0:
                        return

    def _batch(self, unit: Unit, columns: list[str], row_pred: pl.Expr | None,
               pred_cols: list[str], start: int, stop: int,
               remaining: int | None) -> pl.DataFrame | None:
        """One batch: predicate columns first, the others only for the passing rows."""
        have: dict[str, pl.Series] = {}
        index = None
        if row_pred is not None:
            tiers = {self.columns[c].tier for c in pred_cols if self.columns[c].kind == "data"}
            extra = [c for c in columns if c not in pred_cols and self.columns[c].kind == "data"
                     and self.columns[c].tier in tiers and row_bytes(self.schema[c]) <= LIGHT_BYTES]
            light = _frame(self._columns(unit, pred_cols + extra, start, stop), stop - start)
            keep = light.select(row_pred.fill_null(False)).to_series()
            if keep.len() == 1 and light.height != 1:  # folded to a scalar
                keep = pl.Series([keep[0]] * light.height, dtype=pl.Boolean)
            mask = keep.to_numpy()
            passing = np.flatnonzero(mask)
            if remaining is not None and len(passing) > remaining:
                passing = passing[:remaining]
                mask = np.zeros_like(mask)
                mask[passing] = True
            if len(passing) == 0:
                return None
            if len(passing) < stop - start:
                light = light.filter(pl.Series(mask))
                index = passing.astype(np.int64) + start
            have = {c: light.get_column(c) for c in columns if c in light.columns}
        elif remaining is not None:
            stop = min(stop, start + remaining)
        rest = [c for c in columns if c not in have]
        have.update(self._columns(unit, rest, start, stop, index))
        height = (stop - start) if index is None else len(index)
        if not columns:
            return pl.DataFrame(height=height)
        return pl.DataFrame([have[c] for c in columns])


class TcmSource:
    """The TCM of each cycle exploded to one row per hit: cycle constants, ``event`` (TCM
    row), ``channel`` and ``row`` (the hit's row in its channel's tables)."""

    def __init__(self, cycles: list[tuple[dict[str, Any], str, str]], schema: pl.Schema,
                 channels: set[int] | None = None,
                 maps: Callable[[str], Mapping[int, Mapping[str, Any]]] | None = None) -> None:
        """``cycles``: ``(constants, file, table)`` per cycle; ``maps(cycle)``: channel-map
        fields per channel, for the map columns of ``schema``."""
        self.cycles, self.schema, self.channels, self.maps = cycles, schema, channels, maps

    def lazy(self, explain: str) -> pl.LazyFrame:
        return register_io_source(self, schema=self.schema, is_pure=True,
                                  explain_name="pygama_ak.query.tcm", explain_detail=explain)

    @staticmethod
    def explode(file: str, table: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(event, channel, row)`` of every hit in a TCM table."""
        import awkward as ak

        tcm = read(file, table, fields=["table_key", "row_in_table"])
        attrs = (tcm.layout.parameters or {}).get("attrs") or {}
        counts = ak.to_numpy(ak.num(tcm.table_key))
        keys = ak.to_numpy(ak.flatten(tcm.table_key)).astype(np.int64)
        rows = ak.to_numpy(ak.flatten(tcm.row_in_table)).astype(np.int64)
        if not attrs.get("hash_func") and attrs.get("tables"):
            # keys are positions in the 'tables' list: map them to the digits of each name
            try:
                names = ast.literal_eval(str(attrs["tables"]))
            except (ValueError, SyntaxError) as exc:
                raise LH5DecodeError(file, table, f"unreadable 'tables' attribute: {exc}") from None
            ids = np.array([int("".join(ch for ch in str(n) if ch.isdigit()) or -1) for n in names])
            keys = ids[keys]
        events = np.repeat(np.arange(len(counts), dtype=np.int64), counts)
        return events, keys, rows

    def __call__(self, with_columns: list[str] | None, predicate: pl.Expr | None,
                 n_rows: int | None, batch_size: int | None) -> Iterator[pl.DataFrame]:
        columns = list(self.schema) if with_columns is None else list(with_columns)
        remaining = n_rows
        for consts, file, table in self.cycles:
            events, keys, rows = self.explode(file, table)
            n = len(events)
            data = {"event": events, "channel": keys, "row": rows}
            entries = self.maps(consts["cycle"]) if self.maps is not None else {}
            cols = []
            for c, dtype in self.schema.items():
                if c in data:
                    cols.append(pl.Series(c, data[c], dtype=dtype))
                elif c in consts:
                    cols.append(pl.repeat(consts[c], n, dtype=dtype, eager=True).alias(c))
                else:  # a channel-map field
                    values = {ch: e.get(c) for ch, e in entries.items()}
                    cols.append(pl.Series(c, [values.get(int(k)) for k in keys], dtype=dtype))
            df = pl.DataFrame(cols)
            if self.channels is not None:
                df = df.filter(pl.col("channel").is_in(sorted(self.channels)))
            if predicate is not None:
                df = df.filter(predicate)
            df = df.select(columns) if columns else pl.DataFrame(height=df.height)
            if remaining is not None:
                df = df.head(remaining)
                remaining -= df.height
            if df.height:
                yield df
            if remaining is not None and remaining <= 0:
                return


__all__ = ["TierSource", "TcmSource", "Unit", "clusters", "conjuncts", "row_bytes"]
