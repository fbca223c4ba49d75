"""Where the files of a production are: file-name templates, cycle discovery, channel tables.

A LEGEND production keeps one file per tier and cycle::

    <root>/<tier>/<type>/<period>/<run>/<exp>-<period>-<run>-<type>-<timestamp>-tier_<tier>.lh5

:class:`Template` turns such a pattern (:data:`LEGEND_TEMPLATE`, or any user pattern with
``{field}`` placeholders, a field may appear several times) into a glob and a regular
expression; :func:`discover` walks a root with it and groups the files by cycle. A cycle is
named after its non-tier fields in the order they appear in the file name
(``l200-p03-r001-cal-20230318T012144Z``). Files that do not fit the template (e.g. a run
folder that disagrees with the run in the file name) are reported, not guessed.

Inside a file, :class:`TableTemplate` (``ch{channel}/{tier}`` by default, ``hardware_tcm_1``
for the TCM, ``evt`` for events) names the table of each channel; channels are the integer
DAQ ids (``rawid``) found in the table names.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

#: The LEGEND production layout, relative to the production's ``tier`` folder.
LEGEND_TEMPLATE = "{tier}/{type}/{period}/{run}/{exp}-{period}-{run}-{type}-{timestamp}-tier_{tier}.lh5"

#: Table names inside the files of each tier; tiers not listed use :data:`HIT_TABLE`.
DEFAULT_TABLES: dict[str, str] = {"tcm": "hardware_tcm_1", "evt": "evt", "pet": "evt",
                                  "skm": "skm"}
HIT_TABLE = "ch{channel}/{tier}"

_FIELD = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(?::[^{}]*)?\}")


class LayoutError(ValueError):
    """A template or table pattern that cannot be used, or files that do not fit it."""


class Template:
    """A file-name pattern with ``{field}`` placeholders, relative to a root folder."""

    def __init__(self, pattern: str) -> None:
        pattern = pattern.replace(os.sep, "/").lstrip("/")
        if not _FIELD.search(pattern):
            raise LayoutError(f"template {pattern!r} has no {{field}} placeholder")
        self.pattern = pattern
        self.fields: list[str] = []
        regex, glob, pos = [], [], 0
        for m in _FIELD.finditer(pattern):
            literal = pattern[pos:m.start()]
            regex.append(re.escape(literal))
            glob.append(_glob_escape(literal))
            name = m.group(1)
            if name in self.fields:
                regex.append(f"(?P={name})")
            else:
                self.fields.append(name)
                regex.append(f"(?P<{name}>[^/]+?)")
            glob.append("*")
            pos = m.end()
        regex.append(re.escape(pattern[pos:]))
        glob.append(_glob_escape(pattern[pos:]))
        self.regex = re.compile("".join(regex) + r"\Z")
        self.glob = "".join(glob)
        basename = pattern.rsplit("/", 1)[-1]
        in_name = [m.group(1) for m in _FIELD.finditer(basename)]
        ordered = list(dict.fromkeys(in_name + self.fields))
        #: the fields that name a cycle, in file-name order (every field but ``tier``)
        self.cycle_fields = [f for f in ordered if f != "tier"]

    def __repr__(self) -> str:
        return f"Template({self.pattern!r})"

    def match(self, relpath: str) -> dict[str, str] | None:
        """The field values of a path relative to the root, or None when it does not fit."""
        m = self.regex.match(relpath.replace(os.sep, "/"))
        return None if m is None else m.groupdict()


def _glob_escape(text: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", text)


@dataclass
class Cycle:
    """One cycle: its name, its template fields and its file in each tier."""

    key: str
    fields: dict[str, str]
    files: dict[str, Path] = field(default_factory=dict)


@dataclass
class Discovery:
    """What :func:`discover` found: cycles sorted by name, files that did not fit."""

    cycles: list[Cycle]
    unmatched: list[Path]
    fields: list[str]

    @property
    def tiers(self) -> list[str]:
        """The tiers that have at least one file, in first-seen order."""
        seen: dict[str, None] = {}
        for c in self.cycles:
            seen.update(dict.fromkeys(c.files))
        return list(seen)


def discover(root: str | os.PathLike, templates: str | Mapping[str, str] = LEGEND_TEMPLATE) -> Discovery:
    """Find every file under ``root`` that fits the template(s).

    ``templates`` is one pattern containing ``{tier}`` or a mapping ``{tier: pattern}`` (each
    pattern without ``{tier}``). Returns the cycles (sorted by name) with their files per tier.
    """
    root = Path(root)
    if not root.is_dir():
        raise LayoutError(f"{root}: no such folder")
    if isinstance(templates, str):
        template = Template(templates)
        if "tier" not in template.fields:
            raise LayoutError(f"template {templates!r} must contain {{tier}} (or pass a mapping "
                              "{tier: template})")
        per_tier: list[tuple[str | None, Template]] = [(None, template)]
    else:
        per_tier = [(tier, Template(t)) for tier, t in templates.items()]
        if not per_tier:
            raise LayoutError("no templates given")
    cycles: dict[str, Cycle] = {}
    unmatched: list[Path] = []
    all_fields: list[str] = []
    for fixed_tier, template in per_tier:
        all_fields += [f for f in template.cycle_fields if f not in all_fields]
        for path in sorted(root.glob(template.glob)):
            if not path.is_file():
                continue
            values = template.match(path.relative_to(root).as_posix())
            if values is None:
                unmatched.append(path)
                continue
            tier = fixed_tier or values.pop("tier")
            values.pop("tier", None)
            fields = {f: values[f] for f in template.cycle_fields}
            key = "-".join(fields.values())
            cycle = cycles.setdefault(key, Cycle(key, fields))
            if tier in cycle.files and cycle.files[tier] != path:
                raise LayoutError(f"two {tier} files for cycle {key}: {cycle.files[tier]} and {path}")
            cycle.files[tier] = path
    return Discovery(sorted(cycles.values(), key=lambda c: c.key), sorted(set(unmatched)), all_fields)


class TableTemplate:
    """The table of one channel inside a file, e.g. ``ch{channel}/{tier}`` (channel = digits).

    A template without ``{channel}`` names one event-level table (``evt``, ``hardware_tcm_1``).
    """

    def __init__(self, pattern: str, tier: str) -> None:
        self.pattern = pattern.replace("{tier}", tier).strip("/")
        names = [m.group(1) for m in _FIELD.finditer(self.pattern)]
        if any(n != "channel" for n in names) or len(names) > 1:
            raise LayoutError(f"table pattern {pattern!r}: only one {{channel}} placeholder is "
                              "allowed (besides {tier})")
        self.per_channel = bool(names)
        parts = self.pattern.split("/")
        if self.per_channel:
            at = next(i for i, p in enumerate(parts) if _FIELD.search(p))
            if any(_FIELD.search(p) for p in parts[:at]):
                raise LayoutError(f"table pattern {pattern!r}: bad placeholder")
            self.group = "/".join(parts[:at])
            self.suffix = "/".join(parts[at + 1:])
            piece = parts[at]
            m = _FIELD.search(piece)
            self.key = re.compile(re.escape(piece[:m.start()]) + r"(\d+)"
                                  + re.escape(piece[m.end():]) + r"\Z")
            self._format = piece[:m.start()] + "{}" + piece[m.end():]
            self._spec = m.group(0)[len("{channel"):-1]

    def __repr__(self) -> str:
        return f"TableTemplate({self.pattern!r})"

    def name(self, channel: int | None = None) -> str:
        """The table path for ``channel`` (None for event-level tables)."""
        if not self.per_channel:
            return self.pattern
        key = format(channel, self._spec[1:]) if self._spec else str(channel)
        parts = [p for p in (self.group, self._format.format(key), self.suffix) if p]
        return "/".join(parts)

    def channels(self, path: str | os.PathLike, handle=None) -> dict[int, tuple[str, int | None]]:
        """``{channel: (table path, rows)}`` of every table of this pattern in the file
        (``handle``: the file, already open)."""
        import contextlib

        import h5py

        from ..lh5.read import open_lh5

        out: dict[int, tuple[str, int | None]] = {}
        with contextlib.nullcontext(handle) if handle is not None else open_lh5(path) as f:
            group = f[self.group] if self.group else f
            if not isinstance(group, h5py.Group):
                return out
            for key in group:
                m = self.key.match(key)
                if m is None:
                    continue
                obj = group.get(f"{key}/{self.suffix}" if self.suffix else key)
                if obj is None:
                    continue
                name = "/".join(p for p in (self.group, key, self.suffix) if p)
                out[int(m.group(1))] = (name, rows_of(obj))
        return dict(sorted(out.items()))


def rows_of(obj) -> int | None:
    """Rows of an LH5 table/array from the shape of its first dataset (no attribute reads)."""
    import h5py

    while isinstance(obj, h5py.Group):
        if "cumulative_length" in obj:
            obj = obj["cumulative_length"]
        elif "encoded_data" in obj:
            obj = obj["encoded_data/cumulative_length"]
        elif "entries" in obj:  # a view: rows are not known from shapes
            return None
        else:
            if obj.id.get_num_objs() == 0:
                return None
            obj = obj[obj.id.get_objname_by_idx(0)]
    return int(obj.shape[0]) if obj.shape else None


def table_templates(tiers: list[str], tables: Mapping[str, str] | None = None) -> dict[str, TableTemplate]:
    """The table template of each tier: ``tables`` overrides :data:`DEFAULT_TABLES`/:data:`HIT_TABLE`."""
    tables = dict(tables or {})
    out = {}
    for tier in dict.fromkeys([*tiers, *tables]):
        out[tier] = TableTemplate(tables.get(tier, DEFAULT_TABLES.get(tier, HIT_TABLE)), tier)
    return out


__all__ = ["LEGEND_TEMPLATE", "Template", "TableTemplate", "Cycle", "Discovery", "discover",
           "table_templates", "LayoutError"]
