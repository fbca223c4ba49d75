"""Lazy Polars sources over the tiers of many cycles: one row per hit (or event).

:class:`TierSource` is registered with :func:`polars.io.plugins.register_io_source`. Its
rows come in *units* — one channel of one cycle (hits) or one cycle (events) — whose tables in
the different tiers (``ch1084803/raw``, ``ch1084803/dsp``, ``ch1084803/hit``) are aligned row
by row, so the join of the tiers on (cycle, channel, row) is a side-by-side read. Per unit
the constant columns (``cycle``, ``channel``, cycle fields, channel-map fields) are known
without reading anything. The source honours every pushdown Polars hands it:

* projection: only the requested columns of each tier are read;
* predicate: parts of the filter that use only constant columns are decided once per unit
  (the tables of a unit that fails are never read); the rest is evaluated on the columns it
  uses, read first, and the other columns (waveforms) are read only for the passing rows
  (:mod:`.sparse`); light columns of a batch where most rows pass are read whole and masked
  (:data:`DENSE`);
* ``n_rows``: reading stops once enough rows were produced.

Batches are bounded by :data:`BATCH_BYTES` of requested data (Polars' batch-size hint is
ignored: whole channel tables are read at once when they fit). :class:`TcmHitSource` is the
TCM exploded to one row per hit (cycle, event, channel, row) with hit- and event-level
columns placed by position.
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

from ..lh5.errors import LH5DecodeError, LH5NotFoundError
from ..lh5.read import read, read_n_rows
from ..lh5.scan import row_bytes
from .columns import Column
from .sparse import read_rows

#: Columns of at most this many bytes per row are "light": read together with the filter
#: columns of their tier (one read) rather than afterwards for the passing rows only.
LIGHT_BYTES = 64
#: When at least this fraction of a batch passes, light columns are read for the whole batch
#: and masked rather than gathered row by row.
DENSE = 0.25
BATCH_BYTES = 256 << 20  # requested data per batch
BATCH_ROWS = 2_000_000

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


@dataclass
class _Plan:
    """How a source reads: requested columns, per-unit and per-row predicates, batch rows."""

    columns: list[str]
    unit_pred: pl.Expr | None
    unit_cols: list[str]
    row_pred: pl.Expr | None
    pred_cols: list[str]
    step: int


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
        df: pl.DataFrame | None = None
        if paths:
            try:
                df = self._read_paths(file, table, paths, rows, index)
            except LH5NotFoundError:
                missing = self._find_missing(file, table, paths)
                paths = [p for p in paths if p not in missing]
                df = self._read_paths(file, table, paths, rows, index) if paths else None
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
    def _read_paths(file: str, table: str, paths: list[str], rows, index) -> pl.DataFrame:
        if index is None:
            return read_rows(file, table, paths, rows=rows)
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
        """``names`` (constants, row numbers, tier columns) for rows [start, stop) or
        ``index``."""
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
    def plan(self, columns: list[str], predicate: pl.Expr | None) -> _Plan:
        """Split ``predicate`` into per-unit and per-row parts; size the batches."""
        unit_terms: list[pl.Expr] = []
        row_terms: list[pl.Expr] = []
        for term in conjuncts(predicate) if predicate is not None else []:
            roots = set(term.meta.root_names())
            (unit_terms if roots and all(self.is_const(r) for r in roots) else row_terms).append(term)
        unit_roots = set().union(*(t.meta.root_names() for t in unit_terms)) if unit_terms else set()
        row_pred = _and(row_terms)
        row_roots = set(row_pred.meta.root_names()) if row_pred is not None else set()
        pred_cols = [c for c in self.schema if c in row_roots]
        data = [c for c in dict.fromkeys(columns + pred_cols) if self.columns[c].kind == "data"]
        per_row = sum(row_bytes(self.schema[c]) for c in data) or 8
        step = max(1, min(self.batch_rows, self.batch_bytes // per_row))
        return _Plan(columns, _and(unit_terms), [c for c in self.schema if c in unit_roots],
                     row_pred, pred_cols, step)

    def unit_frames(self, unit: Unit, plan: _Plan,
                    remaining: int | None = None) -> Iterator[pl.DataFrame]:
        """The rows of one unit that pass the plan's predicate, batch by batch."""
        if plan.unit_pred is not None:
            one = _frame(self._columns(unit, plan.unit_cols, 0, 1), 1)
            if not one.select(plan.unit_pred.fill_null(False)).item():
                return
        n = unit.n_rows()
        for start in range(0, n, plan.step):
            df = self._batch(unit, plan.columns, plan.row_pred, plan.pred_cols, start,
                             min(n, start + plan.step), remaining)
            if df is None or df.height == 0:
                continue
            yield df
            if remaining is not None:
                remaining -= df.height
                if remaining <= 0:
                    return

    def __call__(self, with_columns: list[str] | None, predicate: pl.Expr | None,
                 n_rows: int | None, batch_size: int | None) -> Iterator[pl.DataFrame]:
        columns = list(self.schema) if with_columns is None else list(with_columns)
        remaining = n_rows
        if remaining is not None and remaining <= 0:
            return
        plan = self.plan(columns, predicate)
        for unit in self.units():
            for df in self.unit_frames(unit, plan, remaining):
                yield df
                if remaining is not None:
                    remaining -= df.height
                    if remaining <= 0:
                        return

    def _batch(self, unit: Unit, columns: list[str], row_pred: pl.Expr | None,
               pred_cols: list[str], start: int, stop: int,
               remaining: int | None) -> pl.DataFrame | None:
        """One batch: predicate columns first, the others only for the passing rows."""
        if row_pred is None:
            if remaining is not None:
                stop = min(stop, start + remaining)
            return self._frame_of(self._columns(unit, columns, start, stop), columns, stop - start)
        data = [c for c in columns if self.columns[c].kind == "data" and c not in pred_cols]
        light_cols = [c for c in data if row_bytes(self.schema[c]) <= LIGHT_BYTES]
        tiers = {self.columns[c].tier for c in pred_cols if self.columns[c].kind == "data"}
        first = pred_cols + [c for c in light_cols if self.columns[c].tier in tiers]
        light = _frame(self._columns(unit, first, start, stop), stop - start)
        mask = light.select(row_pred.fill_null(False)).to_series().to_numpy()
        if mask.shape != (stop - start,):  # the predicate folded to a scalar
            mask = np.full(stop - start, bool(mask.reshape(-1)[0]) if mask.size else False)
        passing = np.flatnonzero(mask)
        if remaining is not None and len(passing) > remaining:
            passing = passing[:remaining]
            mask = np.zeros_like(mask)
            mask[passing] = True
        if len(passing) == 0:
            return None
        n = len(passing)
        if n == stop - start:  # everything passes: plain range reads
            rest = [c for c in columns if c not in light.columns]
            have = {c: light.get_column(c) for c in light.columns}
            have.update(self._columns(unit, rest, start, stop))
            return self._frame_of(have, columns, n)
        keep = pl.Series(mask)
        index = passing.astype(np.int64) + start
        later_light = [c for c in light_cols if c not in light.columns]
        if later_light and n >= DENSE * (stop - start):
            # most rows pass: the other light columns for the whole batch, one filter
            extra = self._columns(unit, later_light, start, stop)
            light = pl.concat([light, pl.DataFrame(list(extra.values()))], how="horizontal")
            later_light = []
        light = light.filter(keep)
        have = {c: light.get_column(c) for c in light.columns}
        rest = [c for c in columns if c not in have]
        have.update(self._columns(unit, rest, start, stop, index))
        return self._frame_of(have, columns, n)

    @staticmethod
    def _frame_of(have: Mapping[str, pl.Series], columns: list[str], height: int) -> pl.DataFrame:
        return pl.DataFrame([have[c] for c in columns]) if columns else pl.DataFrame(height=height)


@dataclass
class TcmCycle:
    """One cycle of an exploded-events query: constants, TCM table, the units of its
    hit-level tiers (a generator function) and its event-level unit."""

    consts: dict[str, Any]
    tcm: tuple[str, str]
    hit_units: Callable[[], Iterable[Unit]] | None = None
    evt_unit: Unit | None = None


def explode_tcm(file: str, table: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(event, channel, row)`` of every hit in a TCM table (pygama ≥ 2.1 layout)."""
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


class TcmHitSource:
    """Events exploded to one row per hit through the TCM: cycle constants, ``event`` (TCM
    row), ``channel``, ``row`` and any hit-level (``hits``) and event-level (``events``)
    columns. Per cycle the hit columns are read per channel table (filters on them pushed
    into those reads, like :class:`TierSource`), the evt columns per event, and both are
    placed on the TCM's hits by position — no hash join; rows come in TCM order."""

    def __init__(self, cycles: list[TcmCycle], schema: pl.Schema, *, hits: TierSource | None,
                 events: TierSource | None, channels: set[int] | None = None,
                 maps: Callable[[TcmCycle], Mapping[int, Mapping[str, Any]]] | None = None) -> None:
        self.cycles, self.schema, self.hits, self.events = cycles, schema, hits, events
        self.channels, self.maps = channels, maps

    def lazy(self, explain: str) -> pl.LazyFrame:
        return register_io_source(self, schema=self.schema, is_pure=True,
                                  explain_name="pygama_ak.query.tcm", explain_detail=explain)

    def _side(self, source: TierSource | None, terms: list[pl.Expr], rest: list[pl.Expr],
              skip: set[str]) -> list[pl.Expr]:
        """The terms whose columns all come from ``source`` (besides ``skip``)."""
        if source is None:
            return []
        mine = [t for t in terms if set(t.meta.root_names()) <= set(source.schema)
                and not set(t.meta.root_names()) <= skip]
        for t in mine:
            rest.remove(t)
        return mine

    def __call__(self, with_columns: list[str] | None, predicate: pl.Expr | None,
                 n_rows: int | None, batch_size: int | None) -> Iterator[pl.DataFrame]:
        columns = list(self.schema) if with_columns is None else list(with_columns)
        terms = conjuncts(predicate) if predicate is not None else []
        rest = list(terms)
        consts = {"cycle", *(c for c in self.schema if c.startswith("cycle."))}
        cycle_terms = [t for t in terms if set(t.meta.root_names()) <= consts]
        rest = [t for t in rest if t not in cycle_terms]
        hit_terms = self._side(self.hits, rest, rest, {"cycle"})
        evt_terms = self._side(self.events, rest, rest, {"cycle"})
        needed = set(columns) | set().union(*(t.meta.root_names() for t in rest)) if rest else set(columns)
        hit_plan = evt_plan = None
        if self.hits is not None:
            cols = [c for c in self.hits.schema if c in needed and c not in ("cycle", "channel", "row")]
            hit_plan = self.hits.plan([*cols, "row"], _and(hit_terms))
        if self.events is not None:
            cols = [c for c in self.events.schema if c in needed and c not in ("cycle", "event")]
            evt_plan = self.events.plan([*cols, "event"], _and(evt_terms))
        remaining = n_rows
        for cycle in self.cycles:
            if cycle_terms:
                one = pl.DataFrame({c: pl.Series([cycle.consts.get(c)], dtype=self.schema[c])
                                    for c in consts if c in self.schema})
                if not one.select(_and(cycle_terms).fill_null(False)).item():
                    continue
            df = self._cycle(cycle, hit_plan, evt_plan, needed)
            if df is None:
                continue
            if rest:
                df = df.filter(_and(rest))
            df = df.select(columns) if columns else pl.DataFrame(height=df.height)
            if remaining is not None:
                df = df.head(remaining)
                remaining -= df.height
            if df.height:
                yield df
            if remaining is not None and remaining <= 0:
                return

    def _cycle(self, cycle: TcmCycle, hit_plan: _Plan | None, evt_plan: _Plan | None,
               needed: set[str]) -> pl.DataFrame | None:
        events, chans, rows = explode_tcm(*cycle.tcm)
        keep = np.ones(len(events), dtype=bool)
        if self.channels is not None:
            keep &= np.isin(chans, np.fromiter(self.channels, dtype=np.int64))
        hit_pos = evt_pos = None
        hit_frame = evt_frame = None
        if hit_plan is not None:
            hit_pos = np.full(len(events), -1, dtype=np.int64)
            parts, offset = [], 0
            for unit in cycle.hit_units() if cycle.hit_units is not None else []:
                frames = list(self.hits.unit_frames(unit, hit_plan))
                if not frames:
                    continue
                part = frames[0] if len(frames) == 1 else pl.concat(frames)
                where = np.full(unit.n_rows(), -1, dtype=np.int64)
                where[part.get_column("row").to_numpy()] = offset + np.arange(part.height)
                mine = np.flatnonzero(chans == unit.consts["channel"])
                valid = rows[mine] < len(where)
                hit_pos[mine[valid]] = where[rows[mine[valid]]]
                parts.append(part.drop("row"))
                offset += part.height
            keep &= hit_pos >= 0
            if parts:
                hit_frame = pl.concat(parts) if len(parts) > 1 else parts[0]
        if evt_plan is not None and cycle.evt_unit is not None:
            frames = list(self.events.unit_frames(cycle.evt_unit, evt_plan))
            part = pl.concat(frames) if len(frames) > 1 else frames[0] if frames else None
            evt_pos = np.full(len(events), -1, dtype=np.int64)
            if part is not None:
                where = np.full(int(events.max()) + 1 if len(events) else 0, -1, dtype=np.int64)
                ev = part.get_column("event").to_numpy()
                inside = ev < len(where)
                where[ev[inside]] = np.flatnonzero(inside)
                evt_pos = where[events] if len(where) else evt_pos
                evt_frame = part.drop("event")
            keep &= evt_pos >= 0
        take = np.flatnonzero(keep)
        if len(take) == 0:
            return None
        n = len(take)
        out: dict[str, pl.Series] = {}
        for name, values in (("event", events), ("channel", chans), ("row", rows)):
            if name in needed:
                out[name] = pl.Series(name, values[take], dtype=self.schema[name])
        for name, value in cycle.consts.items():
            if name in needed and name in self.schema:
                out[name] = pl.Series(name, [value], dtype=self.schema[name]).new_from_index(0, n)
        if self.maps is not None:
            entries = self.maps(cycle)
            picked = chans[take]
            for name in [c for c in self.schema if c in needed and c not in out
                         and (hit_frame is None or c not in hit_frame.columns)
                         and (evt_frame is None or c not in evt_frame.columns)]:
                values = {ch: e.get(name) for ch, e in entries.items()}
                out[name] = pl.Series(name, [values.get(int(k)) for k in picked], dtype=self.schema[name])
        frame = pl.DataFrame(list(out.values())) if out else pl.DataFrame(height=n)
        extra = []
        if hit_frame is not None and hit_frame.width:
            extra.append(hit_frame[hit_pos[take]])
        if evt_frame is not None and evt_frame.width:
            extra.append(evt_frame[evt_pos[take]])
        return pl.concat([frame, *extra], how="horizontal") if extra else frame


__all__ = ["TierSource", "TcmHitSource", "TcmCycle", "Unit", "explode_tcm", "conjuncts"]
