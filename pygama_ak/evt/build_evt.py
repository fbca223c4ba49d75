"""hit/dsp + TCM → event tier, with the meaning pygama documents for each aggregation mode.

The TCM is exploded into one row per hit (``_evt``, ``tcm.table_key``, ``tcm.row_in_table``,
``tcm.index``); the lower-tier fields an operation uses (``hit.x``, ``dsp.y``, any tier) are
read once per channel and joined onto those hits; earlier event fields (``evt.z``) are joined
back by event, so per-hit expressions and queries may mix all of them. Each operation is a
Polars group-by over the event index:

* ``sum``/``any``/``all``: over the hits (of ``channels``) passing ``query``; events without
  such a hit get ``initial``
* ``first_at:<tier.f>``/``last_at:<tier.f>``: the value at the passing hit with the smallest /
  largest ``f`` (NaN sorters never win; ties go to the earlier hit in the TCM)
* ``gather``: every passing hit's value, in ``channels`` order or sorted by ``sort``
* ``keep_at_ch:evt.f``/``keep_at_idx:evt.f``: the value at the hit whose channel key /
  ``tcm.index`` is in ``evt.f`` (one value, or one per entry when ``evt.f`` is a list)
* no mode: an event-level expression over earlier fields

``tcm.index`` is the hit's position in the whole file's flattened TCM (not per chunk).
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..configs import ConfigError
from .config import EvtConfig, EvtOperation, parse_evt_config

TCM_FIELDS = ("tcm.table_key", "tcm.row_in_table", "tcm.index")
_DTYPES = {"float32": "Float32", "float64": "Float64", "int8": "Int8", "int16": "Int16",
           "int32": "Int32", "int64": "Int64", "uint8": "UInt8", "uint16": "UInt16",
           "uint32": "UInt32", "uint64": "UInt64", "bool": "Boolean"}


def _key_pattern(fmt: str) -> re.Pattern:
    if fmt.count("{}") != 1:
        raise ConfigError(f"table format {fmt!r} must contain exactly one '{{}}'")
    return re.compile("^" + re.escape(fmt).replace(r"\{\}", r"(\d+)") + "$")


def channel_key(name: str, fmt: str) -> int:
    """``ch1084803`` with format ``ch{}`` → 1084803."""
    m = _key_pattern(fmt).match(name)
    if m is None:
        raise ConfigError(f"channel {name!r} does not follow the table format {fmt!r}")
    return int(m.group(1))


class _EventBuilder:
    def __init__(self, tcm, tiers: Mapping[str, tuple], config: EvtConfig) -> None:
        import polars as pl

        from ..lh5 import read

        self.pl, self.config = pl, config
        self.tiers = {t: (os.fspath(v[0]), v[1], v[2] if len(v) > 2 else "ch{}") for t, v in tiers.items()}
        fmt = self.tiers.get("hit", next(iter(self.tiers.values()), (None, None, "ch{}")))[2]
        self.fmt = fmt
        path, name = tcm
        tcm_data = read(path, name, fields=["table_key", "row_in_table"])
        import awkward as ak

        counts = ak.to_numpy(ak.num(tcm_data.table_key))
        self.n_events = len(counts)
        n_hits = int(counts.sum())
        self.hits = pl.DataFrame({
            "_evt": np.repeat(np.arange(self.n_events, dtype=np.int64), counts),
            "tcm.table_key": ak.to_numpy(ak.flatten(tcm_data.table_key)).astype(np.int64),
            "tcm.row_in_table": ak.to_numpy(ak.flatten(tcm_data.row_in_table)).astype(np.int64),
            "tcm.index": np.arange(n_hits, dtype=np.int64),
        })
        self.units: dict[str, str] = {}
        self._join_tier_fields()
        self.evt = pl.DataFrame({"_evt": np.arange(self.n_events, dtype=np.int64)})

    # -- inputs
    def _names(self, op: EvtOperation) -> set[str]:
        names = op.expression.names() | (op.query.names() if op.query else set())
        if op.sort:
            names.add(op.sort[1])
        if op.mode in ("first_at", "last_at"):
            names.add(op.mode_arg)
        return {n for n in names if n not in op.parameters}

    def _join_tier_fields(self) -> None:
        from ..lh5 import read

        pl = self.pl
        wanted: dict[str, set[str]] = {}
        channels: list[str] = []
        for op in self.config.operations:
            for name in self._names(op):
                tier, _, fld = name.partition(".")
                if tier in self.tiers:
                    wanted.setdefault(tier, set()).add(fld)
                elif tier not in ("evt", "tcm") and fld:
                    raise ConfigError(f"{self.config.source}: operation {op.name!r}: unknown tier "
                                      f"{tier!r} in {name!r} (tiers: {', '.join(self.tiers)}, evt, tcm)")
            channels += [c for c in op.channels if c not in channels]
        for tier, fields in wanted.items():
            path, group, fmt = self.tiers[tier]
            parts = []
            for ch in channels:
                key = channel_key(ch, fmt)
                table = f"{fmt.format(key)}/{group}"
                data = read(path, table, fields=sorted(fields))
                cols = {f"{tier}.{f}": np.asarray(data[f]) if data[f].ndim == 1 else data[f]
                        for f in sorted(fields)}
                for f in fields:
                    import awkward as ak

                    units = ak.parameters(data[f]).get("units")
                    if units:
                        self.units[f"{tier}.{f}"] = units
                frame = pl.DataFrame({k: v for k, v in cols.items() if isinstance(v, np.ndarray)})
                frame = frame.with_columns(
                    pl.lit(key, dtype=pl.Int64).alias("tcm.table_key"),
                    pl.arange(0, len(data), dtype=pl.Int64).alias("tcm.row_in_table"))
                parts.append(frame)
            if parts:
                merged = pl.concat(parts, how="diagonal_relaxed")
                self.hits = self.hits.join(merged, on=["tcm.table_key", "tcm.row_in_table"],
                                           how="left", maintain_order="left")

    # -- expressions
    def _resolver(self, op: EvtOperation, frame_columns: set[str]):
        pl = self.pl

        def resolve(name: str):
            if name in op.parameters:
                value = op.parameters[name]
                return pl.lit(value, dtype=pl.Float64) if isinstance(value, float) else value
            if name in frame_columns:
                return pl.col(name)
            raise ConfigError(f"{self.config.source}: operation {op.name!r}: unknown name {name!r}")

        return resolve

    def _hits_for(self, op: EvtOperation):
        """Hits of the operation's channels with the evt fields it uses joined on."""
        pl = self.pl
        keys = [channel_key(c, self.fmt) for c in op.channels]
        sub = self.hits.filter(pl.col("tcm.table_key").is_in(keys))
        evt_fields = [n.split(".", 1)[1] for n in self._names(op) if n.startswith("evt.")]
        if evt_fields:
            missing = [f for f in evt_fields if f not in self.evt.columns]
            if missing:
                raise ConfigError(f"{self.config.source}: operation {op.name!r}: evt.{missing[0]} "
                                  "is not an earlier operation")
            sub = sub.join(self.evt.select(["_evt", *evt_fields]).rename(
                {f: f"evt.{f}" for f in evt_fields}), on="_evt", how="left", maintain_order="left")
        order = {k: i for i, k in enumerate(keys)}
        sub = sub.with_columns(pl.col("tcm.table_key").replace_strict(order, default=len(keys))
                               .alias("_ch_pos"))
        if op.query is not None:
            q = op.query.to_polars(self._resolver(op, set(sub.columns)), sub.schema)
            sub = sub.filter(q.fill_null(False))
        value = op.expression.to_polars(self._resolver(op, set(sub.columns)), sub.schema)
        return sub.with_columns(value.alias("_v"))

    # -- modes
    def run(self, op: EvtOperation):
        pl = self.pl
        if op.mode is None:
            cols = {f"evt.{c}": pl.col(c) for c in self.evt.columns if c != "_evt"}
            cols.update({c: pl.col(c) for c in self.evt.columns if c != "_evt"})

            def resolve(name: str):
                if name in op.parameters:
                    v = op.parameters[name]
                    return pl.lit(v, dtype=pl.Float64) if isinstance(v, float) else v
                if name in cols:
                    return cols[name]
                raise ConfigError(f"{self.config.source}: operation {op.name!r}: unknown name {name!r}")

            schema = {**{f"evt.{c}": t for c, t in self.evt.schema.items()}, **self.evt.schema}
            column = self.evt.select(op.expression.to_polars(resolve, schema).alias(op.name))[op.name]
            if len(column) != self.n_events:
                column = pl.Series(op.name, [column[0]] * self.n_events)
            return self._finish(op, column)
        sub = self._hits_for(op)
        if op.mode in ("sum", "any", "all"):
            v = pl.col("_v")
            if op.mode == "sum":
                v = pl.when(v.is_not_null()).then(v)
                sub = sub.with_columns(pl.col("_v").cast(pl.Int64) if sub.schema["_v"] == pl.Boolean
                                       else pl.col("_v"))
                agg = pl.col("_v").sum()
            elif op.mode == "any":
                agg = pl.col("_v").cast(pl.Boolean).any()
            else:
                agg = pl.col("_v").cast(pl.Boolean).all()
            per_event = sub.group_by("_evt").agg(agg.alias("_r"))
        elif op.mode in ("first_at", "last_at"):
            sorter = pl.col(op.mode_arg)
            sub = sub.filter(sorter.is_not_null() & ~sorter.cast(pl.Float64).is_nan())
            descending = op.mode == "last_at"
            per_event = sub.sort(op.mode_arg, descending=descending, maintain_order=True) \
                .group_by("_evt", maintain_order=True).agg(pl.col("_v").first().alias("_r"))
        elif op.mode == "gather":
            if op.sort is not None:
                sub = sub.sort(op.sort[1], descending=op.sort[0] == "descend", maintain_order=True,
                               nulls_last=True)
            else:
                sub = sub.sort(["_ch_pos", "tcm.index"])
            per_event = sub.group_by("_evt", maintain_order=True).agg(pl.col("_v").alias("_r"))
        else:  # keep_at_ch / keep_at_idx
            ref = op.mode_arg.split(".", 1)[1]
            if ref not in self.evt.columns:
                raise ConfigError(f"{self.config.source}: operation {op.name!r}: {op.mode_arg} is "
                                  "not an earlier operation")
            match_col = "tcm.table_key" if op.mode == "keep_at_ch" else "tcm.index"
            is_list = isinstance(self.evt.schema[ref], pl.List)
            targets = self.evt.select("_evt", pl.col(ref).alias("_target"))
            if is_list:
                targets = targets.with_columns(pl.int_ranges(0, pl.col("_target").list.len())
                                               .alias("_pos")).explode(["_target", "_pos"])
            targets = targets.filter(pl.col("_target").is_not_null() &
                                     ~pl.col("_target").cast(pl.Float64).is_nan())
            targets = targets.with_columns(pl.col("_target").cast(pl.Int64))
            hits = sub.select("_evt", pl.col(match_col).alias("_target"), "_v") \
                .unique(subset=["_evt", "_target"], keep="first", maintain_order=True)
            found = targets.join(hits, on=["_evt", "_target"], how="left", maintain_order="left")
            if is_list:
                fill = self._initial_literal(op, found.schema["_v"])
                found = found.with_columns(pl.col("_v").fill_null(fill) if fill is not None
                                           else pl.col("_v"))
                per_event = found.group_by("_evt", maintain_order=True).agg(pl.col("_v").alias("_r"))
            else:
                per_event = found.select("_evt", pl.col("_v").alias("_r"))
        column = self.evt.select("_evt").join(per_event, on="_evt", how="left",
                                              maintain_order="left")["_r"]
        return self._finish(op, column)

    def _initial_literal(self, op: EvtOperation, dtype):
        if op.initial is not None:
            return op.initial
        if op.mode in ("any", "all"):
            return False
        if dtype is not None and dtype.is_numeric():
            return math.nan
        return None

    def _finish(self, op: EvtOperation, column):
        pl = self.pl
        dtype = column.dtype
        if isinstance(dtype, pl.List):
            column = column.fill_null([]) if column.null_count() else column
        else:
            initial = self._initial_literal(op, dtype)
            if initial is not None and column.null_count():
                if isinstance(initial, float) and dtype.is_integer():
                    column = column.cast(pl.Float64)
                if isinstance(initial, bool) and dtype != pl.Boolean and dtype.is_numeric():
                    initial = int(initial)
                if dtype == pl.Boolean and not isinstance(initial, bool):
                    column = column.cast(pl.Float64 if isinstance(initial, float) else pl.Int64)
                column = column.fill_null(initial)
            elif column.null_count() and dtype.is_numeric():
                column = column.cast(pl.Float64).fill_null(math.nan)
        if op.dtype is not None:
            target = getattr(pl, _DTYPES.get(str(op.dtype), ""), None)
            if target is None:
                raise ConfigError(f"{self.config.source}: operation {op.name!r}: unknown dtype {op.dtype!r}")
            column = column.cast(pl.List(target) if isinstance(column.dtype, pl.List) else target)
        return column.alias(op.name)

    def build(self):
        for op in self.config.operations:
            self.evt = self.evt.with_columns(self.run(op))
        return self.evt


def _to_awkward(frame, config: EvtConfig, units: dict[str, str]):
    """Event frame → nested Awkward record (``a___b`` → ``a/b``) with attributes."""
    import awkward as ak

    tree: dict = {}
    ops = {op.name: op for op in config.operations}
    for name in config.outputs:
        series = frame[name]
        array = ak.from_arrow(series.to_arrow(), highlevel=True)
        op = ops[name]
        attrs = {k: v for k, v in op.attrs.items() if k != "hdf5_settings"}
        lower = [n for n in op.expression.names() if n.split(".", 1)[0] not in ("evt", "tcm")
                 and n not in op.parameters]
        if "units" not in attrs and len(lower) == 1 and lower[0] in units and op.mode not in ("sum",) \
                and not isinstance(series.dtype, type(None)):
            attrs["units"] = units[lower[0]]
        if "units" in attrs:
            array = ak.with_parameter(array, "units", str(attrs.pop("units")))
        if attrs:
            array = ak.with_parameter(array, "attrs", {k: v if isinstance(v, int | float | bool) else str(v)
                                                       for k, v in attrs.items()})
        node = tree
        parts = name.split("___")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = array

    def zip_tree(node: dict):
        return ak.zip({k: zip_tree(v) if isinstance(v, dict) else v for k, v in node.items()},
                      depth_limit=1)

    return zip_tree(tree)


def build_evt(
    tcm: tuple[str | os.PathLike, str],
    tiers: Mapping[str, tuple],
    config: str | os.PathLike | Mapping | EvtConfig,
    outfile: str | os.PathLike | None = None,
    *,
    evt_group: str = "evt",
    overwrite: bool = False,
) -> Any:
    """Build the event table; returns it as an Awkward record array.

    ``tcm = (file, "hardware_tcm_1")``; ``tiers = {"hit": (file, "hit", "ch{}"),
    "dsp": (file, "dsp", "ch{}"), ...}``. With ``outfile`` the table is also written there
    (atomically) as ``evt_group``.
    """
    cfg = config if isinstance(config, EvtConfig) else parse_evt_config(config)
    builder = _EventBuilder(tcm, tiers, cfg)
    frame = builder.build()
    array = _to_awkward(frame, cfg, builder.units)
    if outfile is not None:
        from ..lh5 import write
        from ..lh5.output import atomic_output

        with atomic_output(outfile, overwrite=overwrite) as tmp:
            write(array, tmp, evt_group)
    return array
