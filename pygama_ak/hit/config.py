"""The hit-tier config (pygama's ``build_hit`` schema), checked and ordered by dependency.

```
{"outputs": [names],
 "operations": {name: {"expression": str, "parameters": {...}, "lgdo_attrs": {...},
                       "description": str}},
 "aggregations": {out: {"bit0": column, "bit1": column, ...}}}
```
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..configs import ConfigError, check_keys, load_config
from ..expr import Expression, ExpressionError

OPERATION_KEYS = ("expression", "parameters", "lgdo_attrs", "description")


@dataclass
class Operation:
    """One computed column."""

    name: str
    expression: Expression
    parameters: dict[str, Any] = field(default_factory=dict)
    attrs: dict[str, Any] = field(default_factory=dict)


@dataclass
class HitConfig:
    """A checked hit config; ``operations`` are in dependency order."""

    source: str
    outputs: list[str] | None
    operations: list[Operation]
    aggregations: dict[str, list[str]]

    def input_columns(self, available: list[str]) -> list[str]:
        """Input columns the config needs (nested columns addressed as ``a__b`` → ``a``)."""
        computed = {op.name for op in self.operations} | set(self.aggregations)
        needed: set[str] = set()
        for op in self.operations:
            needed |= {n for n in op.expression.names() if n not in op.parameters}
        for cols in self.aggregations.values():
            needed |= set(cols)
        if self.outputs is not None:
            needed |= set(self.outputs)
        else:
            needed |= set(available)
        needed -= computed
        out = []
        for name in sorted(needed):
            top = name if name in available else name.split("__", 1)[0]
            if top not in available:
                raise ConfigError(f"{self.source}: unknown column {name!r} (not computed by an "
                                  f"operation and not in the input table: {', '.join(available)})")
            if top not in out:
                out.append(top)
        return [c for c in available if c in out]


def _dependency_order(ops: dict[str, Operation], source: str) -> list[Operation]:
    """Topological order of the operations; a cycle is reported with its members."""
    order: list[Operation] = []
    state: dict[str, int] = {}  # 1 = visiting, 2 = done

    def visit(name: str, stack: list[str]) -> None:
        if state.get(name) == 2:
            return
        if state.get(name) == 1:
            cycle = stack[stack.index(name):] + [name]
            raise ConfigError(f"{source}: operations depend on each other in a cycle: "
                              f"{' -> '.join(cycle)}")
        state[name] = 1
        op = ops[name]
        for dep in sorted(op.expression.names()):
            if dep in ops and dep not in op.parameters:
                visit(dep, [*stack, name])
        state[name] = 2
        order.append(op)

    for name in ops:
        visit(name, [])
    return order


def parse_hit_config(source: str | os.PathLike | Mapping) -> HitConfig:
    """Load and check a hit config (dict or JSON/YAML file)."""
    data, name = load_config(source)
    check_keys(data, ("outputs", "operations", "aggregations"), name)
    outputs = data.get("outputs")
    if outputs is not None and not isinstance(outputs, list):
        raise ConfigError(f"{name}: 'outputs' must be a list of column names")
    ops: dict[str, Operation] = {}
    for op_name, entry in (data.get("operations") or {}).items():
        where = f"{name}: operation {op_name!r}"
        if not isinstance(entry, Mapping):
            raise ConfigError(f"{where}: must be a mapping with an 'expression'")
        check_keys(entry, OPERATION_KEYS, where, required=("expression",))
        params = dict(entry.get("parameters") or {})
        for key, value in params.items():
            if not isinstance(value, int | float | bool):
                raise ConfigError(f"{where}: parameter {key!r} must be a number, got {value!r}")
        try:
            expr = Expression(str(entry["expression"]))
        except ExpressionError as exc:
            raise ConfigError(f"{where}: {exc}") from None
        attrs = dict(entry.get("lgdo_attrs") or {})
        if "description" in entry:
            attrs["description"] = entry["description"]
        ops[op_name] = Operation(op_name, expr, params, attrs)
    aggregations: dict[str, list[str]] = {}
    for agg_name, bits in (data.get("aggregations") or {}).items():
        if not isinstance(bits, Mapping) or not bits:
            raise ConfigError(f"{name}: aggregation {agg_name!r} must map bit names to columns")
        if len(bits) > 64:
            raise ConfigError(f"{name}: aggregation {agg_name!r} has more than 64 flags")
        aggregations[agg_name] = [str(c) for c in bits.values()]
    return HitConfig(name, outputs, _dependency_order(ops, name), aggregations)
