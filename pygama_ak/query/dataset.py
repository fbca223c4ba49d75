"""``Dataset``: a production tree as lazy Polars frames of hits and events.

>>> ds = Dataset("prod-ref-l200/generated/tier")
>>> ds.cycles()                                          # one row per cycle, file per tier
>>> lf = ds.hits(["hit.cuspEmax_ctc_cal", "tp_0_est", "raw.waveform.values"],
...              runs="period == 'p03' and type == 'cal'",
...              where="cuspEmax_ctc_cal > 2600 and is_valid_cal")
>>> lf.collect()      # cycle, channel, row + the columns; waveforms read for passing rows only

Hits join the tiers of each channel on (cycle, channel, row); events are either the evt tier
(one row per event) or the TCM exploded to one row per hit with that hit's columns. Column
names follow :mod:`pygama_ak.query.columns`; ``runs``, ``where`` and string ``channels``
use the restricted expression grammar of :mod:`pygama_ak.expr` (no ``eval``). Filters and
projections reach the LH5 reads (:mod:`pygama_ak.query.source`).
"""

from __future__ import annotations

import contextlib
import copy
import os
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from ..expr import parse
from .chmap import ChannelMap, as_value, column_dtypes
from .columns import Column, ColumnError, Resolver, TierColumns
from .layout import LEGEND_TEMPLATE, Cycle, TableTemplate, discover, table_templates
from .source import TcmCycle, TcmHitSource, TierSource, Unit

_TIER_ORDER = ("raw", "dsp", "psp", "hit", "pht", "tcm", "evt", "pet", "skm")
ChannelSpec = int | str | Sequence[int | str] | None


@dataclass
class _Built:
    """A query before its filter: the joined frame, output and cut expressions."""

    frame: pl.LazyFrame
    outputs: list[pl.Expr]
    cuts: list[tuple[str, pl.Expr]]
    units: dict[str, Any] = field(default_factory=dict)  # output → units (or {sub.path: units})
    texts: dict[str, str] = field(default_factory=dict)  # cut name → expression text


class Dataset:
    """A production tree (or any tree described by a file template) of LH5 tier files.

    ``template``: one pattern with ``{tier}`` relative to ``root`` (default
    :data:`~pygama_ak.query.layout.LEGEND_TEMPLATE`) or ``{tier: pattern}``. ``tables``
    overrides the table names per tier (``{"raw": "ch{channel}/raw", "tcm": "hardware_tcm_1"}``).
    ``channel_map``: a channel map or parameter database (see :meth:`with_channel_map`).
    """

    def __init__(self, root: str | os.PathLike, *, template: str | Mapping[str, str] = LEGEND_TEMPLATE,
                 tables: Mapping[str, str] | None = None,
                 channel_map: str | os.PathLike | Mapping | ChannelMap | None = None,
                 tcm_tier: str = "tcm") -> None:
        self.root = Path(root)
        found = discover(self.root, template)
        self.template = template
        self.fields: list[str] = found.fields
        self._cycles: list[Cycle] = found.cycles
        self.unmatched: list[Path] = found.unmatched
        order = {t: i for i, t in enumerate(_TIER_ORDER)}
        self.tiers: list[str] = sorted(found.tiers, key=lambda t: (order.get(t, len(order)), t))
        self.tcm_tier = tcm_tier
        self._tables: dict[str, TableTemplate] = table_templates(self.tiers, tables)
        self._maps: list[ChannelMap] = []
        self._listing: dict[tuple[str, str], dict[int, tuple[str, int | None]]] = {}
        self._tier_columns: dict[tuple[str, str], TierColumns] = {}
        if channel_map is not None:
            self._maps.append(channel_map if isinstance(channel_map, ChannelMap)
                              else ChannelMap(channel_map))

    def __repr__(self) -> str:
        return (f"Dataset({str(self.root)!r}: {len(self._cycles)} cycles, tiers "
                f"{', '.join(self.tiers)}{', maps ' + ', '.join(m.prefix for m in self._maps) if self._maps else ''})")

    # ------------------------------------------------------------------ structure
    @property
    def hit_tiers(self) -> list[str]:
        """Tiers with one table per channel (raw, dsp, hit, ...)."""
        return [t for t in self.tiers if self._tables[t].per_channel and t != self.tcm_tier]

    @property
    def event_tiers(self) -> list[str]:
        """Tiers with one table per cycle besides the TCM (evt, ...)."""
        return [t for t in self.tiers if not self._tables[t].per_channel and t != self.tcm_tier]

    def with_channel_map(self, source: str | os.PathLike | Mapping, *, prefix: str = "chmap",
                         key: str | None = "daq.rawid") -> Dataset:
        """A copy with a channel map / parameter database joined on the channel.

        ``source``: a YAML/JSON file or mapping ``{entry: {...}}`` or a legend-metadata folder
        with a ``validity.yaml``; ``key``: the dotted field holding the DAQ id (None: the entry
        name, e.g. ``ch1084803``). Its fields become columns ``<prefix>.<field>``.
        """
        if any(m.prefix == prefix for m in self._maps):
            raise ValueError(f"a channel map with prefix {prefix!r} is already joined")
        if prefix in self.tiers or prefix in ("cycle", "channel", "row", "event"):
            raise ValueError(f"channel map prefix {prefix!r} clashes with a tier or column")
        other = copy.copy(self)
        other._maps = [*self._maps, ChannelMap(source, prefix=prefix, key=key)]
        return other

    def _select_cycles(self, runs: str | None) -> list[Cycle]:
        if runs is None or not str(runs).strip():
            return list(self._cycles)
        expr = parse(runs)
        known = ["cycle", *self.fields]
        unknown = sorted(n for n in expr.names() if n not in known)
        if unknown:
            raise ColumnError(f"runs: unknown field {unknown[0]!r} (cycle fields: {', '.join(known)})")
        import numpy as np

        env = {"cycle": np.array([c.key for c in self._cycles], dtype=str),
               **{f: np.array([c.fields.get(f, "") for c in self._cycles], dtype=str)
                  for f in self.fields}}
        keep = np.broadcast_to(np.asarray(expr.evaluate(env), dtype=bool), (len(self._cycles),))
        return [c for c, k in zip(self._cycles, keep.tolist()) if k]

    def _cycle_fields(self, cycles: list[Cycle]) -> pl.DataFrame:
        return pl.DataFrame({"cycle": [c.key for c in cycles],
                             **{f: [c.fields.get(f) for c in cycles] for f in self.fields}},
                            schema={"cycle": pl.String, **{f: pl.String for f in self.fields}})

    def cycles(self, runs: str | None = None) -> pl.DataFrame:
        """One row per cycle: name, template fields, the file of each tier (null if none)."""
        cycles = self._select_cycles(runs)
        files = {f"file_{t}": pl.Series([str(c.files[t]) if t in c.files else None for c in cycles],
                                        dtype=pl.String) for t in self.tiers}
        return self._cycle_fields(cycles).with_columns(**files)

    def runs(self, runs: str | None = None) -> pl.DataFrame:
        """One row per run (cycle fields but the timestamp): cycles and tiers present."""
        keys = [f for f in self.fields if f != "timestamp"]
        frame = self.cycles(runs)
        tiers = [pl.col(f"file_{t}").is_not_null().sum().alias(t) for t in self.tiers]
        return (frame.group_by(keys, maintain_order=True)
                .agg(pl.len().alias("cycles"), *tiers).sort(keys))

    def _channels_in(self, tier: str, file: Path, handle=None) -> dict[int, tuple[str, int | None]]:
        """``{channel: (table, rows)}`` of a file of a per-channel tier (cached)."""
        key = (tier, str(file))
        if key not in self._listing:
            self._listing[key] = self._tables[tier].channels(file, handle)
        return self._listing[key]

    def channels(self, runs: str | None = None, tier: str | None = None) -> pl.DataFrame:
        """One row per channel with the number of cycles it has a table in (per hit-level
        tier) and the channel-map fields valid for the last cycle."""
        tiers = [tier] if tier else self.hit_tiers
        for t in tiers:
            if t not in self.hit_tiers:
                raise ValueError(f"tier {t!r} has no per-channel tables (hit-level tiers: "
                                 f"{', '.join(self.hit_tiers)})")
        cycles = self._select_cycles(runs)
        counts: dict[int, dict[str, int]] = {}
        for c in cycles:
            for t in tiers:
                if t in c.files:
                    for ch in self._channels_in(t, c.files[t]):
                        counts.setdefault(ch, dict.fromkeys(tiers, 0))[t] += 1
        channels = sorted(counts)
        frame = pl.DataFrame({"channel": pl.Series(channels, dtype=pl.Int64),
                              **{t: pl.Series([counts[ch][t] for ch in channels], dtype=pl.UInt32)
                                 for t in tiers}})
        if self._maps and cycles:
            entries = self._map_entries(cycles[-1])
            dtypes = column_dtypes(list(entries.values()))
            rows = [entries.get(ch, {}) for ch in channels]
            frame = frame.with_columns(**{n: pl.Series([as_value(r.get(n), d) for r in rows], dtype=d)
                                          for n, d in dtypes.items()})
        return frame

    # ------------------------------------------------------------------ columns
    def _map_entries(self, cycle: Cycle) -> dict[int, dict[str, Any]]:
        out: dict[int, dict[str, Any]] = {}
        for m in self._maps:
            for ch, values in m.entries(cycle.fields).items():
                out.setdefault(ch, {}).update(values)
        return out

    def _columns_of(self, tier: str, cycles: list[Cycle]) -> TierColumns:
        """The columns of ``tier`` in one file (all its channel tables): of the cycles that
        have the tier, the first of those with the most tiers, preferring ``cycles``. Other
        files are assumed alike: a column they lack reads as nulls, another dtype is cast."""
        def pick(pool: list[Cycle]) -> Cycle | None:
            having = [c for c in pool if tier in c.files]
            return max(having, key=lambda c: len(c.files)) if having else None

        cycle = pick(cycles) or pick(self._cycles)
        if cycle is None:
            raise ColumnError(f"no {tier} files")
        file = cycle.files[tier]
        if (tier, str(file)) not in self._tier_columns:
            template = self._tables[tier]
            tables = [t for t, _ in self._channels_in(tier, file).values()] \
                if template.per_channel else [template.name()]
            if not tables:
                raise ColumnError(f"{file}: no table matches {template.pattern!r}")
            self._tier_columns[(tier, str(file))] = TierColumns(tier, str(file), tables)
        return self._tier_columns[(tier, str(file))]

    def _resolver(self, level: str, cycles: list[Cycle]) -> Resolver:
        fixed: dict[str, Column] = {"cycle": Column("cycle", pl.String(), "provenance")}
        if level == "events":
            fixed["event"] = Column("event", pl.Int64(), "provenance")
        fixed["channel"] = Column("channel", pl.Int64(), "provenance")
        fixed["row"] = Column("row", pl.Int64(), "provenance")
        for f in self.fields:
            fixed[f"cycle.{f}"] = Column(f"cycle.{f}", pl.String(), "cycle")
        if self._maps:
            rows: list[dict[str, Any]] = []
            seen: set[tuple[int, ...]] = set()
            for c in cycles:  # cycles with the same map files share their (cached) entries
                ident = tuple(id(m.entries(c.fields)) for m in self._maps)
                if ident not in seen:
                    seen.add(ident)
                    rows += list(self._map_entries(c).values())
            for name, dtype in column_dtypes(rows).items():
                fixed[name] = Column(name, dtype, "map")
        tiers = self.hit_tiers + (self.event_tiers if level == "events" else [])
        return Resolver(fixed, {t: (lambda t=t: self._columns_of(t, cycles)) for t in tiers})

    # ------------------------------------------------------------------ expressions
    @staticmethod
    def _compile(text: str, resolver: Resolver, params: Mapping[str, Any] | None,
                 used: dict[str, Column], what: str, only: Iterable[str] | None = None) -> pl.Expr:
        """A grammar expression over columns → Polars (records the columns it uses)."""
        expr = parse(text)
        params = dict(params or {})
        schema: dict[str, pl.DataType] = {}
        mapping: dict[str, Any] = {}
        for name in expr.names():
            if name in params:
                mapping[name] = params[name]
                continue
            try:
                col = resolver.leaf(name)
            except ColumnError as exc:
                raise ColumnError(f"{what}: {exc}") from None
            if only is not None and col.kind not in only:
                raise ColumnError(f"{what}: {name!r} is a {col.kind} column; only "
                                  f"{'/'.join(only)} columns are allowed here")
            used[col.name] = col
            schema[name] = col.dtype
            mapping[name] = pl.col(col.name)
        return expr.to_polars(mapping, schema)

    def _channel_filter(self, channels: ChannelSpec, cycles: list[Cycle]) -> tuple[set[int] | None, str | None]:
        """``channels`` → (set of ids, or None) and/or an expression over constant columns."""
        if channels is None:
            return None, None
        items = [channels] if isinstance(channels, int | str) else list(channels)
        if len(items) == 1 and isinstance(items[0], str) and not _looks_like_channel(items[0], self, cycles):
            return None, items[0]
        ids: set[int] = set()
        for item in items:
            ids.add(_channel_id(item, self, cycles))
        return ids, None

    # ------------------------------------------------------------------ building
    def _hit_units(self, cycles: list[Cycle], tiers: list[str], allowed: set[int] | None,
                   with_fields: bool, with_maps: bool):
        """A callable yielding the (cycle, channel) units of ``tiers``."""

        def units() -> Iterable[Unit]:
            for c in cycles:
                if all(t in c.files for t in tiers):
                    yield from self._cycle_units(c, tiers, allowed, with_fields, with_maps)

        return units

    def _cycle_units(self, c: Cycle, tiers: list[str], allowed: set[int] | None,
                     with_fields: bool, with_maps: bool) -> Iterator[Unit]:
        """The channel units of one cycle (its files are held open meanwhile)."""
        with _held([c.files[t] for t in tiers]) as handles:
            listings = [self._channels_in(t, c.files[t], handles[c.files[t]]) for t in tiers]
            common = set(listings[0]).intersection(*listings[1:])
            if allowed is not None:
                common &= allowed
            entries = self._map_entries(c) if with_maps and self._maps else {}
            for ch in sorted(common):
                consts: dict[str, Any] = {"cycle": c.key, "channel": ch}
                if with_fields:
                    consts.update({f"cycle.{f}": v for f, v in c.fields.items()})
                consts.update(entries.get(ch, {}))
                tables = {t: (str(c.files[t]), listing[ch][0]) for t, listing in zip(tiers, listings)}
                counts = {t: listing[ch][1] for t, listing in zip(tiers, listings)}
                yield Unit(consts, tables, counts)

    def _default_hit_tier(self) -> str:
        for t in ("hit", "dsp", "raw"):
            if t in self.hit_tiers:
                return t
        if not self.hit_tiers:
            raise ColumnError("the dataset has no per-channel tier")
        return self.hit_tiers[0]

    def _build(self, level: str, columns: Sequence[str], cuts: Sequence[tuple[str, str]], *,
               runs: str | None, channels: ChannelSpec, params: Mapping[str, Any] | None) -> _Built:
        if isinstance(columns, str):
            columns = [columns]
        cycles = self._select_cycles(runs)
        resolver = self._resolver(level, cycles)
        allowed, channel_expr = self._channel_filter(channels, cycles)
        used: dict[str, Column] = {}
        texts = [t for _, t in cuts] + ([channel_expr] if channel_expr else [])
        resolver.prefetch([*columns, *(n for t in texts for n in parse(t).names())])
        outputs: list[tuple[str, pl.Expr]] = []
        units: dict[str, Any] = {}
        provenance = ["cycle", "event"] if level == "events" else ["cycle", "channel", "row"]
        for name in columns:
            if name in provenance or name in (o for o, _ in outputs):
                continue
            expr, cols = resolver.expression(name)
            used.update({c.name: c for c in cols})
            outputs.append((name, expr))
            prefix, _ = resolver.resolve(name)
            if prefix is None and cols[0].units:
                units[name] = cols[0].units
            elif prefix is not None and any(c.units for c in cols):
                units[name] = {c.name[len(prefix) + 1:]: c.units for c in cols if c.units}
        compiled = [(cut_name, self._compile(text, resolver, params, used, f"cut {cut_name!r}"))
                    for cut_name, text in cuts]
        texts = dict(cuts)
        if channel_expr is not None:
            compiled.insert(0, ("channels", self._compile(channel_expr, resolver, params, used,
                                                          "channels", only=("provenance", "map", "cycle"))))
            texts["channels"] = channel_expr
        if level == "hits":
            frame = self._hits_frame(cycles, used, allowed)
        else:
            frame, provenance = self._events_frame(cycles, used, allowed)
        outs = [pl.col(p) for p in provenance] + [e for n, e in outputs if n not in provenance]
        return _Built(frame, outs, compiled, units, texts)

    def _schema(self, used: Mapping[str, Column], first: list[str]) -> tuple[pl.Schema, dict[str, Column]]:
        cols: dict[str, Column] = {}
        for name in first:
            cols[name] = Column(name, pl.Int64() if name != "cycle" else pl.String(), "provenance")
        for kind in ("cycle", "map", "data"):
            cols.update({n: c for n, c in used.items() if c.kind == kind})
        return pl.Schema({n: c.dtype for n, c in cols.items()}), cols

    def _hits_frame(self, cycles: list[Cycle], used: dict[str, Column],
                    allowed: set[int] | None) -> pl.LazyFrame:
        tiers = [t for t in self.hit_tiers if any(c.tier == t for c in used.values())]
        tiers = tiers or [self._default_hit_tier()]
        schema, cols = self._schema(used, ["cycle", "channel", "row"])
        units = self._hit_units(cycles, tiers, allowed, with_fields=True, with_maps=True)
        source = TierSource(units, schema, cols, "row")
        return source.lazy(f"hits of {len(cycles)} cycles, tiers {', '.join(tiers)}")

    def _events_frame(self, cycles: list[Cycle], used: dict[str, Column],
                      allowed: set[int] | None) -> tuple[pl.LazyFrame, list[str]]:
        evt_tiers = [t for t in self.event_tiers if any(c.tier == t for c in used.values())]
        hit_tiers = [t for t in self.hit_tiers if any(c.tier == t for c in used.values())]
        per_hit = bool(hit_tiers) or any(c.kind == "map" or c.name in ("channel", "row")
                                         for c in used.values())
        if not per_hit:  # one row per event: the evt tier alone
            if not evt_tiers:
                if not self.event_tiers:
                    raise ColumnError("events: the dataset has no evt tier; ask for hit-level "
                                      "columns to get the TCM exploded to hits")
                evt_tiers = [self.event_tiers[0]]
            evt_cycles = [c for c in cycles if all(t in c.files for t in evt_tiers)]
            evt_used = {n: c for n, c in used.items() if c.tier in evt_tiers or c.kind == "cycle"}
            schema, cols = self._schema(evt_used, ["cycle", "event"])

            def evt_units() -> Iterable[Unit]:
                for c in evt_cycles:
                    consts = {"cycle": c.key, **{f"cycle.{f}": v for f, v in c.fields.items()}}
                    yield Unit(consts, {t: (str(c.files[t]), self._tables[t].name()) for t in evt_tiers})

            frame = TierSource(evt_units, schema, cols, "event").lazy(
                f"events of {len(evt_cycles)} cycles, tiers {', '.join(evt_tiers)}")
            return frame, ["cycle", "event"]
        evt_cycles = [c for c in cycles if all(t in c.files for t in evt_tiers)]
        if self.tcm_tier not in self.tiers:
            raise ColumnError(f"events: no {self.tcm_tier} files to explode events into hits")
        tcm_cycles = [c for c in evt_cycles if self.tcm_tier in c.files
                      and all(t in c.files for t in hit_tiers)]
        hits = events = None
        if hit_tiers:
            hit_used = {n: c for n, c in used.items() if c.kind == "map" or c.tier in hit_tiers}
            hschema, hcols = self._schema(hit_used, ["cycle", "channel", "row"])
            hits = TierSource(self._hit_units(tcm_cycles, hit_tiers, allowed, False, True),
                              hschema, hcols, "row")
        if evt_tiers:
            evt_used = {n: c for n, c in used.items() if c.tier in evt_tiers}
            eschema, ecols = self._schema(evt_used, ["cycle", "event"])
            events = TierSource(lambda: iter(()), eschema, ecols, "event")
        schema, _ = self._schema({n: c for n, c in used.items() if c.kind != "provenance"},
                                 ["cycle", "event", "channel", "row"])
        table = self._tables[self.tcm_tier].name()
        per_cycle = []
        for c in tcm_cycles:
            consts = {"cycle": c.key, **{f"cycle.{f}": v for f, v in c.fields.items()}}
            units = (lambda c=c: self._cycle_units(c, hit_tiers, allowed, False, True)) \
                if hit_tiers else None
            evt_unit = Unit({"cycle": c.key}, {t: (str(c.files[t]), self._tables[t].name())
                                               for t in evt_tiers}) if evt_tiers else None
            per_cycle.append(TcmCycle(consts, (str(c.files[self.tcm_tier]), table), units, evt_unit))
        maps = None
        if not hit_tiers and self._maps:
            def maps(cycle: TcmCycle) -> dict[int, dict[str, Any]]:
                return self._map_entries(next(c for c in tcm_cycles if c.key == cycle.consts["cycle"]))
        frame = TcmHitSource(per_cycle, schema, hits=hits, events=events, channels=allowed,
                             maps=maps).lazy(f"TCM of {len(per_cycle)} cycles exploded to hits, "
                                             f"tiers {', '.join(hit_tiers + evt_tiers) or 'none'}")
        return frame, ["cycle", "event", "channel", "row"]

    # ------------------------------------------------------------------ public queries
    def hits(self, columns: Sequence[str] | str, *, runs: str | None = None,
             channels: ChannelSpec = None, where: str | None = None,
             params: Mapping[str, Any] | None = None) -> pl.LazyFrame:
        """One row per channel hit: ``cycle``, ``channel``, ``row`` and ``columns``.

        ``columns``: names of raw/dsp/hit/... columns (qualified ``hit.x`` or bare when
        unambiguous), cycle fields, channel-map fields; a nested group (``raw.waveform``)
        gives a struct. ``runs``: expression over cycle fields (``"period == 'p03' and type
        == 'cal'"``); ``channels``: DAQ ids/``ch…`` names/detector names, or an expression
        over channel-map fields (``"chmap.system == 'geds'"``); ``where``: expression over
        any columns, with ``params`` for named constants. The tiers of all these columns
        are joined: a channel of a cycle appears when every one of them has its table.
        """
        cuts = [("where", where)] if where else []
        built = self._build("hits", columns, cuts, runs=runs, channels=channels, params=params)
        return self._finish(built)

    def events(self, columns: Sequence[str] | str, *, runs: str | None = None,
               channels: ChannelSpec = None, where: str | None = None,
               params: Mapping[str, Any] | None = None) -> pl.LazyFrame:
        """Events: with evt-tier columns only, one row per event (``cycle``, ``event``); with
        any hit-level column (raw/dsp/hit, channel map, ``channel``), the TCM exploded to one
        row per hit (``cycle``, ``event``, ``channel``, ``row``) joined with those columns
        and with the evt columns of its event. Arguments as in :meth:`hits`."""
        cuts = [("where", where)] if where else []
        built = self._build("events", columns, cuts, runs=runs, channels=channels, params=params)
        return self._finish(built)

    @staticmethod
    def _finish(built: _Built) -> pl.LazyFrame:
        frame = built.frame
        for _, cut in built.cuts:
            frame = frame.filter(cut)
        return frame.select(built.outputs)

    def selection(self, level: str, columns: Sequence[str], cuts: Sequence[tuple[str, str]], *,
                  runs: str | None = None, channels: ChannelSpec = None,
                  params: Mapping[str, Any] | None = None) -> Selection:
        """A selection by ordered named cuts (for named queries and cut-flows)."""
        if level not in ("hits", "events"):
            raise ValueError(f"level must be 'hits' or 'events', not {level!r}")
        built = self._build(level, columns, cuts, runs=runs, channels=channels, params=params)
        return Selection(built)


class Selection:
    """A built query: :attr:`frame` (filtered, selected), :meth:`cutflow`, output units."""

    def __init__(self, built: _Built) -> None:
        self._built = built

    @property
    def frame(self) -> pl.LazyFrame:
        """The selected rows and output columns (lazy)."""
        return Dataset._finish(self._built)

    @property
    def units(self) -> dict[str, Any]:
        """``{output column: units}`` from the LH5 attributes (for a struct column
        ``{dotted sub-field: units}``)."""
        return dict(self._built.units)

    @property
    def cuts(self) -> list[tuple[str, pl.Expr]]:
        return list(self._built.cuts)

    def cutflow(self):
        """Rows passing each cut alone and all cuts up to it (see :mod:`.cutflow`)."""
        from .cutflow import cutflow

        return cutflow(self._built.frame, self._built.cuts, self._built.texts)


@contextlib.contextmanager
def _held(paths: Sequence[Path]) -> Iterator[dict[Path, Any]]:
    """Keep the files open while their units are read: the many short reads of one file
    then share HDF5's open file and metadata cache instead of opening it afresh."""
    from ..lh5.read import open_lh5

    with contextlib.ExitStack() as stack:
        yield {path: stack.enter_context(open_lh5(path)) for path in dict.fromkeys(paths)}


def _looks_like_channel(text: str, ds: Dataset, cycles: list[Cycle]) -> bool:
    try:
        _channel_id(text, ds, cycles)
        return True
    except ValueError:
        return False


def _channel_id(item: int | str, ds: Dataset, cycles: list[Cycle]) -> int:
    if isinstance(item, bool):
        raise ValueError(f"channel {item!r}")
    if isinstance(item, int):
        return item
    m = re.fullmatch(r"(?:ch)?(\d+)", str(item).strip())
    if m:
        return int(m.group(1))
    for c in cycles[::-1] if ds._maps else []:
        for ch, entry in ds._map_entries(c).items():
            if any(k.endswith(".name") and v == item for k, v in entry.items()):
                return ch
    raise ValueError(f"channel {item!r}: not a DAQ id, ch<id> or a name in the channel map")


__all__ = ["Dataset", "Selection"]
