"""The restricted expression language of configs (hit, evt, queries, dsp arguments). No ``eval``.

An expression is parsed with :mod:`ast` and every node is checked against a whitelist:

* numbers, ``True``/``False``, quoted strings; column names, dotted names (``hit.energy``,
  ``geds.energy``) and parameters
* ``+ - * / // % **``, unary ``-``/``+``, comparisons (chains too), ``& | ^ ~`` and
  ``and or not`` (element-wise, like ``& | ~``)
* the functions in :data:`FUNCTIONS` (``np.``/``numpy.`` prefixes accepted): ``abs sqrt exp
  log log10 log1p expm1 sin cos tan arcsin arccos arctan arctan2 sinh cosh tanh floor ceil
  round isnan isinf isfinite where min max clip fmod``

Anything else (attribute access on values, subscripts, lambdas, comprehensions, dunder names,
other calls) is refused with :class:`ExpressionError` pointing at the position in the string.
A parsed :class:`Expression` compiles to a Polars expression (:meth:`Expression.to_polars`) or
evaluates on numpy/Awkward arrays (:meth:`Expression.evaluate`).
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

FUNCTIONS: dict[str, int | tuple[int, int]] = {
    # name: number of arguments (or an inclusive range)
    "abs": 1, "sqrt": 1, "exp": 1, "log": 1, "log10": 1, "log1p": 1, "expm1": 1,
    "sin": 1, "cos": 1, "tan": 1, "arcsin": 1, "arccos": 1, "arctan": 1, "arctan2": 2,
    "sinh": 1, "cosh": 1, "tanh": 1, "floor": 1, "ceil": 1, "round": (1, 2),
    "isnan": 1, "isinf": 1, "isfinite": 1, "where": 3, "min": (2, 8), "max": (2, 8),
    "clip": 3, "fmod": 2,
}
_ALIASES = {"fabs": "abs", "absolute": "abs", "minimum": "min", "maximum": "max",
            "arcsinh": "arcsinh", "ln": "log"}
_MODULE_PREFIXES = ("np", "numpy")


class ExpressionError(ValueError):
    """An expression outside the grammar; the message shows where."""

    def __init__(self, text: str, offset: int | None, reason: str) -> None:
        self.text, self.offset, self.reason = text, offset, reason
        where = ""
        if offset is not None:
            where = f"\n    {text}\n    {' ' * offset}^"
        super().__init__(f"{reason} (at position {offset}){where}" if offset is not None
                         else f"{reason}: {text!r}")


# ----------------------------------------------------------------------------- syntax tree
@dataclass(frozen=True)
class Node:
    """One node: ``op`` is 'const', 'name', a binary/unary/comparison operator, or 'call'."""

    op: str
    args: tuple = ()
    value: Any = None
    offset: int = 0


_BINOPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//",
           ast.Mod: "%", ast.Pow: "**", ast.BitAnd: "&", ast.BitOr: "|", ast.BitXor: "^"}
_CMPOPS = {ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">="}


def _dotted(node: ast.AST) -> str | None:
    """``a.b.c`` as a string when it is a chain of plain names; None otherwise."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return ".".join(reversed(parts))


class _Builder:
    def __init__(self, text: str) -> None:
        self.text = text

    def fail(self, node: ast.AST | None, reason: str):
        offset = getattr(node, "col_offset", None) if node is not None else None
        raise ExpressionError(self.text, offset, reason)

    def build(self, node: ast.AST) -> Node:
        off = getattr(node, "col_offset", 0)
        if isinstance(node, ast.Constant):
            if isinstance(node.value, bool | int | float | str):
                return Node("const", value=node.value, offset=off)
            self.fail(node, f"constant {node.value!r} is not allowed")
        if isinstance(node, ast.Name | ast.Attribute):
            name = _dotted(node)
            if name is None:
                self.fail(node, "attribute access is only allowed on names (like hit.energy)")
            if any(p.startswith("__") for p in name.split(".")):
                self.fail(node, f"name {name!r} is not allowed (dunder)")
            if name in ("True", "False"):
                return Node("const", value=name == "True", offset=off)
            return Node("name", value=name, offset=off)
        if isinstance(node, ast.BinOp):
            op = _BINOPS.get(type(node.op))
            if op is None:
                self.fail(node, f"operator {type(node.op).__name__} is not allowed")
            return Node(op, (self.build(node.left), self.build(node.right)), offset=off)
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.USub):
                return Node("neg", (self.build(node.operand),), offset=off)
            if isinstance(node.op, ast.UAdd):
                return self.build(node.operand)
            if isinstance(node.op, ast.Invert | ast.Not):
                return Node("~", (self.build(node.operand),), offset=off)
        if isinstance(node, ast.BoolOp):
            op = "&" if isinstance(node.op, ast.And) else "|"
            out = self.build(node.values[0])
            for value in node.values[1:]:
                out = Node(op, (out, self.build(value)), offset=off)
            return out
        if isinstance(node, ast.Compare):
            left = self.build(node.left)
            out = None
            for op, right_node in zip(node.ops, node.comparators):
                sym = _CMPOPS.get(type(op))
                if sym is None:
                    self.fail(node, f"comparison {type(op).__name__} is not allowed")
                right = self.build(right_node)
                term = Node(sym, (left, right), offset=off)
                out = term if out is None else Node("&", (out, term), offset=off)
                left = right
            return out
        if isinstance(node, ast.Call):
            return self.call(node)
        self.fail(node, f"{type(node).__name__} is not allowed in expressions")

    def call(self, node: ast.Call) -> Node:
        name = _dotted(node.func)
        if name is None:
            self.fail(node, "only calls of named functions are allowed")
        parts = name.split(".")
        if len(parts) == 2 and parts[0] in _MODULE_PREFIXES:
            name = parts[1]
        elif len(parts) != 1:
            self.fail(node, f"function {name!r} is not allowed")
        name = _ALIASES.get(name, name)
        if name not in FUNCTIONS:
            self.fail(node, f"function {name!r} is not allowed; allowed: {', '.join(sorted(FUNCTIONS))}")
        if node.keywords:
            self.fail(node, f"keyword arguments are not allowed in {name}()")
        n = len(node.args)
        want = FUNCTIONS[name]
        lo, hi = (want, want) if isinstance(want, int) else want
        if not lo <= n <= hi:
            self.fail(node, f"{name}() takes {lo if lo == hi else f'{lo} to {hi}'} arguments, got {n}")
        return Node("call", tuple(self.build(a) for a in node.args), value=name,
                    offset=node.col_offset)


# ----------------------------------------------------------------------------- expressions
class Expression:
    """A parsed, checked expression."""

    def __init__(self, text: str) -> None:
        self.text = text
        stripped = text.strip()
        if not stripped:
            raise ExpressionError(text, 0, "empty expression")
        try:
            tree = ast.parse(stripped, mode="eval")
        except SyntaxError as exc:
            raise ExpressionError(text, (exc.offset or 1) - 1, f"syntax error: {exc.msg}") from None
        self.root = _Builder(stripped).build(tree.body)

    def __repr__(self) -> str:
        return f"Expression({self.text!r})"

    def names(self) -> set[str]:
        """Every (dotted) name the expression uses (columns and parameters)."""
        out: set[str] = set()

        def walk(node: Node) -> None:
            if node.op == "name":
                out.add(node.value)
            for a in node.args:
                walk(a)

        walk(self.root)
        return out

    # -- Polars
    def to_polars(self, resolve: Callable[[str], Any] | Mapping[str, Any] | None = None,
                  schema: Mapping[str, Any] | None = None):
        """A ``pl.Expr``. ``resolve(name)`` gives a column expression or a parameter value
        (default: ``pl.col(name)``); ``schema`` maps names to Polars dtypes.

        Comparisons and ``min``/``max`` follow IEEE/numpy semantics (a NaN operand compares
        False, ``min``/``max`` propagate NaN) rather than Polars' NaN-is-largest ordering. Names
        missing from ``schema`` are taken to be floats.
        """
        import polars as pl

        def may_nan(node: Node) -> bool:
            op = node.op
            if op == "const":
                return isinstance(node.value, float) and node.value != node.value
            if op == "name":
                if schema is not None and node.value in schema:
                    return schema[node.value].is_float()
                value = resolve(node.value) if callable(resolve) else None
                return isinstance(value, pl.Expr) or (isinstance(value, float) and value != value)
            if op in ("==", "!=", "<", "<=", ">", ">=", "&", "|", "^", "~") or op == "call" and \
                    node.value in ("isnan", "isinf", "isfinite"):
                return False
            if op == "call" and node.value in ("floor", "ceil", "round", "abs", "where", "clip",
                                               "min", "max"):
                return any(may_nan(a) for a in node.args)
            if op in ("+", "-", "*", "neg", "%"):
                return any(may_nan(a) for a in node.args)
            return True  # /, **, sqrt, log ... can make NaN from numbers

        def nan_of(node: Node, expr):
            return expr.is_nan() if may_nan(node) else None

        if resolve is None:
            def resolve(name):
                return pl.col(name)
        elif isinstance(resolve, Mapping):
            mapping = resolve

            def resolve(name):
                if name not in mapping:
                    raise ExpressionError(self.text, None, f"unknown name {name!r}")
                return mapping[name]

        def lit(value):
            return value if isinstance(value, pl.Expr) else pl.lit(value)

        def go(node: Node):
            op = node.op
            if op == "const":
                return pl.lit(node.value)
            if op == "name":
                return lit(resolve(node.value))
            args = [go(a) for a in node.args]
            if op == "call":
                out = _polars_call(node.value, args)
                if node.value in ("min", "max", "clip"):
                    nans = [n for n in (nan_of(a, e) for a, e in zip(node.args, args)) if n is not None]
                    if nans:
                        out = pl.when(pl.any_horizontal(*nans)).then(float("nan")).otherwise(out)
                return out
            if op == "neg":
                return -args[0]
            if op == "~":
                return ~args[0]
            out = _apply_binary(op, args[0], args[1])
            if op in ("==", "<", "<=", ">", ">=", "!="):
                nans = [n for n in (nan_of(a, e) for a, e in zip(node.args, args)) if n is not None]
                if nans:
                    any_nan = nans[0] if len(nans) == 1 else nans[0] | nans[1]
                    out = (out | any_nan) if op == "!=" else (out & ~any_nan)
            return out

        return go(self.root)

    # -- numpy / awkward
    def evaluate(self, env: Mapping[str, Any]):
        """Evaluate on numpy/Awkward values (``env`` maps names to arrays or numbers)."""
        import numpy as np

        def go(node: Node):
            op = node.op
            if op == "const":
                return node.value
            if op == "name":
                if node.value not in env:
                    raise ExpressionError(self.text, node.offset, f"unknown name {node.value!r}")
                return env[node.value]
            args = [go(a) for a in node.args]
            if op == "call":
                return _numpy_call(np, node.value, args)
            if op == "neg":
                return -args[0]
            if op == "~":
                return np.logical_not(args[0]) if _is_bool(args[0]) else ~args[0]
            if op in ("&", "|", "^"):
                fn = {"&": np.logical_and, "|": np.logical_or, "^": np.logical_xor}[op]
                if _is_bool(args[0]) or _is_bool(args[1]):
                    return fn(args[0], args[1])
            return _apply_binary(op, args[0], args[1])

        return go(self.root)


def _is_bool(value) -> bool:
    import numpy as np

    if isinstance(value, bool | np.bool_):
        return True
    dtype = getattr(value, "dtype", None)
    if dtype is not None:
        return dtype == np.bool_
    try:
        import awkward as ak

        if isinstance(value, ak.Array):
            return str(ak.type(value)).endswith("bool")
    except ImportError:  # pragma: no cover
        pass
    return False


def _apply_binary(op: str, a, b):
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if op == "/":
        return a / b
    if op == "//":
        return a // b
    if op == "%":
        return a % b
    if op == "**":
        return a**b
    if op == "&":
        return a & b
    if op == "|":
        return a | b
    if op == "^":
        return a ^ b
    if op == "==":
        return a == b
    if op == "!=":
        return a != b
    if op == "<":
        return a < b
    if op == "<=":
        return a <= b
    if op == ">":
        return a > b
    if op == ">=":
        return a >= b
    raise ValueError(f"unknown operator {op}")


def _polars_call(name: str, args: list):
    import polars as pl

    x = args[0]
    simple = {"abs": "abs", "sqrt": "sqrt", "exp": "exp", "log10": "log10", "log1p": "log1p",
              "sin": "sin", "cos": "cos", "tan": "tan", "arcsin": "arcsin", "arccos": "arccos",
              "arctan": "arctan", "sinh": "sinh", "cosh": "cosh", "tanh": "tanh",
              "floor": "floor", "ceil": "ceil", "isnan": "is_nan", "isinf": "is_infinite",
              "isfinite": "is_finite"}
    if name in simple:
        return getattr(x, simple[name])()
    if name == "log":
        return x.log()
    if name == "expm1":
        return x.exp() - 1
    if name == "round":
        decimals = args[1] if len(args) > 1 else 0
        return x.round(decimals if not isinstance(decimals, pl.Expr) else 0)
    if name == "arctan2":
        return pl.arctan2(x, args[1])
    if name == "where":
        return pl.when(x).then(args[1]).otherwise(args[2])
    if name == "min":
        return pl.min_horizontal(*args)
    if name == "max":
        return pl.max_horizontal(*args)
    if name == "clip":
        return pl.min_horizontal(pl.max_horizontal(x, args[1]), args[2])
    if name == "fmod":
        return x - (x / args[1]).cast(pl.Int64).cast(pl.Float64) * args[1]
    raise ValueError(f"no Polars translation for {name}()")


def _numpy_call(np, name: str, args: list):
    if name == "where":
        return np.where(*args)
    if name == "min":
        out = args[0]
        for a in args[1:]:
            out = np.minimum(out, a)
        return out
    if name == "max":
        out = args[0]
        for a in args[1:]:
            out = np.maximum(out, a)
        return out
    if name == "round":
        return np.round(args[0], *(int(a) for a in args[1:]))
    fn = {"abs": np.abs, "clip": np.clip}.get(name) or getattr(np, name)
    return fn(*args)


def parse(text: str) -> Expression:
    """Parse and check ``text``; raise :class:`ExpressionError` if it is outside the grammar."""
    return Expression(text)
