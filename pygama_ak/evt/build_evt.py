"""hit/dsp + TCM → event tier, with the meaning pygama documents for each aggregation mode.

Events are processed in chunks of ``chunk_events`` (bounded memory). For a chunk, the TCM
rows give every hit's event, channel key (``tcm.table_key``), row (``tcm.row_in_table``) and
position in the whole TCM (``tcm.index``); the lower-tier fields the config uses (``hit.x``,
``dsp.y``, any tier) are read for just the rows the chunk's hits point to and laid out per
hit. Per-hit expressions and queries are Polars expressions over those arrays (earlier event
fields ``evt.z`` broadcast to the hits); the per-event reductions are numba passes over the
contiguous hits of each event (:mod:`pygama_ak.evt.kernels`):

* ``sum``: ``initial`` + the sum over the hits of ``channels`` passing ``query``;
  ``any``/``all``: over those hits (``initial`` when there are none)
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

DEFAULT_CHUNK_EVENTS = 500_000
TCM_FIELDS = ("tcm.table_key", "tcm.row_in_table", "tcm.index")
_DTYPES = {"float32": "Float32", "float64": "Float64", "int8": "Int8", "int16": "Int16",
           "int32": "Int32", "int64": "Int64", "uint8": "UInt8", "uint16": "UInt16",
           "uint32": "UInt32", "uint64": "UInt64", "bool": "Boolean"}
_NO_MATCH = np.iinfo(np.int64).min


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


def _fill_value(dtype: np.dtype):
    return np.nan if dtype.kind == "f" else (False if dtype.kind == "b" else 0)


def _with_default(values: np.ndarray, has: np.ndarray, initial) -> np.ndarray:
    """``values`` where ``has``, ``initial`` elsewhere, in a dtype that holds both."""
    if has.all():
        return values
    if initial is None:
        initial = False if values.dtype.kind == "b" else math.nan
    kind = values.dtype.kind
    if isinstance(initial, bool):
        dtype = values.dtype if kind == "b" else (values.dtype if kind in "iuf" else np.dtype(bool))
        initial = int(initial) if kind in "iu" else initial
    elif isinstance(initial, int):
        dtype = np.dtype(np.int64) if kind in "biu" else values.dtype
    else:  # a float (NaN, inf or a number)
        integral = math.isfinite(initial) and float(initial).is_integer()
        dtype = values.dtype if kind == "f" else (np.dtype(np.int64) if integral and kind in "iu"
                                                   else np.dtype(np.float64))
        if integral and kind in "iu":
            initial = int(initial)
    out = values.astype(dtype, copy=True)
    out[~has] = initial
    return out


class _Inputs:
    """Where the TCM and the tier tables are, what the config needs from them."""

    def __init__(self, tcm: tuple, tiers: Mapping[str, tuple], config: EvtConfig) -> None:
        self.config = config
        self.tcm_path, self.tcm_name = os.fspath(tcm[0]), tcm[1]
        self.tiers = {t: (os.fspath(v[0]), v[1], v[2] if len(v) > 2 else "ch{}") for t, v in tiers.items()}
        self.fmt = self.tiers.get("hit", next(iter(self.tiers.values()), (None, None, "ch{}")))[2]
        self.fields: dict[str, list[str]] = {}
        channels: list[str] = []
        for op in config.operations:
            for name in op_names(op):
                tier, _, fld = name.partition(".")
                if tier in self.tiers:
                    if fld not in self.fields.setdefault(tier, []):
                        self.fields[tier].append(fld)
                elif tier not in ("evt", "tcm") and fld:
                    raise ConfigError(f"{config.source}: operation {op.name!r}: unknown tier "
                                      f"{tier!r} in {name!r} (tiers: {', '.join(self.tiers)}, evt, tcm)")
            channels += [c for c in op.channels if c not in channels]
        self.keys = {c: channel_key(c, self.fmt) for c in channels}
        self.units: dict[str, str] = {}
        self.dtypes: dict[str, np.dtype] = {}
        self._describe_fields()

    def table(self, tier: str, key: int) -> str:
        path, group, fmt = self.tiers[tier]
        return f"{fmt.format(key)}/{group}"

    def _describe_fields(self) -> None:
        """dtypes and units of the needed fields (from the first channel's table, 0 rows)."""
        import awkward as ak

        from ..lh5 import read

        for tier, fields in self.fields.items():
            if not self.keys:
                continue
            key = next(iter(self.keys.values()))
            head = read(self.tiers[tier][0], self.table(tier, key), fields=fields, rows=(0, 0))
            for f in fields:
                col = head[f]
                if col.ndim != 1:
                    raise ConfigError(f"{self.config.source}: {tier}.{f} holds a list per hit; "
                                      "event building needs one value per hit")
                name = f"{tier}.{f}"
                self.dtypes[name] = ak.to_numpy(col).dtype
                units = ak.parameters(col).get("units")
                if units:
                    self.units[name] = units


def op_names(op: EvtOperation) -> set[str]:
    """Every (dotted) name an operation uses, parameters excluded."""
    names = op.expression.names() | (op.query.names() if op.query else set())
    if op.sort:
        names.add(op.sort[1])
    if op.mode in ("first_at", "last_at"):
        names.add(op.mode_arg)
    return {n for n in names if n not in op.parameters}


class _Chunk:
    """The events [start, stop) of the TCM with their hits, and the event fields built so far."""

    def __init__(self, inputs: _Inputs, start: int, stop: int) -> None:
        import awkward as ak

        from ..lh5 import read

        self.inputs, self.config = inputs, inputs.config
        tcm = read(inputs.tcm_path, inputs.tcm_name, fields=["table_key", "row_in_table"],
                   rows=(start, stop))
        counts = ak.to_numpy(ak.num(tcm.table_key)).astype(np.int64)
        self.n = len(counts)
        self.offsets = np.zeros(self.n + 1, np.int64)
        np.cumsum(counts, out=self.offsets[1:])
        first_hit = self._hits_before(start)
        n_hits = int(self.offsets[-1])
        self.evt_of_hit = np.repeat(np.arange(self.n, dtype=np.int64), counts)
        key = ak.to_numpy(ak.flatten(tcm.table_key)).astype(np.int64)
        row = ak.to_numpy(ak.flatten(tcm.row_in_table)).astype(np.int64)
        self.hits: dict[str, np.ndarray] = {
            "tcm.table_key": key, "tcm.row_in_table": row,
            "tcm.index": np.arange(first_hit, first_hit + n_hits, dtype=np.int64),
        }
        self._read_tier_fields()
        self.evt: dict[str, Any] = {}
        self._cache: dict[tuple, np.ndarray] = {}  # masks and picks shared by operations

    def _hits_before(self, start: int) -> int:
        if start == 0:
            return 0
        from ..lh5 import read

        tcm = read(self.inputs.tcm_path, self.inputs.tcm_name, fields=["table_key"], rows=(0, start))
        import awkward as ak

        return int(ak.count(tcm.table_key))

    def _read_tier_fields(self) -> None:
        from ..lh5 import read

        key, row = self.hits["tcm.table_key"], self.hits["tcm.row_in_table"]
        for tier, fields in self.inputs.fields.items():
            arrays = {f: np.full(len(key), _fill_value(self.inputs.dtypes[f"{tier}.{f}"]),
                                 self.inputs.dtypes[f"{tier}.{f}"]) for f in fields}
            for k in self.inputs.keys.values():
                sel = np.flatnonzero(key == k)
                if len(sel) == 0:
                    continue
                rows = row[sel]
                lo, hi = int(rows.min()), int(rows.max()) + 1
                data = read(self.inputs.tiers[tier][0], self.inputs.table(tier, k), fields=fields,
                            rows=(lo, hi))
                if len(data) < hi - lo:
                    raise ConfigError(f"{self.inputs.tiers[tier][0]}:{self.inputs.table(tier, k)}: "
                                      f"the TCM points to row {hi - 1} but the table has fewer rows")
                for f in fields:
                    arrays[f][sel] = np.asarray(data[f])[rows - lo]
            for f, values in arrays.items():
                self.hits[f"{tier}.{f}"] = values

    # -- per-hit and per-event expressions
    def per_hit(self, op: EvtOperation, expr) -> np.ndarray:
        import polars as pl

        names = expr.names()
        if expr.root.op == "name" and expr.root.value in self.hits:  # a plain field: no work
            return self.hits[expr.root.value]
        key = ("expr", expr.text.strip(), tuple(sorted((k, op.parameters[k]) for k in names
                                                       if k in op.parameters)))
        if key in self._cache and not any(n.startswith("evt.") for n in names):
            return self._cache[key]
        columns = {}
        for name in expr.names():
            if name in op.parameters:
                continue
            if name in self.hits:
                columns[name] = self.hits[name]
            elif name.startswith("evt.") and name[4:] in self.evt:
                series = self.evt[name[4:]]
                if isinstance(series.dtype, pl.List):
                    raise ConfigError(f"{self.config.source}: operation {op.name!r}: {name} is a "
                                      "list per event and cannot be used per hit")
                columns[name] = series.to_numpy()[self.evt_of_hit]
            else:
                raise ConfigError(f"{self.config.source}: operation {op.name!r}: unknown name {name!r}")
        if not columns:  # a constant expression such as "True": one dummy column sets the height
            columns = {"_": np.zeros(len(self.evt_of_hit), dtype=bool)}
        frame = pl.DataFrame(columns)

        def resolve(name: str):
            if name in op.parameters:
                value = op.parameters[name]
                return pl.lit(value, dtype=pl.Float64) if isinstance(value, float) else value
            return pl.col(name)

        out = frame.select(expr.to_polars(resolve, frame.schema).alias("_v")).to_series()
        if out.len() != len(self.evt_of_hit):
            out = pl.repeat(out[0], len(self.evt_of_hit), eager=True)
        if out.null_count():
            out = out.fill_null(False) if out.dtype == pl.Boolean else out.cast(pl.Float64).fill_null(math.nan)
        values = out.to_numpy()
        if not any(n.startswith("evt.") for n in names):
            self._cache[key] = values
        return values

    def per_event(self, op: EvtOperation):
        import polars as pl

        frame = pl.DataFrame(self.evt) if self.evt else pl.DataFrame({"_": np.zeros(self.n, bool)})
        schema = {**{f"evt.{c}": t for c, t in frame.schema.items()}, **frame.schema}

        def resolve(name: str):
            if name in op.parameters:
                value = op.parameters[name]
                return pl.lit(value, dtype=pl.Float64) if isinstance(value, float) else value
            column = name[4:] if name.startswith("evt.") else name
            if column in frame.columns:
                return pl.col(column)
            raise ConfigError(f"{self.config.source}: operation {op.name!r}: unknown name {name!r}")

        out = frame.select(op.expression.to_polars(resolve, schema).alias(op.name)).to_series()
        if out.len() != self.n:
            out = pl.repeat(out[0], self.n, eager=True).alias(op.name)
        return out

    # -- one operation
    def run(self, op: EvtOperation):
        import polars as pl

        from . import kernels

        if op.mode is None:
            return self._finish(op, self.per_event(op))
        keys = [self.inputs.keys[c] for c in op.channels]
        mask_key = ("mask", tuple(keys))
        if mask_key not in self._cache:
            self._cache[mask_key] = np.isin(self.hits["tcm.table_key"], np.asarray(keys, dtype=np.int64))
        mask = self._cache[mask_key]
        if op.query is not None:
            mask = mask & self.per_hit(op, op.query).astype(bool)
        values = self.per_hit(op, op.expression)
        if op.mode == "sum":
            if values.dtype.kind in "biu":
                values = values.astype(np.int64)
            start = 0 if op.initial is None else op.initial
            dtype = values.dtype if not (isinstance(start, float) and values.dtype.kind != "f") \
                else np.dtype(np.float64)
            out = np.full(self.n, start, dtype=dtype)
            result = kernels.segment_sum(self.offsets, mask, values.astype(dtype, copy=False), out)
        elif op.mode in ("any", "all"):
            n_pass, n_true = kernels.segment_truth(self.offsets, mask, values.astype(bool))
            initial = bool(op.initial) if op.initial is not None else False
            if op.mode == "any":
                result = (n_true > 0) | initial
            else:
                result = np.where(n_pass > 0, n_true == n_pass, initial)
        elif op.mode in ("first_at", "last_at"):
            if op.mode_arg not in self.hits:
                raise ConfigError(f"{self.config.source}: operation {op.name!r}: unknown sorter {op.mode_arg!r}")
            pick_key = ("pick", mask_key, op.query.text if op.query else None,
                        tuple(sorted(op.parameters.items())), op.mode_arg, op.mode)
            best = self._cache.get(pick_key)
            if best is None or any(n.startswith("evt.") for n in op_names(op)):
                sorter = self.hits[op.mode_arg].astype(np.float64, copy=False)
                best = kernels.segment_pick(self.offsets, self.evt_of_hit, mask, sorter,
                                            op.mode == "last_at")
                self._cache[pick_key] = best
            has = best >= 0
            result = _with_default(values[np.where(has, best, 0)] if len(values) else
                                   np.zeros(self.n, values.dtype), has, op.initial)
        elif op.mode == "gather":
            chosen = np.flatnonzero(mask)
            evt = self.evt_of_hit[chosen]
            if op.sort is not None:
                secondary = self.hits[op.sort[1]][chosen].astype(np.float64)
                if op.sort[0] == "descend":
                    secondary = -secondary
            else:
                ordered = np.asarray(keys, dtype=np.int64)  # position of each hit's channel in `channels`
                by_key = np.argsort(ordered, kind="stable")
                secondary = by_key[np.searchsorted(ordered[by_key], self.hits["tcm.table_key"][chosen])]
            order = chosen[np.lexsort((self.hits["tcm.index"][chosen], secondary, evt))]
            counts = np.bincount(self.evt_of_hit[order], minlength=self.n)
            result = _list_series(op.name, values[order], counts)
        else:  # keep_at_ch / keep_at_idx
            ref = op.mode_arg.split(".", 1)[1]
            if ref not in self.evt:
                raise ConfigError(f"{self.config.source}: operation {op.name!r}: {op.mode_arg} is "
                                  "not an earlier operation")
            match = self.hits["tcm.table_key" if op.mode == "keep_at_ch" else "tcm.index"]
            target = self.evt[ref]
            if isinstance(target.dtype, pl.List):
                counts = target.list.len().to_numpy().astype(np.int64)
                flat = target.explode().to_numpy()
            else:
                counts = np.ones(self.n, np.int64)
                flat = target.to_numpy()
            flat = np.asarray(flat, dtype=np.float64) if flat.dtype.kind == "f" else flat
            targets = np.where(np.isfinite(flat), flat, _NO_MATCH).astype(np.int64) \
                if flat.dtype.kind == "f" else flat.astype(np.int64)
            target_offsets = np.zeros(self.n + 1, np.int64)
            np.cumsum(counts, out=target_offsets[1:])
            match_key = ("match", mask_key, op.query.text if op.query else None,
                         tuple(sorted(op.parameters.items())), ref, op.mode)
            found = self._cache.get(match_key)
            if found is None or (op.query is not None and any(n.startswith("evt.") for n in op.query.names())):
                found = kernels.segment_match(self.offsets, self.evt_of_hit, mask, match,
                                              target_offsets, targets)
                self._cache[match_key] = found
            has = found >= 0
            picked = values[np.where(has, found, 0)] if len(values) else np.zeros(len(found), values.dtype)
            picked = _with_default(picked, has, op.initial)
            result = _list_series(op.name, picked, counts) if isinstance(target.dtype, pl.List) else picked
        return self._finish(op, result)

    def _finish(self, op: EvtOperation, result):
        import polars as pl

        series = result if isinstance(result, pl.Series) else pl.Series(op.name, result)
        if op.dtype is not None:
            target = getattr(pl, _DTYPES.get(str(op.dtype), ""), None)
            if target is None:
                raise ConfigError(f"{self.config.source}: operation {op.name!r}: unknown dtype {op.dtype!r}")
            series = series.cast(pl.List(target) if isinstance(series.dtype, pl.List) else target)
        return series.alias(op.name)

    def build(self) -> None:
        for op in self.config.operations:
            self.evt[op.name] = self.run(op)


def _list_series(name: str, flat: np.ndarray, counts: np.ndarray):
    """A Polars list column from flat values and per-event counts (no Python loop)."""
    import polars as pl
    import pyarrow as pa

    offsets = np.zeros(len(counts) + 1, np.int64)
    np.cumsum(counts, out=offsets[1:])
    # through Polars' own Arrow export: pa.array(numpy) would import pandas (≈ 0.3 s)
    arrow = pa.LargeListArray.from_arrays(pl.Series(offsets).to_arrow(), pl.Series(flat).to_arrow())
    return pl.Series(name, arrow)


def _to_awkward(evt: Mapping[str, Any], config: EvtConfig, units: dict[str, str]):
    """Event fields → nested Awkward record (``a___b`` → ``a/b``) with attributes."""
    import awkward as ak

    tree: dict = {}
    ops = {op.name: op for op in config.operations}
    for name in config.outputs:
        array = ak.from_arrow(evt[name].to_arrow(), highlevel=True)
        op = ops[name]
        attrs = {k: v for k, v in op.attrs.items() if k != "hdf5_settings"}
        lower = [n for n in op.expression.names() if n.split(".", 1)[0] not in ("evt", "tcm")
                 and n not in op.parameters]
        if "units" not in attrs and len(lower) == 1 and lower[0] in units and op.mode != "sum":
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
    chunk_events: int = DEFAULT_CHUNK_EVENTS,
    compression: Any = "gzip",
):
    """Build the event table of one cycle.

    ``tcm = (file, "hardware_tcm_1")``; ``tiers = {"hit": (file, "hit", "ch{}"),
    "dsp": (file, "dsp", "ch{}"), ...}``. Without ``outfile`` the table is returned as an
    Awkward record array; with it, the table is written there (atomically, ``evt_group``)
    chunk by chunk, memory stays bounded by ``chunk_events``, and the number of events is
    returned.
    """
    import awkward as ak

    from ..lh5.read import read_n_rows

    cfg = config if isinstance(config, EvtConfig) else parse_evt_config(config)
    inputs = _Inputs(tcm, tiers, cfg)
    n_events = read_n_rows(inputs.tcm_path, inputs.tcm_name) or 0
    bounds = [(s, min(s + chunk_events, n_events)) for s in range(0, n_events, chunk_events)] or [(0, 0)]

    def chunks():
        for start, stop in bounds:
            chunk = _Chunk(inputs, start, stop)
            chunk.build()
            yield _to_awkward(chunk.evt, cfg, inputs.units)

    if outfile is None:
        parts = list(chunks())
        return parts[0] if len(parts) == 1 else ak.concatenate(parts)

    from ..lh5 import write
    from ..lh5.output import atomic_output

    with atomic_output(outfile, overwrite=overwrite) as tmp:
        for part in chunks():
            write(part, tmp, evt_group, mode="append", compression=compression)
    return n_events
