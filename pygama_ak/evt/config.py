"""The event-tier config (pygama's ``build_evt`` schema), checked.

```
channels:   {group: "ch1084803" | [names...]}
outputs:    [fields]                         (default: every operation)
operations: {field: {channels, exclude_channels, aggregation_mode, expression, query,
                     parameters, initial, sort, dtype, lgdo_attrs, description}}
```

``aggregation_mode``: absent (an event-level expression), ``sum``, ``any``, ``all``,
``first_at:<tier.field>``, ``last_at:<tier.field>``, ``gather``, ``keep_at_ch:evt.<field>``,
``keep_at_idx:evt.<field>``. A field name with ``___`` becomes a nested column
(``geds___energy`` → ``geds/energy``).
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..configs import ConfigError, as_list, check_keys, load_config
from ..expr import Expression, ExpressionError

OPERATION_KEYS = ("channels", "exclude_channels", "aggregation_mode", "expression", "query",
                  "parameters", "initial", "sort", "dtype", "lgdo_attrs", "description")
SIMPLE_MODES = ("sum", "any", "all", "gather")
PREFIX_MODES = ("first_at", "last_at", "keep_at_ch", "keep_at_idx")
_INITIAL_WORDS = {"np.nan": math.nan, "nan": math.nan, "np.inf": math.inf, "-np.inf": -math.inf,
                  "inf": math.inf, "-inf": -math.inf}


@dataclass
class EvtOperation:
    """One event-level field."""

    name: str
    mode: str | None  # None = event-level expression
    mode_arg: str | None  # the sorter (first_at/last_at) or evt field (keep_at_*)
    expression: Expression
    channels: list[str] = field(default_factory=list)
    query: Expression | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    initial: Any = None
    sort: tuple[str, str] | None = None  # ("ascend"|"descend", "tier.field")
    dtype: str | None = None
    attrs: dict[str, Any] = field(default_factory=dict)


@dataclass
class EvtConfig:
    source: str
    channels: dict[str, list[str]]
    outputs: list[str]
    operations: list[EvtOperation]


def _expression(text: Any, where: str) -> Expression:
    try:
        return Expression(str(text))
    except ExpressionError as exc:
        raise ConfigError(f"{where}: {exc}") from None


def _initial(value: Any, where: str) -> Any:
    if isinstance(value, str):
        if value.strip() in _INITIAL_WORDS:
            return _INITIAL_WORDS[value.strip()]
        raise ConfigError(f"{where}: initial {value!r} is not a number, bool, 'np.nan' or 'np.inf'")
    if value is not None and not isinstance(value, bool | int | float):
        raise ConfigError(f"{where}: initial {value!r} is not a number or bool")
    return value


def parse_evt_config(source: str | os.PathLike | Mapping) -> EvtConfig:
    """Load and check an evt config (dict, JSON or YAML file)."""
    data, name = load_config(source)
    check_keys(data, ("channels", "outputs", "operations", "channel_mapping"), name,
               required=("operations",))
    groups: dict[str, list[str]] = {}
    for group, members in (data.get("channels") or {}).items():
        if isinstance(members, Mapping):
            raise ConfigError(f"{name}: channel group {group!r}: module-based channel lists are "
                              "not supported; list the channels")
        groups[group] = [str(m) for m in as_list(members)]
    ops: list[EvtOperation] = []
    for op_name, entry in data["operations"].items():
        where = f"{name}: operation {op_name!r}"
        if not isinstance(entry, Mapping):
            raise ConfigError(f"{where}: must be a mapping")
        check_keys(entry, OPERATION_KEYS, where, required=("expression",))
        mode_text = entry.get("aggregation_mode")
        mode, arg = None, None
        if mode_text is not None:
            mode_text = str(mode_text).strip()
            if mode_text in SIMPLE_MODES:
                mode = mode_text
            elif ":" in mode_text and mode_text.split(":", 1)[0] in PREFIX_MODES:
                mode, arg = (s.strip() for s in mode_text.split(":", 1))
                if mode.startswith("keep_at") and not arg.startswith("evt."):
                    raise ConfigError(f"{where}: {mode} needs an evt field (keep_at_ch:evt.x)")
                if mode in ("first_at", "last_at") and "." not in arg:
                    raise ConfigError(f"{where}: {mode} needs a tier field (first_at:dsp.tp_0_est)")
            elif mode_text == "function":
                raise ConfigError(f"{where}: aggregation_mode 'function' (Python modules) is not "
                                  "supported: it would run arbitrary code")
            else:
                raise ConfigError(f"{where}: unknown aggregation_mode {mode_text!r}")
        channels: list[str] = []
        for group in as_list(entry.get("channels")):
            if group not in groups:
                raise ConfigError(f"{where}: unknown channel group {group!r} "
                                  f"(groups: {', '.join(groups) or 'none'})")
            channels += [c for c in groups[group] if c not in channels]
        excluded = set()
        for group in as_list(entry.get("exclude_channels")):
            if group not in groups:
                raise ConfigError(f"{where}: unknown channel group {group!r} in exclude_channels")
            excluded |= set(groups[group])
        channels = [c for c in channels if c not in excluded]
        params = dict(entry.get("parameters") or {})
        sort = None
        if "sort" in entry:
            kind, _, key = str(entry["sort"]).partition(":")
            if kind not in ("ascend_by", "descend_by") or "." not in key:
                raise ConfigError(f"{where}: sort must be 'ascend_by:<tier.field>' or 'descend_by:...'")
            if mode != "gather":
                raise ConfigError(f"{where}: sort only applies to aggregation_mode gather")
            sort = (kind.removesuffix("_by"), key.strip())
        attrs = dict(entry.get("lgdo_attrs") or {})
        if "description" in entry:
            attrs["description"] = entry["description"]
        ops.append(EvtOperation(
            name=op_name, mode=mode, mode_arg=arg,
            expression=_expression(entry["expression"], f"{where}: expression"),
            channels=channels,
            query=_expression(entry["query"], f"{where}: query") if "query" in entry else None,
            parameters=params, initial=_initial(entry.get("initial"), where), sort=sort,
            dtype=entry.get("dtype"), attrs=attrs,
        ))
    names = [op.name for op in ops]
    outputs = data.get("outputs")
    if outputs is None:
        outputs = names
    elif not isinstance(outputs, list):
        raise ConfigError(f"{name}: 'outputs' must be a list")
    missing = [o for o in outputs if o not in names]
    if missing:
        raise ConfigError(f"{name}: output {missing[0]!r} is not an operation")
    return EvtConfig(name, groups, list(outputs), ops)
