"""Channel maps and parameter databases: per-channel fields joined onto hits.

A source is a YAML/JSON file or a mapping ``{entry: {...fields...}}`` (e.g. a LEGEND channel
map ``{V00048A: {name: V00048A, system: geds, daq: {rawid: 1084803}, location: {...}}}`` or a
parameter file ``{ch1084803: {pars: {...}}}``), or a folder holding a ``validity.yaml``/
``validity.json`` (the legend-metadata layout: which files apply from which timestamp, per
category). For a folder the map of a cycle is the merge of the files valid at the cycle's
``timestamp`` for its ``type`` (modes ``append``/``reset``/``remove``/``replace``, a category
falls back to ``all``, as :mod:`dbetto` does).

Each entry becomes one row: its channel (the integer at ``key``, default ``daq.rawid``; with
``key=None`` the digits of the entry name, ``ch1084803`` → 1084803) and its nested fields
flattened to dotted names under a prefix (``chmap.system``, ``chmap.location.string``).
Entries without a channel (dummies, aliases) are skipped.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..configs import ConfigError

_VALIDITY = ("validity.yaml", "validity.yml", "validity.json")
_TIMESTAMP = re.compile(r"(\d{8}T\d{6}Z)")


def _load_file(path: Path) -> Any:
    text = path.read_text()
    try:
        if path.suffix.lower() in (".yaml", ".yml"):
            import yaml

            return yaml.safe_load(text)
        return json.loads(text)
    except Exception as exc:  # noqa: BLE001 - any parse error names the file
        raise ConfigError(f"{path}: cannot parse: {exc}") from exc


def _merge(into: dict, new: Mapping) -> dict:
    """Recursive dict update (later files override and extend earlier ones)."""
    for key, value in new.items():
        if isinstance(value, Mapping) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        elif isinstance(value, Mapping):
            into[key] = _merge({}, value)
        else:
            into[key] = value
    return into


def _unix(timestamp: str) -> float:
    m = _TIMESTAMP.search(str(timestamp))
    if m is None:
        raise ConfigError(f"timestamp {timestamp!r} is not of the form YYYYmmddTHHMMSSZ")
    return datetime.strptime(m.group(1), "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc).timestamp()


class _Validity:
    """A legend-metadata validity file: per category, the files valid from each timestamp."""

    def __init__(self, path: Path) -> None:
        self.path = path
        entries = _load_file(path)
        if not isinstance(entries, list):
            raise ConfigError(f"{path}: a validity file is a list of entries")
        per_category: dict[str, list[tuple[float, list[str]]]] = {}
        for i, entry in enumerate(sorted(entries, key=lambda e: _unix(e["valid_from"]))):
            if not isinstance(entry, Mapping) or "valid_from" not in entry or "apply" not in entry:
                raise ConfigError(f"{path}: entry {i} needs valid_from and apply")
            files = entry["apply"] if isinstance(entry["apply"], list) else [entry["apply"]]
            categories = entry.get("category", "all")
            for category in categories if isinstance(categories, list) else [categories]:
                history = per_category.setdefault(category, [])
                mode = entry.get("mode", "append") if history else "reset"
                current = list(history[-1][1]) if history else []
                if mode == "reset":
                    current = list(files)
                elif mode == "append":
                    current += files
                elif mode == "remove":
                    current = [f for f in current if f not in files]
                elif mode == "replace":
                    if len(files) != 2:
                        raise ConfigError(f"{path}: replace needs two files, got {files}")
                    current = [f for f in current if f != files[0]] + [files[1]]
                else:
                    raise ConfigError(f"{path}: unknown mode {mode!r}")
                history.append((_unix(entry["valid_from"]), current))
        self.entries = {k: sorted(v, key=lambda e: e[0]) for k, v in per_category.items()}

    def files(self, timestamp: str, category: str = "all") -> list[str]:
        """The files valid at ``timestamp`` for ``category`` (falling back to ``all``)."""
        t = _unix(timestamp)
        for cat in dict.fromkeys([category, "all"]):
            valid = [files for start, files in self.entries.get(cat, []) if start <= t]
            if valid:
                return valid[-1]
        raise ConfigError(f"{self.path}: no entry valid at {timestamp} for category {category!r}")


def flatten(entry: Mapping, prefix: str = "") -> dict[str, Any]:
    """``{a: {b: 1}, c: 2}`` → ``{"a.b": 1, "c": 2}`` (lists and scalars are leaves)."""
    out: dict[str, Any] = {}
    for key, value in entry.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(flatten(value, name + "."))
        else:
            out[name] = value
    return out


def _get(entry: Mapping, dotted: str) -> Any:
    value: Any = entry
    for part in dotted.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def _channel_of(name: str, entry: Mapping, key: str | None) -> int | None:
    value = _get(entry, key) if key is not None else name
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    m = re.fullmatch(r"\D*(\d+)", str(value).strip())
    return int(m.group(1)) if m else None


class ChannelMap:
    """Per-channel fields from a file, a mapping or a folder with a validity file."""

    def __init__(self, source: str | os.PathLike | Mapping, *, prefix: str = "chmap",
                 key: str | None = "daq.rawid") -> None:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", prefix):
            raise ConfigError(f"channel map prefix {prefix!r} must be a plain name")
        self.prefix, self.key = prefix, key
        self._static: dict | None = None
        self._validity: _Validity | None = None
        self._cache: dict[tuple[str, ...], dict[int, dict[str, Any]]] = {}
        if isinstance(source, Mapping):
            self.where = "<dict>"
            self._static = dict(source)
            return
        path = Path(source)
        self.where = str(path)
        if path.is_dir():
            found = [path / v for v in _VALIDITY if (path / v).is_file()]
            if not found:
                raise ConfigError(f"{path}: a channel-map folder needs a validity.yaml")
            self.folder = path
            self._validity = _Validity(found[0])
        elif path.is_file():
            data = _load_file(path)
            if not isinstance(data, Mapping):
                raise ConfigError(f"{path}: a channel map is a mapping of entries")
            self._static = dict(data)
        else:
            raise ConfigError(f"{path}: channel map not found")

    def __repr__(self) -> str:
        return f"ChannelMap({self.where!r}, prefix={self.prefix!r}, key={self.key!r})"

    @property
    def varies(self) -> bool:
        """Whether the map depends on the cycle (a folder with a validity file)."""
        return self._validity is not None

    def entries(self, fields: Mapping[str, str] | None = None) -> dict[int, dict[str, Any]]:
        """``{channel: {prefix.field: value}}`` valid for a cycle with template ``fields``."""
        if self._validity is None:
            files: tuple[str, ...] = ()
            raw = self._static or {}
        else:
            fields = fields or {}
            if "timestamp" not in fields:
                raise ConfigError(f"{self.where}: a channel-map folder needs cycles with a "
                                  "{timestamp} field")
            files = tuple(self._validity.files(fields["timestamp"], fields.get("type", "all")))
            if files in self._cache:
                return self._cache[files]
            raw = {}
            for name in files:
                data = _load_file(self.folder / name)
                if not isinstance(data, Mapping):
                    raise ConfigError(f"{self.folder / name}: a channel map is a mapping")
                _merge(raw, data)
        if files in self._cache:
            return self._cache[files]
        out: dict[int, dict[str, Any]] = {}
        for name, entry in raw.items():
            if not isinstance(entry, Mapping):
                continue
            channel = _channel_of(str(name), entry, self.key)
            if channel is None:
                continue
            out[channel] = flatten(entry, self.prefix + ".")
        self._cache[files] = out
        return out


def column_dtypes(rows: list[Mapping[str, Any]]):
    """Polars dtypes of the union of the rows' fields (mixed kinds become strings)."""
    import polars as pl

    kinds: dict[str, set[type]] = {}
    for row in rows:
        for name, value in row.items():
            kinds.setdefault(name, set())
            if value is not None:
                kinds[name].add(type(value))
    out = {}
    for name, types in kinds.items():
        if types <= {bool}:
            out[name] = pl.Boolean()
        elif types <= {int}:
            out[name] = pl.Int64()
        elif types <= {int, float}:
            out[name] = pl.Float64()
        else:
            out[name] = pl.String()
    return out


def as_value(value: Any, dtype) -> Any:
    """A map value in the column's dtype (lists and mixed kinds as their JSON/str text)."""
    import polars as pl

    if value is None:
        return None
    if dtype == pl.String and not isinstance(value, str):
        return json.dumps(value) if isinstance(value, list | dict) else str(value)
    return value


__all__ = ["ChannelMap", "flatten", "column_dtypes"]
