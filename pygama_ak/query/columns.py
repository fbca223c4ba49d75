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

:class:`TierColumns` knows a tier's field names from the ``datatype`` attributes of a sample
file's tables; the dtype and units of a field come from a zero-row read of that field alone
(the same conversion as the data), only for the fields a query uses.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
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


def _leaves(array, prefix: str) -> list[tuple[str, Any]]:
    """``[(path, awkward leaf)]`` of a (nested) record array."""
    if array.fields:
        out = []
        for f in array.fields:
            out += _leaves(array[f], f"{prefix}/{f}" if prefix else f)
        return out
    return [(prefix, array)]


class TierColumns:
    """The fields of one tier, from a sample file (all its tables of this tier).

    Field names come from the tables' ``datatype`` attributes (tables with the same
    attribute are read once); :meth:`field` reads zero rows of one field to learn its
    leaves' dtypes and units. A field missing from some tables reads as nulls there.
    """

    def __init__(self, tier: str, file: str, tables: list[str]) -> None:
        self.tier, self.file, self.tables = tier, file, tables
        self._top: dict[str, str] | None = None
        self._fields: dict[str, list[Column]] = {}

    @property
    def top(self) -> dict[str, str]:
        """``{top-level field: a table that has it}`` over all sample tables."""
        if self._top is None:
            from ..lh5.datatype import parse_datatype
            from ..lh5.read import get_object, open_lh5, read_attrs

            top: dict[str, str] = {}
            seen: set[str] = set()
            with open_lh5(self.file) as f:
                for table in self.tables:
                    datatype = str(read_attrs(get_object(f, self.file, table)).get("datatype", ""))
                    if datatype in seen:
                        continue
                    seen.add(datatype)
                    for name in parse_datatype(datatype).fields:
                        top.setdefault(name, table)
            self._top = top
        return self._top

    def known(self, name: str) -> bool:
        """Whether top-level field ``name`` exists (cheap once it was prefetched)."""
        return name in self._fields or name in self.top

    def field(self, name: str) -> list[Column]:
        """The leaf columns of top-level field ``name`` (one, or several for a table)."""
        if name not in self._fields:
            self.prefetch([name])
        return self._fields[name]

    def prefetch(self, names: list[str]) -> None:
        """Learn the columns of several top-level fields: one zero-row read of the first
        table when it has them all, else one per table that has some."""
        from ..lh5.errors import LH5NotFoundError

        names = [n for n in dict.fromkeys(names) if n not in self._fields]
        if not names:
            return
        if self._top is None and self.tables:
            try:
                self._learn(self.tables[0], names)
                return
            except LH5NotFoundError:
                pass  # some field is elsewhere (or nowhere): look at every table
        todo: dict[str, list[str]] = {}
        for name in names:
            if name in self.top:
                todo.setdefault(self.top[name], []).append(name)
        for table, fields in todo.items():
            self._learn(table, fields)

    def _learn(self, table: str, fields: list[str]) -> None:
        """Columns of ``fields`` of one table: numeric datasets from their HDF5 dtype and
        attributes, anything else from a zero-row read (the same conversion as the data)."""
        import awkward as ak
        import h5py

        from ..lh5.arrow import to_polars
        from ..lh5.errors import LH5NotFoundError
        from ..lh5.read import get_object, open_lh5, read, read_attrs
        from .sparse import is_direct, series

        other: list[str] = []
        with open_lh5(self.file) as f:
            obj = get_object(f, self.file, table)
            for name in fields:
                node = obj.get(name)
                if node is None:
                    raise LH5NotFoundError(self.file, f"{table}/{name}", f"no field {name!r}")
                attrs = read_attrs(node)
                if isinstance(node, h5py.Dataset) and is_direct(node, attrs):
                    dtype = series(name, node[0:0], str(attrs.get("datatype", ""))).dtype
                    units = attrs.get("units")
                    self._fields[name] = [Column(f"{self.tier}.{name}", dtype, "data", self.tier,
                                                 name, None if units is None else str(units))]
                else:
                    other.append(name)
        if not other:
            return
        empty = read(self.file, table, fields=other, rows=(0, 0))
        frame = to_polars(empty)
        for name in other:
            cols = []
            for path, leaf in _leaves(empty[name], name):
                units = ak.parameters(leaf).get("units")
                dtype = frame.schema[name]
                for part in path.split("/")[1:]:
                    dtype = next(f.dtype for f in dtype.fields if f.name == part)
                cols.append(Column(f"{self.tier}.{path.replace('/', '.')}", dtype, "data",
                                   self.tier, path, None if units is None else str(units)))
            self._fields[name] = cols


class Resolver:
    """Resolves names to columns: fixed ones (provenance, cycle fields, maps) and tier
    columns (a tier's catalog is loaded on first use)."""

    def __init__(self, fixed: Mapping[str, Column], tiers: Mapping[str, Callable[[], TierColumns]]) -> None:
        self.fixed = dict(fixed)
        self._loaders = dict(tiers)
        self._tiers: dict[str, TierColumns] = {}

    def prefetch(self, names: list[str]) -> None:
        """Load the columns of qualified tier names (``hit.x``, ``raw.waveform.values``) in
        one read per tier table (bare names are resolved one by one)."""
        per_tier: dict[str, list[str]] = {}
        for name in names:
            head, _, rest = name.partition(".")
            if head in self._loaders and rest:
                per_tier.setdefault(head, []).append(rest.split(".", 1)[0])
        for tier, fields in per_tier.items():
            self.tier(tier).prefetch(fields)

    def tier(self, tier: str) -> TierColumns:
        if tier not in self._tiers:
            self._tiers[tier] = self._loaders[tier]()
        return self._tiers[tier]

    def _in_tier(self, tier: str, rest: str) -> tuple[str | None, list[Column]] | None:
        """``rest`` (``field`` or ``field.sub...``) in ``tier``: a leaf, a group or None."""
        catalog = self.tier(tier)
        head = rest.split(".", 1)[0]
        if head in catalog._fields or head in catalog.top:
            top = head
        else:  # a field name containing dots
            top = next((f for f in sorted(catalog.top, key=len, reverse=True)
                        if rest == f or rest.startswith(f + ".")), None)
            if top is None:
                return None
        name = f"{tier}.{rest}"
        cols = catalog.field(top)
        leaf = [c for c in cols if c.name == name]
        if leaf:
            return None, leaf
        group = [c for c in cols if c.name.startswith(name + ".")]
        return (name, group) if group else None

    def _fixed(self, name: str) -> tuple[str | None, list[Column]] | None:
        if name in self.fixed:
            return None, [self.fixed[name]]
        group = [c for q, c in self.fixed.items() if q.startswith(name + ".")]
        return (name, group) if group else None

    def resolve(self, name: str) -> tuple[str | None, list[Column]]:
        """``(None, [leaf])`` for one column, ``(qualified prefix, leaves)`` for a group."""
        name = name.strip()
        if name in self.fixed and self.fixed[name].kind == "provenance":
            return None, [self.fixed[name]]
        head, _, rest = name.partition(".")
        if head in self._loaders and rest:
            found = self._in_tier(head, rest)
            if found is not None:
                return found
        else:
            found = self._fixed(name)
            if found is not None:
                return found
        # a bare name: match it after the qualifier of every tier and fixed column
        matches: list[tuple[str | None, list[Column]]] = []
        for tier in self._loaders:
            found = self._in_tier(tier, name)
            if found is not None:
                matches.append(found)
        qualifiers = {q.split(".", 1)[0] for q in self.fixed if "." in q}
        for qualifier in sorted(qualifiers):
            found = self._fixed(f"{qualifier}.{name}")
            if found is not None:
                matches.append(found)
        if len(matches) == 1:
            return matches[0]
        if matches:
            names = [m[0] or m[1][0].name for m in matches]
            raise ColumnError(f"column {name!r} is ambiguous: {', '.join(names)} (qualify it)")
        raise ColumnError(f"no column {name!r}{self._hint(name)}")

    def _hint(self, name: str) -> str:
        known = list(self.fixed)
        for tier in self._loaders:
            known += [f"{tier}.{f}" for f in self.tier(tier).top]
        close = difflib.get_close_matches(name, known, n=4, cutoff=0.6)
        close += difflib.get_close_matches(name, [k.split(".", 1)[-1] for k in known], n=4, cutoff=0.75)
        return f"; did you mean {', '.join(dict.fromkeys(close))}?" if close else ""

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
