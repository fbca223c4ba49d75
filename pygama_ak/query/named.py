"""Named queries: documented, reusable selections built from ordered named cuts.

A named query is *data*. A ``.py`` file in a queries folder holds a docstring and one
assignment ``QUERY = {...}`` of literals; it is read with :mod:`ast` and
:func:`ast.literal_eval` and **never imported or executed** (any other statement is refused).
A ``.yaml``/``.json`` file holds the same mapping. Keys:

``name`` (default: the file name; must match it), ``description`` (default: the docstring's
first paragraph), ``level`` (``hits`` or ``events``), ``columns`` (output columns),
``cuts`` (ordered ``{name: expression}`` or ``{name: {expr:, description:}}``, each in the
restricted grammar), optional ``runs`` (default run selection), ``channels``, ``params``
(named constants the cuts use).

Queries are looked up in the folders of ``$PYGAMA_AK_QUERIES`` (``os.pathsep``-separated),
then in the repository's ``queries/``.
"""

from __future__ import annotations

import ast
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..configs import ConfigError, check_keys
from ..expr import ExpressionError, parse

SUFFIXES = (".py", ".yaml", ".yml", ".json")
_KEYS = ("name", "description", "level", "columns", "cuts", "runs", "channels", "params")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*")


class QueryError(ConfigError):
    """A named query that cannot be loaded: names the file and the key."""


@dataclass(frozen=True)
class Cut:
    """One named cut."""

    name: str
    expr: str
    description: str = ""


@dataclass(frozen=True)
class NamedQuery:
    """A validated named query."""

    name: str
    description: str
    level: str
    columns: tuple[str, ...]
    cuts: tuple[Cut, ...]
    runs: str | None = None
    channels: Any = None
    params: dict[str, Any] = field(default_factory=dict)
    source: Path | None = None

    def selection(self, dataset, *, runs: str | None = None,
                  params: Mapping[str, Any] | None = None):
        """The query on a :class:`~pygama_ak.query.dataset.Dataset` (a ``Selection``);
        ``runs`` replaces the query's run selection, ``params`` override its parameters."""
        merged = {**self.params, **dict(params or {})}
        return dataset.selection(self.level, list(self.columns),
                                 [(c.name, c.expr) for c in self.cuts],
                                 runs=self.runs if runs is None else runs,
                                 channels=self.channels, params=merged)


def search_path() -> list[Path]:
    """Folders searched for named queries, in order."""
    dirs = [Path(p) for p in os.environ.get("PYGAMA_AK_QUERIES", "").split(os.pathsep) if p]
    repo = Path(__file__).resolve().parents[2] / "queries"
    if repo.is_dir():
        dirs.append(repo)
    return dirs


def _literal(path: Path, text: str) -> dict:
    """``QUERY = {...}`` of a ``.py`` file, without executing anything."""
    try:
        tree = ast.parse(text, filename=str(path))
    except SyntaxError as exc:
        raise QueryError(f"{path}:{exc.lineno}: syntax error: {exc.msg}") from None
    value, doc = None, ast.get_docstring(tree)
    for i, node in enumerate(tree.body):
        if i == 0 and isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) \
                and isinstance(node.value.value, str):
            continue  # the docstring
        target = None
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            target = node.target
        if isinstance(target, ast.Name) and target.id == "QUERY" and value is None:
            try:
                value = ast.literal_eval(node.value)
            except ValueError as exc:
                raise QueryError(f"{path}:{node.lineno}: QUERY must be made of literals only "
                                 f"(strings, numbers, lists, dicts): {exc}") from None
            continue
        raise QueryError(f"{path}:{node.lineno}: a query file may only hold a docstring and "
                         "one assignment QUERY = {...}; nothing else is allowed")
    if value is None:
        raise QueryError(f"{path}: no QUERY = {{...}} assignment")
    if not isinstance(value, dict):
        raise QueryError(f"{path}: QUERY must be a dict")
    if doc and "description" not in value:
        value["description"] = doc.strip().split("\n\n")[0].replace("\n", " ")
    return value


def _check_expr(text: Any, where: str) -> str:
    if not isinstance(text, str) or not text.strip():
        raise QueryError(f"{where}: an expression string is required")
    try:
        parse(text)
    except ExpressionError as exc:
        raise QueryError(f"{where}: {exc}") from None
    return text


def validate(data: Mapping[str, Any], where: str, default_name: str | None = None) -> NamedQuery:
    """Check a query mapping and build the :class:`NamedQuery` (errors name the key)."""
    try:
        check_keys(data, _KEYS, where, required=("columns", "cuts"))
    except ConfigError as exc:
        raise QueryError(str(exc)) from None
    name = data.get("name", default_name)
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise QueryError(f"{where}: name {name!r} must be a plain identifier")
    if default_name is not None and name != default_name:
        raise QueryError(f"{where}: name {name!r} differs from the file name {default_name!r}")
    level = data.get("level", "hits")
    if level not in ("hits", "events"):
        raise QueryError(f"{where}: level must be 'hits' or 'events', not {level!r}")
    columns = data["columns"]
    if not isinstance(columns, list | tuple) or not columns or \
            not all(isinstance(c, str) and c.strip() for c in columns):
        raise QueryError(f"{where}: columns must be a non-empty list of column names")
    raw_cuts = data["cuts"]
    if isinstance(raw_cuts, Mapping):
        items = list(raw_cuts.items())
    elif isinstance(raw_cuts, list | tuple):
        items = []
        for i, c in enumerate(raw_cuts):
            if not isinstance(c, Mapping) or "name" not in c:
                raise QueryError(f"{where}: cuts[{i}] must be a mapping with a name")
            items.append((c["name"], {k: v for k, v in c.items() if k != "name"}))
    else:
        raise QueryError(f"{where}: cuts must be an ordered mapping {{name: expression}}")
    if not items:
        raise QueryError(f"{where}: at least one cut is required")
    cuts = []
    for cut_name, spec in items:
        at = f"{where}: cut {cut_name!r}"
        if not isinstance(cut_name, str) or not cut_name.strip():
            raise QueryError(f"{where}: cut names must be non-empty strings")
        if isinstance(spec, Mapping):
            try:
                check_keys(spec, ("expr", "description"), at, required=("expr",))
            except ConfigError as exc:
                raise QueryError(str(exc)) from None
            cuts.append(Cut(cut_name, _check_expr(spec["expr"], at), str(spec.get("description", ""))))
        else:
            cuts.append(Cut(cut_name, _check_expr(spec, at)))
    runs = data.get("runs")
    if runs is not None:
        _check_expr(runs, f"{where}: runs")
    params = data.get("params") or {}
    if not isinstance(params, Mapping) or not all(
            isinstance(k, str) and isinstance(v, bool | int | float | str) for k, v in params.items()):
        raise QueryError(f"{where}: params must map names to numbers, strings or booleans")
    description = data.get("description", "")
    if not isinstance(description, str):
        raise QueryError(f"{where}: description must be a string")
    return NamedQuery(name, " ".join(description.split()), level, tuple(columns), tuple(cuts),
                      runs, data.get("channels"), dict(params))


def load_file(path: str | os.PathLike) -> NamedQuery:
    """Load and validate one query file (``.py`` read as data, ``.yaml``, ``.json``)."""
    path = Path(path)
    if not path.is_file():
        raise QueryError(f"{path}: no such query file")
    if path.suffix == ".py":
        data = _literal(path, path.read_text())
    elif path.suffix in SUFFIXES:
        from ..configs import load_config

        data, _ = load_config(path)
    else:
        raise QueryError(f"{path}: a query file ends in {', '.join(SUFFIXES)}")
    query = validate(data, str(path), default_name=path.stem)
    return NamedQuery(**{**query.__dict__, "source": path})


def _candidates(dirs: list[Path]) -> list[Path]:
    files = []
    for d in dirs:
        if d.is_dir():
            files += sorted(p for p in d.iterdir() if p.suffix in SUFFIXES and p.is_file()
                            and not p.name.startswith(("_", ".")))
    return files


def load_query(name_or_path: str | os.PathLike, dirs: list[Path] | None = None) -> NamedQuery:
    """A query by file path, or by name from the search folders (first match wins)."""
    text = os.fspath(name_or_path)
    path = Path(text)
    if path.suffix in SUFFIXES and (path.is_file() or os.sep in text or "/" in text):
        return load_file(path)
    dirs = search_path() if dirs is None else dirs
    for candidate in _candidates(dirs):
        if candidate.stem == text:
            return load_file(candidate)
    names = sorted({p.stem for p in _candidates(dirs)})
    raise QueryError(f"no query named {text!r} (known: {', '.join(names) or 'none'}; searched "
                     f"{', '.join(str(d) for d in dirs) or 'no folders'})")


def list_queries(dirs: list[Path] | None = None) -> tuple[list[NamedQuery], list[str]]:
    """Every query of the search folders (first of each name) and the load errors."""
    dirs = search_path() if dirs is None else dirs
    found: dict[str, NamedQuery] = {}
    problems: list[str] = []
    for path in _candidates(dirs):
        if path.stem in found:
            continue
        try:
            found[path.stem] = load_file(path)
        except (QueryError, ConfigError) as exc:
            problems.append(str(exc))
    return sorted(found.values(), key=lambda q: q.name), problems


__all__ = ["NamedQuery", "Cut", "QueryError", "load_query", "load_file", "list_queries",
           "search_path", "validate"]
