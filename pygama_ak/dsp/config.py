"""dspeed processing-chain configs: loading, node normalisation and ``db.`` substitution.

A config has ``outputs`` and ``processors`` (key: one or more output names, value: a node). A
node is a string (a processor call or an expression) or a mapping with ``function``, ``module``,
``args``, ``unit``, ``defaults``, ``kwargs`` (``signature``/``types``), ``init_args``,
``prereqs``, ``description`` and ``lh5_attrs``. Errors name the config, the processor and the key.
"""

from __future__ import annotations

import ast
import functools
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..configs import as_list, load_config
from .errors import ChainError

NODE_KEYS = {"function", "module", "args", "kwargs", "unit", "defaults", "init_args", "prereqs",
             "description", "lh5_attrs", "signature", "types", "coord_grid"}
TOP_KEYS = {"outputs", "processors", "inputs"}
# calls to these names without a module are expressions, not processors
BUILTIN_CALLS = {"len", "round", "floor", "ceil", "trunc", "astype", "where", "isnan", "isfinite"}
_DB_REF = re.compile(r"(?<![\w.])db\.[\w.]+")


@dataclass
class Node:
    """One processor of the config, normalised."""

    key: str  # the config key, e.g. "tp_min, tp_max, wf_min, wf_max"
    names: list[str]  # the output names of the key
    function: str  # processor name, or the expression text when ``module`` is None
    module: str | None
    args: list[Any]  # strings (expressions), numbers or None, outputs included
    units: list[str | None]  # one per name
    defaults: dict[str, Any] = field(default_factory=dict)
    signature: str | None = None
    types: list[str] | None = None
    init_args: list[Any] | None = None
    prereqs: list[str] = field(default_factory=list)
    description: str | None = None
    lh5_attrs: dict[str, Any] = field(default_factory=dict)

    @property
    def is_expression(self) -> bool:
        """True when ``function`` is an expression evaluated by the chain itself."""
        return self.module is None


@dataclass(frozen=True)
class FriendInput:
    """A friend table (config ``inputs``): joined row by row to the raw table.

    ``file`` and ``group`` may be whole ``db.a.b`` references, resolved per channel; the friend's
    columns are known to the chain as ``prefix + name + suffix``.
    """

    file: str
    group: str
    prefix: str = ""
    suffix: str = ""


@dataclass
class DspConfig:
    """A whole config: requested outputs, the nodes by output name and friend tables."""

    outputs: list[str]
    nodes: dict[str, Node]  # output name -> node (several names share a node)
    source: str  # file name or "<dict>", for messages
    friends: list[FriendInput] = field(default_factory=list)

    @functools.cached_property
    def fingerprint(self) -> str:
        """The config's content as text: equal configs share built chains, edited ones do not."""
        return repr((self.outputs, self.nodes, self.friends))


FRIEND_KEYS = {"file", "group", "prefix", "suffix"}


def _friends(value: Any, name: str) -> list[FriendInput]:
    entries = [value] if isinstance(value, Mapping) else as_list(value)
    friends = []
    for i, entry in enumerate(entries):
        where = f"{name}: inputs[{i}]"
        if not isinstance(entry, Mapping):
            raise ChainError(f"{where}: expected a mapping with 'file' and 'group'")
        bad = sorted(set(entry) - FRIEND_KEYS)
        if bad:
            raise ChainError(f"{where}: unknown key {bad[0]!r} (allowed: file, group, prefix, suffix)")
        missing = [k for k in ("file", "group") if k not in entry]
        if missing:
            raise ChainError(f"{where}: missing key {missing[0]!r}")
        friends.append(FriendInput(str(entry["file"]), str(entry["group"]),
                                   str(entry.get("prefix") or ""), str(entry.get("suffix") or "")))
    return friends


def resolve_friends(config: DspConfig, db: Mapping) -> list[FriendInput]:
    """The config's friend tables with ``db.`` references of ``file``/``group`` looked up."""
    out = []
    for i, friend in enumerate(config.friends):
        where = f"{config.source}: inputs[{i}]"
        file, group = (substitute_db(v, db, {}, where) if _DB_REF.fullmatch(v) else v
                       for v in (friend.file, friend.group))
        out.append(FriendInput(os.fspath(file), str(group), friend.prefix, friend.suffix))
    return out


def split_key(key: str) -> list[str]:
    """``"a, b c"`` → ``["a", "b", "c"]`` (dspeed splits keys on commas and spaces)."""
    return [n for n in re.split(r"[,\s]+", key) if n]


def _dotted(node: ast.expr) -> str | None:
    """``numpy.amax`` → "numpy.amax"; None for anything but names and attribute chains."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        head = _dotted(node.value)
        return None if head is None else f"{head}.{node.attr}"
    return None


def _call_parts(text: str) -> tuple[str, list[str]] | None:
    """``mod.func(a, b, k=c)`` → ("mod.func", ["a", "b", "k=c"]) when ``text`` is a processor call."""
    try:
        tree = ast.parse(text.strip(), mode="eval").body
    except SyntaxError:
        return None
    if not isinstance(tree, ast.Call):
        return None
    name = _dotted(tree.func)
    if name is None or (isinstance(tree.func, ast.Name) and name in BUILTIN_CALLS):
        return None
    src = text.strip()
    args = [ast.get_source_segment(src, a) for a in tree.args]
    args += [f"{k.arg}={ast.get_source_segment(src, k.value)}" for k in tree.keywords]
    return name, args


def _normalise(key: str, value: Any, where: str) -> Node:
    names = split_key(key)
    if not names:
        raise ChainError(f"{where}: empty processor key")
    if isinstance(value, str):
        value = {"function": value}
    if not isinstance(value, Mapping):
        raise ChainError(f"{where}: a processor must be a string or a mapping, not {type(value).__name__}")
    unknown = sorted(set(value) - NODE_KEYS)
    if unknown:
        raise ChainError(f"{where}: unknown key {unknown[0]!r} (allowed: {', '.join(sorted(NODE_KEYS))})")
    if "function" not in value:
        raise ChainError(f"{where}: missing key 'function'")
    function = str(value["function"]).strip()
    module = value.get("module")
    args = value.get("args")
    call = _call_parts(function)
    if call is not None and (module is not None or "." in call[0]):  # "mod.func(a, b, out)"
        if args is not None:
            raise ChainError(f"{where}: 'function' is a call {function!r} and 'args' is given too")
        function, args = call
    if _looks_dotted(function):  # "numpy.amax"
        if module is not None:
            raise ChainError(f"{where}: 'function' {function!r} has a module path and 'module' is given too")
        module, _, function = function.rpartition(".")
    if module is None:  # an expression evaluated by the chain
        if args is not None:
            raise ChainError(f"{where}: 'args' given for the expression {function!r}")
        args = [function]
    elif args is None:
        raise ChainError(f"{where}: processor {module}.{function} needs 'args'")
    kwargs = dict(value.get("kwargs") or {})
    bad = sorted(set(kwargs) - {"signature", "types", "coord_grid"})
    if bad:
        raise ChainError(f"{where}: unknown key 'kwargs.{bad[0]}' (allowed: signature, types, coord_grid)")
    units = as_list(value.get("unit"))
    if len(units) == 1 and len(names) > 1:
        units = units * len(names)
    units = [None if u is None else str(u) for u in units] + [None] * (len(names) - len(units))
    return Node(
        key=key, names=names, function=function, module=module, args=list(args), units=units[: len(names)],
        defaults=dict(value.get("defaults") or {}),
        signature=kwargs.get("signature", value.get("signature")),
        types=as_list(kwargs.get("types", value.get("types"))) or None,
        init_args=as_list(value.get("init_args")) or None,
        prereqs=as_list(value.get("prereqs")),
        description=value.get("description"),
        lh5_attrs=dict(value.get("lh5_attrs") or {}),
    )


def _looks_dotted(text: str) -> bool:
    return re.fullmatch(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)+", text) is not None


def parse_config(source: str | os.PathLike | Mapping | DspConfig) -> DspConfig:
    """Read and normalise a processing-chain config (path, or mapping; a DspConfig as it is)."""
    if isinstance(source, DspConfig):
        return source
    data, name = load_config(source)
    if "processors" not in data:
        if "outputs" in data:
            raise ChainError(f"{name}: missing key 'processors'")
        data = {"processors": data, "outputs": []}
    unknown = sorted(set(data) - TOP_KEYS)
    if unknown:
        raise ChainError(f"{name}: unknown key {unknown[0]!r} (allowed: {', '.join(sorted(TOP_KEYS))})")
    nodes: dict[str, Node] = {}
    for key, value in (data["processors"] or {}).items():
        node = _normalise(key, value, f"{name}: processor {key!r}")
        for n in node.names:
            nodes[n] = node
    outputs = [str(o) for o in as_list(data.get("outputs"))]
    return DspConfig(outputs=outputs, nodes=nodes, source=name,
                     friends=_friends(data.get("inputs") or [], name))


def channel_database(database: Mapping | str | os.PathLike | None, table: str) -> dict:
    """The database entry of ``table``'s channel (``ch1084803/raw`` → ``database["ch1084803"]``).

    Like dspeed: the channel is the first path component that is not ``raw``; only a table
    called ``raw`` (or ``""``) uses the database as a flat mapping.
    """
    if database is None:
        return {}
    if not isinstance(database, Mapping):
        database, _ = load_config(database)
    parts = [p for p in table.strip("/").split("/") if p and p != "raw"]
    if not parts:
        return dict(database)
    entry = database.get(parts[0], {})
    return dict(entry) if isinstance(entry, Mapping) else {}


def _lookup(db: Mapping, path: str) -> Any:
    value: Any = db
    for part in path.split(".")[1:]:
        if not isinstance(value, Mapping) or part not in value:
            raise KeyError(path)
        value = value[part]
    return value


def substitute_db(arg: Any, db: Mapping, defaults: Mapping, where: str) -> Any:
    """Replace ``db.a.b`` references in one argument with the channel's value or the default.

    An argument that is exactly one reference takes the value as it is (number, ``"10*us"``,
    list); otherwise the value's text is pasted into the expression.
    """
    if not isinstance(arg, str) or "db." not in arg:
        return arg

    def value_of(ref: str) -> Any:
        try:
            return _lookup(db, ref)
        except KeyError:
            if ref in defaults:
                return defaults[ref]
            raise ChainError(f"{where}: {ref} is not in the database and the processor has no default for it") from None

    refs = _DB_REF.findall(arg)
    if len(refs) == 1 and arg.strip() == refs[0]:
        return value_of(refs[0])
    return _DB_REF.sub(lambda m: str(value_of(m.group(0))), arg)
