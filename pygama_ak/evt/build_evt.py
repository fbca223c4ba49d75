"""hit/dsp + TCM → event tier, with the meaning pygama documents for each aggregation mode.

Events are processed in chunks of ``chunk_events`` (bounded memory). For a chunk, the TCM
rows give every hit's event, channel key (``tcm.table_key``), row (``tcm.row_in_table``) and
position in the whole TCM (``tcm.index``); the lower-tier fields the config uses (``hit.x``,
``dsp.y``, any tier) are read for just the rows the chunk's hits point to and laid out per
hit. Per-hit expressions and queries are Polars expressions over those arrays (earlier event
fields ``evt.z`` broadcast to the hits; comparisons and boolean logic of hit columns run in
numpy, with the same result); the per-event reductions are numpy passes over the contiguous
hits of each event (:mod:`pygama_ak.evt.kernels`):

* ``sum``: ``initial`` + the sum over the hits of ``channels`` passing ``query``;
  ``any``/``all``: over those hits (``initial`` when there are none)
* ``first_at:<tier.f>``/``last_at:<tier.f>``: the value at the passing hit with the smallest /
  largest ``f`` (NaN sorters never win; ties go to the earlier hit in the TCM)
* ``gather``: every passing hit's value, in ``channels`` order or sorted by ``sort``
* ``keep_at_ch:evt.f``/``keep_at_idx:evt.f``: the value at the hit whose channel key /
  ``tcm.index`` is in ``evt.f`` (one value, or one per entry when ``evt.f`` is a list)
* no mode: an event-level expression over earlier fields

``tcm.index`` is the hit's position in the whole file's flattened TCM (not per chunk).

Speed: the input files stay open for the whole build and plain columns are read with one
HDF5 call per channel into arrays reused from chunk to chunk; the event fields are numpy
arrays (lists as values + offsets) turned into Awkward arrays without copies; the output is
written by :class:`pygama_ak.lh5.write.Appender`, which compresses chunk k in threads while
chunk k+1 is built.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..configs import ConfigError
from .config import EvtConfig, EvtOperation, parse_evt_config

DEFAULT_CHUNK_EVENTS = 100_000
TCM_FIELDS = ("tcm.table_key", "tcm.row_in_table", "tcm.index")
_DTYPES = {"float32": "Float32", "float64": "Float64", "int8": "Int8", "int16": "Int16",
           "int32": "Int32", "int64": "Int64", "uint8": "UInt8", "uint16": "UInt16",
           "uint32": "UInt32", "uint64": "UInt64", "bool": "Boolean"}
_NO_MATCH = np.iinfo(np.int64).min
_COMPARE = {"==": np.equal, "!=": np.not_equal, "<": np.less, "<=": np.less_equal,
            ">": np.greater, ">=": np.greater_equal}
# dtypes compared the same by numpy and by Polars (whose NaN rules Expression.to_polars makes
# IEEE's): float64, and integers that numpy and Polars both compare exactly with Python ints
_SAME_COMPARE = {np.dtype(t) for t in ("float64", "int8", "int16", "int32", "int64", "uint8",
                                       "uint16", "uint32")}


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
    """``values`` where ``has``, ``initial`` elsewhere, in a dtype that holds both (``values``
    is a fresh array: changed in place when its dtype holds both)."""
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
    out = values.astype(dtype, copy=False)
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


@dataclass
class _Jagged:
    """A list per event: ``flat`` values and ``offsets`` (n_events + 1) into them."""

    flat: np.ndarray
    offsets: np.ndarray

    @classmethod
    def from_counts(cls, flat: np.ndarray, counts: np.ndarray) -> _Jagged:
        offsets = np.zeros(len(counts) + 1, np.int64)
        np.cumsum(counts, out=offsets[1:])
        return cls(flat, offsets)

    @property
    def counts(self) -> np.ndarray:
        return np.diff(self.offsets)


def _is_list(value) -> bool:
    if isinstance(value, _Jagged):
        return True
    import polars as pl

    return isinstance(value, pl.Series) and isinstance(value.dtype, pl.List)


def _series(name: str, value):
    """An event field (numpy array, :class:`_Jagged` or Polars series) as a Polars series."""
    import polars as pl

    if isinstance(value, pl.Series):
        return value.alias(name)
    if isinstance(value, _Jagged):
        return _list_series(name, value.flat, value.counts)
    return pl.Series(name, value)


def _from_series(series):
    """A Polars result as a numpy array or :class:`_Jagged` when it holds no nulls (else the
    series itself)."""
    import polars as pl

    if series.null_count():
        return series
    if isinstance(series.dtype, pl.List):
        inner = series.explode() if series.len() else series.list.explode()
        if inner.null_count() or isinstance(inner.dtype, pl.List):
            return series
        return _Jagged.from_counts(inner.to_numpy(), series.list.len().to_numpy().astype(np.int64))
    values = series.to_numpy()
    return series if values.dtype.kind == "O" else values


def _flat_lists(layout) -> tuple[np.ndarray, np.ndarray]:
    """(offsets from 0, flat values) of a list layout read from the TCM."""
    import awkward as ak

    if not isinstance(layout, ak.contents.ListOffsetArray) or \
            not isinstance(layout.content, ak.contents.NumpyArray):
        array = ak.Array(layout)
        counts = ak.to_numpy(ak.num(array)).astype(np.int64)
        offsets = np.zeros(len(counts) + 1, np.int64)
        np.cumsum(counts, out=offsets[1:])
        return offsets, ak.to_numpy(ak.flatten(array))
    offsets = np.asarray(layout.offsets.data, dtype=np.int64)
    flat = np.asarray(layout.content.data)[offsets[0]:offsets[-1]]
    return (offsets - offsets[0] if offsets[0] else offsets), flat


class _Files:
    """The input files, opened once for the whole build, fast reads of plain columns, and
    the per-hit working arrays, reused from chunk to chunk.

    A *plain* column is a 1-d ``array<1>{real}``/``array<1>{bool}`` dataset of numbers: its
    rows are read with one HDF5 call into a reused buffer (no file opening, attribute
    parsing or fresh memory per chunk). Anything else goes through
    :func:`pygama_ak.lh5.read`. Fresh memory costs page faults (≈ 0.3 ms per MB here), so
    the arrays a chunk's hits need (TCM columns, tier fields) live in buffers (:meth:`buffer`);
    nothing built from them keeps a view (event fields are always new arrays).
    """

    def __init__(self) -> None:
        self.handles: dict[str, Any] = {}
        self.plain: dict[tuple[str, str], tuple[np.dtype, bool, Any] | None] = {}
        self.buffers: dict[str, np.ndarray] = {}
        self._ramp = np.zeros(0, np.int64)

    def buffer(self, tag: str, n: int, dtype) -> np.ndarray:
        """A length-``n`` array of ``dtype`` for one use (``tag``), valid until the next
        request of the same tag (its contents are undefined)."""
        dtype = np.dtype(dtype)
        buf = self.buffers.get(tag)
        if buf is None or buf.dtype != dtype or len(buf) < n:
            buf = self.buffers[tag] = np.empty(max(n, 1), dtype)
        return buf[:n]

    def close(self) -> None:
        for f in self.handles.values():
            f.close()
        self.handles.clear()

    def file(self, path: str):
        f = self.handles.get(path)
        if f is None:
            from ..lh5.read import open_lh5

            f = self.handles[path] = open_lh5(path)
        return f

    def dataset(self, path: str, name: str):
        """(dtype, stored as bool, access property list) of a plain column; None for
        anything else."""
        key = (path, name)
        if key not in self.plain:
            import h5py

            from ..lh5.read import read_attrs

            found = None
            obj = self.file(path).get(name)
            if isinstance(obj, h5py.Dataset) and obj.ndim == 1 and obj.dtype.kind in "iuf":
                datatype = str(read_attrs(obj).get("datatype", "")).replace(" ", "")
                if datatype in ("array<1>{real}", "array<1>{bool}"):
                    # unfiltered chunks are read straight into our buffer without HDF5's chunk
                    # cache (≈ 40 % faster); filtered ones keep it (a chunk read by two
                    # consecutive ranges is decompressed once)
                    unfiltered = obj.id.get_create_plist().get_nfilters() == 0
                    found = (obj.dtype, datatype == "array<1>{bool}",
                             self._no_cache() if unfiltered else None)
            self.plain[key] = found
        return self.plain[key]

    @staticmethod
    def _no_cache():
        import h5py

        dapl = h5py.h5p.create(h5py.h5p.DATASET_ACCESS)
        dapl.set_chunk_cache(0, 0, 1.0)
        return dapl

    def ramp(self, n: int) -> np.ndarray:
        """0, 1, ..., n - 1 (kept)."""
        if len(self._ramp) < n:
            self._ramp = np.arange(n, dtype=np.int64)
        return self._ramp[:n]

    def rows(self, path: str, name: str, lo: int, hi: int,
             out: np.ndarray | None = None) -> np.ndarray | None:
        """Rows [lo, hi) of a plain column (None if it is not one), as stored (bools as
        uint8), into ``out`` (HDF5 converts to its dtype) or a reused scratch buffer (valid
        until the next scratch read of the same dtype). The dataset is opened for the read
        only, so no HDF5 chunk cache outlives it."""
        import h5py

        found = self.dataset(path, name)
        if found is None:
            return None
        dtype, _, dapl = found
        dsid = h5py.h5d.open(self.file(path).id, name.encode(), dapl)
        n = hi - lo
        if hi > dsid.shape[0]:
            raise ConfigError(f"{path}:{name}: the TCM points to row {hi - 1} but the table has "
                              f"{dsid.shape[0]} rows")
        if out is None:
            out = self.buffer(f"scratch {dtype.str}", n, dtype)
        if n:
            fspace = dsid.get_space()
            fspace.select_hyperslab((lo,), (n,))
            dsid.read(h5py.h5s.create_simple((n,)), fspace, out)
        return out


class _Chunk:
    """The events [start, stop) of the TCM with their hits, and the event fields built so far."""

    def __init__(self, inputs: _Inputs, files: _Files, start: int, stop: int) -> None:
        """Read the chunk's TCM rows and tier fields (into ``files``' reused buffers)."""
        self.inputs, self.config, self.files = inputs, inputs.config, files
        first_hit, self.offsets, key, row = self._read_tcm(start, stop)
        self.n = len(self.offsets) - 1
        counts = np.diff(self.offsets)
        n_hits = int(self.offsets[-1])
        evt = files.buffer("event of hit", n_hits, np.int64)
        if n_hits and counts.min() > 0:  # no empty event: +1 at each event start, cumsum
            evt[:] = 0
            evt[self.offsets[1:-1]] = 1
            np.cumsum(evt, out=evt)
        else:
            evt[:] = np.repeat(np.arange(self.n, dtype=np.int64), counts)
        self.evt_of_hit = evt
        index = np.add(files.ramp(n_hits), first_hit, out=files.buffer("tcm.index", n_hits, np.int64))
        self.hits: dict[str, np.ndarray] = {
            "tcm.table_key": key, "tcm.row_in_table": row, "tcm.index": index}
        self._read_tier_fields()
        self.evt: dict[str, Any] = {}  # numpy arrays, _Jagged lists or Polars series
        self._cache: dict[tuple, np.ndarray] = {}  # masks and picks shared by operations

    def _read_tcm(self, start: int, stop: int):
        """(index of the first hit, event offsets from 0, table_key, row_in_table) of the
        events [start, stop)."""
        path, name = self.inputs.tcm_path, self.inputs.tcm_name.strip("/")
        files = self.files
        cl = {c: f"{name}/{c}/cumulative_length" for c in ("table_key", "row_in_table")}
        flat = {c: f"{name}/{c}/flattened_data" for c in ("table_key", "row_in_table")}
        if all(files.dataset(path, d) is not None for d in (*cl.values(), *flat.values())):
            offsets = files.buffer("offsets", stop - start + 1, np.int64)
            if start > 0:
                files.rows(path, cl["table_key"], start - 1, stop, out=offsets)
            else:
                offsets[0] = 0
                files.rows(path, cl["table_key"], 0, stop, out=offsets[1:])
            base, end = int(offsets[0]), int(offsets[-1])
            other = files.rows(path, cl["row_in_table"], stop - 1, stop,
                               out=np.zeros(1, np.int64)) if stop > start else offsets[-1:]
            if int(other[-1]) != end:
                raise ConfigError(f"{path}:{name}: table_key and row_in_table list different "
                                  "numbers of hits")
            if len(offsets) > 1 and np.any(offsets[1:] < offsets[:-1]):
                raise ConfigError(f"{path}:{name}: cumulative_length is not increasing")
            if base:
                offsets -= base
            key = files.rows(path, flat["table_key"], base, end,
                             out=files.buffer("tcm.table_key", end - base, np.int64))
            row = files.rows(path, flat["row_in_table"], base, end,
                             out=files.buffer("tcm.row_in_table", end - base, np.int64))
            return base, offsets, key, row
        import awkward as ak

        from ..lh5 import read

        tcm = ak.to_layout(read(path, name, fields=["table_key", "row_in_table"], rows=(start, stop)))
        offsets, key = _flat_lists(tcm.content("table_key"))
        row_offsets, row = _flat_lists(tcm.content("row_in_table"))
        if not np.array_equal(row_offsets, offsets):
            raise ConfigError(f"{path}:{name}: table_key and row_in_table list different numbers "
                              "of hits per event")
        first_hit = 0
        if start > 0:
            before = read(path, f"{name}/table_key/cumulative_length", rows=(start - 1, start))
            first_hit = int(np.asarray(before)[0])
        return first_hit, offsets, key.astype(np.int64), row.astype(np.int64)

    def _read_tier_fields(self) -> None:
        """Per hit, the tier fields the config uses: for each channel, the rows its hits point
        to are read as one range and scattered to the hits (no gather when the hits use the
        range's rows once each, in order — as in a TCM built from the same tables)."""
        from ..lh5 import read

        key, row = self.hits["tcm.table_key"], self.hits["tcm.row_in_table"]
        groups = []  # (channel key, its hits, their rows within [lo, hi) or None, lo, hi)
        n_found = 0
        for k in dict.fromkeys(self.inputs.keys.values()):
            sel = np.flatnonzero(key == k)
            if len(sel) == 0:
                continue
            rows = row[sel]
            lo, hi = int(rows.min()), int(rows.max()) + 1
            in_order = hi - lo == len(rows) and bool(np.all(rows[1:] > rows[:-1]))
            groups.append((k, sel, None if in_order else rows - lo, lo, hi))
            n_found += len(sel)
        missing = None
        if n_found < len(key):
            missing = np.flatnonzero(~np.isin(key, np.array([g[0] for g in groups], np.int64)))
        for tier, fields in self.inputs.fields.items():
            arrays = {}
            for f in fields:
                dtype = self.inputs.dtypes[f"{tier}.{f}"]
                arrays[f] = self.files.buffer(f"{tier}.{f}", len(key), dtype)
                if missing is not None:
                    arrays[f][missing] = _fill_value(dtype)
            for k, sel, local, lo, hi in groups:
                path, table = self.inputs.tiers[tier][0], self.inputs.table(tier, k)
                data = None
                for f in fields:
                    column = self.files.rows(path, f"{table}/{f}", lo, hi)  # (bools: uint8)
                    if column is None:  # not a plain column: the general reader
                        if data is None:
                            data = read(path, table, fields=fields, rows=(lo, hi))
                            if len(data) < hi - lo:
                                raise ConfigError(f"{path}:{table}: the TCM points to row "
                                                  f"{hi - 1} but the table has fewer rows")
                        column = np.asarray(data[f])
                    arrays[f][sel] = column if local is None else column[local]  # casts
            for f, values in arrays.items():
                self.hits[f"{tier}.{f}"] = values

    # -- per-hit and per-event expressions
    def _simple(self, op: EvtOperation, node) -> np.ndarray | bool | int | float | None:
        """Comparisons of hit columns and numbers, ``~ & |`` of booleans, with numpy; None for
        anything else (Polars evaluates it). Gives what the Polars translation gives."""
        kind = node.op
        if kind == "const":
            return node.value if isinstance(node.value, bool | int | float) else None
        if kind == "name":
            if node.value in op.parameters:
                value = op.parameters[node.value]
                return value if isinstance(value, bool | int | float) else None
            return self.hits.get(node.value)
        args = [self._simple(op, a) for a in node.args]
        if any(a is None for a in args):
            return None
        flags = [isinstance(a, bool) or (isinstance(a, np.ndarray) and a.dtype == np.bool_)
                 for a in args]
        if kind in _COMPARE and len(args) == 2 and not any(flags):
            if not any(isinstance(a, np.ndarray) for a in args) or \
                    any(isinstance(a, np.ndarray) and a.dtype not in _SAME_COMPARE for a in args):
                return None
            return _COMPARE[kind](args[0], args[1])
        if kind == "~" and flags == [True]:
            return np.logical_not(args[0])
        if kind in ("&", "|") and all(flags):
            return (np.logical_and if kind == "&" else np.logical_or)(args[0], args[1])
        return None

    def per_hit(self, op: EvtOperation, expr) -> np.ndarray:
        import polars as pl

        names = expr.names()
        if expr.root.op == "name" and expr.root.value in self.hits:  # a plain field: no work
            return self.hits[expr.root.value]
        key = ("expr", expr.text.strip(), tuple(sorted((k, op.parameters[k]) for k in names
                                                       if k in op.parameters)))
        if key in self._cache and not any(n.startswith("evt.") for n in names):
            return self._cache[key]
        simple = self._simple(op, expr.root)
        if simple is not None:
            n = len(self.evt_of_hit)
            if not isinstance(simple, np.ndarray):  # a constant such as "True"
                simple = np.full(n, simple, dtype=bool if isinstance(simple, bool) else None)
            if simple.dtype == np.bool_ and simple.shape == (n,):
                self._cache[key] = simple
                return simple
        columns = {}
        for name in expr.names():
            if name in op.parameters:
                continue
            if name in self.hits:
                columns[name] = self.hits[name]
            elif name.startswith("evt.") and name[4:] in self.evt:
                value = self.evt[name[4:]]
                if _is_list(value):
                    raise ConfigError(f"{self.config.source}: operation {op.name!r}: {name} is a "
                                      "list per event and cannot be used per hit")
                if not isinstance(value, np.ndarray):
                    value = value.to_numpy()
                columns[name] = value[self.evt_of_hit]
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

        used = {n[4:] if n.startswith("evt.") else n for n in op.expression.names()}
        columns = [_series(c, v) for c, v in self.evt.items() if c in used]
        frame = pl.DataFrame(columns) if columns else pl.DataFrame({"_": np.zeros(self.n, bool)})
        schema = {**{f"evt.{c}": t for c, t in frame.schema.items()}, **frame.schema}

        def resolve(name: str):
            if name in op.parameters:
                value = op.parameters[name]
                return pl.lit(value, dtype=pl.Float64) if isinstance(value, float) else value
            column = name[4:] if name.startswith("evt.") else name
            if column in frame.columns and column in self.evt:
                return pl.col(column)
            raise ConfigError(f"{self.config.source}: operation {op.name!r}: unknown name {name!r}")

        out = frame.select(op.expression.to_polars(resolve, schema).alias(op.name)).to_series()
        if out.len() != self.n:
            out = pl.repeat(out[0], self.n, eager=True).alias(op.name)
        return out

    # -- one operation
    def run(self, op: EvtOperation):
        from . import kernels

        if op.mode is None:
            return self._finish(op, self.per_event(op))
        keys = [self.inputs.keys[c] for c in op.channels]
        mask_key = ("mask", tuple(keys))
        if mask_key not in self._cache:
            self._cache[mask_key] = np.isin(self.hits["tcm.table_key"], np.asarray(keys, dtype=np.int64))
        mask = self._cache[mask_key]
        if op.query is not None:
            query_key = ("query", mask_key, op.query.text.strip(),
                         tuple(sorted((k, v) for k, v in op.parameters.items()
                                      if k in op.query.names())))
            passing = self._cache.get(query_key)
            if passing is None:
                passing = mask & self.per_hit(op, op.query).astype(bool, copy=False)
                if not any(n.startswith("evt.") for n in op.query.names()):
                    self._cache[query_key] = passing
            mask = passing
        values = self.per_hit(op, op.expression)
        if op.mode == "sum":
            start = 0 if op.initial is None else op.initial
            if values.dtype.kind == "b":  # a count: exact in any dtype
                total = kernels.segment_count(self.offsets, mask & values, self.evt_of_hit)
                dtype = np.dtype(np.float64) if isinstance(start, float) else total.dtype
                result = np.full(self.n, start, dtype=dtype) + total.astype(dtype, copy=False)
            else:
                if values.dtype.kind in "iu":
                    values = values.astype(np.int64)
                dtype = values.dtype if not (isinstance(start, float) and values.dtype.kind != "f") \
                    else np.dtype(np.float64)
                out = np.full(self.n, start, dtype=dtype)
                result = kernels.segment_sum(self.offsets, mask, values.astype(dtype, copy=False),
                                             out, self.evt_of_hit)
        elif op.mode in ("any", "all"):
            initial = bool(op.initial) if op.initial is not None else False
            n_true = kernels.segment_count(self.offsets, mask & values.astype(bool, copy=False),
                                           self.evt_of_hit)
            if op.mode == "any":
                result = (n_true > 0) | initial
            else:
                n_pass = kernels.segment_count(self.offsets, mask, self.evt_of_hit)
                result = np.where(n_pass > 0, n_true == n_pass, initial)
        elif op.mode in ("first_at", "last_at"):
            if op.mode_arg not in self.hits:
                raise ConfigError(f"{self.config.source}: operation {op.name!r}: unknown sorter {op.mode_arg!r}")
            pick_key = ("pick", mask_key, op.query.text if op.query else None,
                        tuple(sorted(op.parameters.items())), op.mode_arg, op.mode)
            best = self._cache.get(pick_key)
            if best is None or any(n.startswith("evt.") for n in op_names(op)):
                best = kernels.segment_pick(self.offsets, self.evt_of_hit, mask,
                                            self.hits[op.mode_arg], op.mode == "last_at")
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
            else:  # the position of each hit's channel in `channels`
                ordered = np.asarray(keys, dtype=np.int64)
                secondary = self.hits["tcm.table_key"][chosen]
                if len(ordered) > 1 and not np.all(ordered[1:] > ordered[:-1]):
                    by_key = np.argsort(ordered, kind="stable")  # (else: key order = position)
                    secondary = by_key[np.searchsorted(ordered[by_key], secondary)]
            # chosen is in tcm.index order: a stable sort by (event, secondary) keeps it for
            # ties; no sort at all when every event's hits are in order already (the TCM sorts
            # coincident hits by channel key, often the order of `channels`)
            same = evt[1:] == evt[:-1]
            if np.any(same & (secondary[1:] < secondary[:-1])) or \
                    (secondary.dtype.kind == "f" and np.isnan(secondary).any()):
                chosen = chosen[np.lexsort((secondary, evt))]
            counts = np.bincount(evt, minlength=self.n)
            result = _Jagged.from_counts(values[chosen], counts)
        else:  # keep_at_ch / keep_at_idx
            ref = op.mode_arg.split(".", 1)[1]
            if ref not in self.evt:
                raise ConfigError(f"{self.config.source}: operation {op.name!r}: {op.mode_arg} is "
                                  "not an earlier operation")
            match = self.hits["tcm.table_key" if op.mode == "keep_at_ch" else "tcm.index"]
            target = self.evt[ref]
            is_list = _is_list(target)
            match_key = ("match", mask_key, op.query.text if op.query else None,
                         tuple(sorted(op.parameters.items())), ref, op.mode)
            found = self._cache.get(match_key)
            if found is not None and op.query is not None and \
                    any(n.startswith("evt.") for n in op.query.names()):
                found = None
            target_offsets = None
            if is_list:
                if isinstance(target, _Jagged):
                    counts, flat = target.counts, target.flat
                else:
                    counts = target.list.len().to_numpy().astype(np.int64)
                    flat = target.explode().to_numpy()
                target_offsets = np.zeros(self.n + 1, np.int64)
                np.cumsum(counts, out=target_offsets[1:])
            elif found is None:
                flat = target if isinstance(target, np.ndarray) else target.to_numpy()
            if found is None:
                targets = np.where(np.isfinite(flat), flat, _NO_MATCH).astype(np.int64) \
                    if flat.dtype.kind == "f" else flat.astype(np.int64, copy=False)
                found = kernels.segment_match(self.offsets, self.evt_of_hit, mask, match,
                                              target_offsets, targets)
                self._cache[match_key] = found
            has = found >= 0
            picked = values[np.where(has, found, 0)] if len(values) else np.zeros(len(found), values.dtype)
            picked = _with_default(picked, has, op.initial)
            result = _Jagged(picked, target_offsets) if is_list else picked
        return self._finish(op, result)

    def _finish(self, op: EvtOperation, result):
        """The result as a numpy array / _Jagged (a Polars series if it has nulls), cast to
        the operation's ``dtype`` (with Polars' casting rules)."""
        import polars as pl

        if op.dtype is None:
            return _from_series(result) if isinstance(result, pl.Series) else result
        target = getattr(pl, _DTYPES.get(str(op.dtype), ""), None)
        if target is None:
            raise ConfigError(f"{self.config.source}: operation {op.name!r}: unknown dtype {op.dtype!r}")
        series = _series(op.name, result)
        return _from_series(series.cast(pl.List(target) if isinstance(series.dtype, pl.List) else target))

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


def _awkward_field(value):
    """One event field as an Awkward array (numpy and _Jagged without a copy)."""
    import awkward as ak

    if isinstance(value, np.ndarray):
        return ak.Array(ak.contents.NumpyArray(value))
    if isinstance(value, _Jagged):
        return ak.Array(ak.contents.ListOffsetArray(ak.index.Index64(value.offsets),
                                                    ak.contents.NumpyArray(value.flat)))
    return ak.from_arrow(value.to_arrow(), highlevel=True)


def _to_awkward(evt: Mapping[str, Any], config: EvtConfig, units: dict[str, str]):
    """Event fields → nested Awkward record (``a___b`` → ``a/b``) with attributes."""
    import awkward as ak

    tree: dict = {}
    ops = {op.name: op for op in config.operations}
    for name in config.outputs:
        array = _awkward_field(evt[name])
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
        files = _Files()
        try:
            for start, stop in bounds:
                chunk = _Chunk(inputs, files, start, stop)
                chunk.build()
                yield _to_awkward(chunk.evt, cfg, inputs.units)
        finally:
            files.close()

    if outfile is None:
        parts = list(chunks())
        return parts[0] if len(parts) == 1 else ak.concatenate(parts)

    from ..lh5.output import atomic_output
    from ..lh5.write import Appender

    # the appender compresses chunk k in threads while chunk k+1 is built
    with atomic_output(outfile, overwrite=overwrite) as tmp, \
            Appender(tmp, compression=compression) as out:
        for part in chunks():
            out.append(part, evt_group)
    return n_events
