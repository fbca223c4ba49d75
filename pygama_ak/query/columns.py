"""Column names of a query: what ``hit.cuspEmax_ctc_cal``, ``tp_0_est`` or ``waveform`` mean.

Every column a query can use has one *qualified* name:

* provenance: ``cycle`` (cycle name), ``channel`` (DAQ id), ``row`` (row in the channel's
  tables) for hits, ``event`` (row in the TCM / evt table) for events;
* cycle fields from the file template: ``cycle.period``, ``cycle.run``, ``cycle.type``, ...;
* tier columns: ``<tier>.<field>``, nested tables flattened with dots
  (``raw.waveform.values``, ``evt.geds.energy``);
* channel-map fields: ``<prefix>.<field>`` (``chmap.system``, ``chmap.location.string``).

A name in a query may be qualified or bare. A bare name resolves when exactly one column
has it after its qualifier (``tp_0_est`` → ``dsp.tp_0_est``, ``period`` →
``cycle.period``); otherwise the error lists the candidates (``timestamp`` is in raw, dsp
and hit). Provenance names always win (``channel`` is the DAQ id, ``raw.channel`` the raw
column). A name that is the prefix of nested columns (``raw.waveform``) selects them all as
one struct column.

:class:`TierColumns` reads a tier's columns (dtype, units) from a sample file's attributes,
without reading data.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import polars as pl

PROVENANCE = ("cycle", "channel", "row", "event")


@dataclass(frozen=True)
class Column:
    """One column: qualified ``name``; ``tier``/``path`` (LH5 field path) for tier columns."""

    name: str
    dtype: pl.DataType
    kind: str  # "provenance" | "cycle" | "map" | "data"
    tier: str | None = None
    path: str | None = None
    units: str | None = None


class ColumnError(ValueError):
    """An unknown or ambiguous column name."""


def _leaves(dtype: pl.DataType, prefix: str) -> Iterable[tuple[str, pl.DataType]]:
    if isinstance(dtype, pl.Struct):
        for f in dtype.fields:
            yield from _leaves(f.dtype, f"{prefix}/{f.name}")
    else:
        yield prefix, dtype


def _units(obj, prefix: str = "") -> dict[str, str]:
    """``{field path: units}`` of every dataset-like leaf under an LH5 table group."""
    import h5py

    from ..lh5.read import read_attrs

    out: dict[str, str] = {}
    for key in obj:
        child = obj[key]
        path = f"{prefix}{key}"
        attrs = read_attrs(child)
        if "units" in attrs:
            out[path] = str(attrs["units"])
        dt = str(attrs.get("datatype", ""))
        if isinstance(child, h5py.Group) and dt.startswith("table"):
            out.update(_units(child, path + "/"))
    return out


class TierColumns:
    """The columns of one tier, from the attributes of sample tables (no data read).

    Tables with the same ``datatype`` attribute are assumed to share dtypes, so a file with a
    hundred alike channel tables costs one schema read; columns of differing tables are united
    (a column missing from a table reads as nulls).
    """

    def __init__(self, tier: str, file: str, tables: list[str]) -> None:
        self.tier, self.file, self.tables = tier, file, tables
        self.columns: dict[str, Column] = {}
        self._load()

    def _load(self) -> None:
        from ..lh5.read import get_object, open_lh5, read_attrs
        from ..lh5.scan import schema_of

        distinct: dict[str, tuple[str, dict[str, str]]] = {}
        with open_lh5(self.file) as f:
            for table in self.tables:
                obj = get_object(f, self.file, table)
                datatype = str(read_attrs(obj).get("datatype", ""))
                if datatype not in distinct:
                    distinct[datatype] = (table, _units(obj))
        for table, units in distinct.values():
            for name, dtype in schema_of(self.file, table).items():
                for path, leaf in _leaves(dtype, name):
                    qualified = f"{self.tier}.{path.replace('/', '.')}"
                    if qualified not in self.columns:
                        self.columns[qualified] = Column(qualified, leaf, "data", self.tier, path,
                                                         units.get(path))


class Resolver:
    """Resolves names to columns over a set of known columns (loaded lazily per tier)."""

    def __init__(self, fixed: Mapping[str, Column], tiers: Mapping[str, Any]) -> None:
        """``fixed``: provenance, cycle and map columns; ``tiers``: ``{tier: loader}``, a
        callable returning that tier's :class:`TierColumns` (called on first use)."""
        self.fixed = dict(fixed)
        self._loaders = dict(tiers)
        self._tiers: dict[str, dict[str, Column]] = {}

    def tier(self, tier: str) -> dict[str, Column]:
        if tier not in self._tiers:
            self._tiers[tier] = self._loaders[tier]().columns
        return self._tiers[tier]

    def all_columns(self) -> dict[str, Column]:
        out = dict(self.fixed)
        for tier in self._loaders:
            out.update(self.tier(tier))
        return out

    def _pool(self, name: str) -> dict[str, Column]:
        """Columns a qualified name can match (only the tier it names is loaded)."""
        head = name.split(".", 1)[0]
        if head in self._loaders:
            return self.tier(head)
        return self.fixed

    def resolve(self, name: str) -> tuple[str | None, list[Column]]:
        """``(None, [leaf])`` for one column, ``(qualified prefix, leaves)`` for a group."""
        name = name.strip()
        if name in self.fixed and self.fixed[name].kind == "provenance":
            return None, [self.fixed[name]]
        pool = self._pool(name)
        if name in pool:
            return None, [pool[name]]
        group = [c for q, c in pool.items() if q.startswith(name + ".")]
        if group:
            return name, group
        # a bare name: match it after the qualifier of every known column
        everything = self.all_columns()
        exact = [c for q, c in everything.items() if "." in q and q.split(".", 1)[1] == name]
        if len(exact) == 1:
            return None, exact
        if len(exact) > 1:
            raise ColumnError(f"column {name!r} is ambiguous: "
                              f"{', '.join(c.name for c in exact)} (qualify it)")
        groups: dict[str, list[Column]] = {}
        for q, c in everything.items():
            if "." in q and q.split(".", 1)[1].startswith(name + "."):
                groups.setdefault(f"{q.split('.', 1)[0]}.{name}", []).append(c)
        if len(groups) == 1:
            return next(iter(groups.items()))
        if len(groups) > 1:
            raise ColumnError(f"column {name!r} is ambiguous: {', '.join(groups)} (qualify it)")
        close = difflib.get_close_matches(name, list(everything), n=4)
        close += [q for q in everything if q.endswith("." + name.rsplit(".", 1)[-1])][:4]
        hint = f"; did you mean {', '.join(dict.fromkeys(close))}?" if close else ""
        raise ColumnError(f"no column {name!r}{hint}")

    def leaf(self, name: str) -> Column:
        """The single column ``name`` stands for (a group of nested columns is refused)."""
        prefix, cols = self.resolve(name)
        if prefix is not None:
            raise ColumnError(f"{name!r} is a group of {len(cols)} columns "
                              f"({', '.join(c.name for c in cols[:4])}); name one of them")
        return cols[0]

    def expression(self, name: str, alias: str | None = None) -> tuple[pl.Expr, list[Column]]:
        """A Polars expression for ``name`` on the source frame (a struct for a group)."""
        prefix, cols = self.resolve(name)
        expr = pl.col(cols[0].name) if prefix is None else _struct(cols, prefix)
        return expr.alias(name if alias is None else alias), cols


def _struct(cols: list[Column], prefix: str) -> pl.Expr:
    """Leaves under ``prefix`` as a (nested) struct expression."""
    tree: dict[str, Any] = {}
    for c in cols:
        rest = c.name[len(prefix) + 1:].split(".")
        node = tree
        for part in rest[:-1]:
            node = node.setdefault(part, {})
        node[rest[-1]] = c.name

    def build(node: dict) -> pl.Expr:
        return pl.struct([build(v).alias(k) if isinstance(v, dict) else pl.col(v).alias(k)
                          for k, v in node.items()])

    return build(tree)


__all__ = ["Column", "ColumnError", "Resolver", "TierColumns", "PROVENANCE"]
