"""Processor arguments: dspeed's expression grammar, parsed with an ``ast`` whitelist.

An argument is a number, a quoted character (``'l'``), a unit constant (``10*us``), a variable
(``wf_pz``), a slice (``wf_pz[1500:]``), an attribute (``wf_pz.period``, ``np.pi``), a built-in
call (``len round floor ceil trunc astype where isnan isfinite``), arithmetic, a comparison, a
conditional (``a if c else b``) or a declaration of an output (``wf_le(301, 'f')``,
``energies(vector_len=len(trigger_pos))``). Constant sub-expressions are folded with units;
anything else becomes a step of the chain. Nothing is evaluated with ``eval``.
"""

from __future__ import annotations

import ast
import math
import operator
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .config import Node
from .errors import ChainError
from .steps import round_to
from .units import Quantity, in_samples, is_unit
from .variables import Grid, Var

if TYPE_CHECKING:
    from .chain import ProcessingChain

KEYWORD = re.compile(r"^\s*([A-Za-z_]\w*)\s*=(?!=)(.*)$", re.S)  # name=value arguments
_BINOPS = {ast.Add: (operator.add, np.add, "+"), ast.Sub: (operator.sub, np.subtract, "-"),
           ast.Mult: (operator.mul, np.multiply, "*"), ast.Div: (operator.truediv, np.divide, "/"),
           ast.FloorDiv: (operator.floordiv, np.floor_divide, "//")}
_COMPARE = {ast.Eq: np.equal, ast.NotEq: np.not_equal, ast.Lt: np.less, ast.LtE: np.less_equal,
            ast.Gt: np.greater, ast.GtE: np.greater_equal}
_NUMPY_CONSTANTS = {"pi": math.pi, "e": math.e, "nan": math.nan, "inf": math.inf}
_ROUNDING = {"round": np.rint, "floor": np.floor, "ceil": np.ceil, "trunc": np.trunc}


@dataclass(frozen=True)
class Char:
    """A quoted string argument, e.g. a mode character ``'l'``."""

    text: str


@dataclass(frozen=True)
class KeywordArg:
    """``name=value`` passed as a keyword to the processor."""

    name: str
    value: Any


def _number(x: Any) -> bool:
    return isinstance(x, int | float | np.number) and not isinstance(x, bool)


class ArgumentParser:
    """Parses the arguments of one node into chain operands."""

    def __init__(self, chain: ProcessingChain, node: Node, where: str) -> None:
        self.chain = chain
        self.node = node
        self.where = where
        self.text = ""

    def fail(self, message: str, tree: ast.AST | None = None) -> ChainError:
        col = f" (at column {tree.col_offset + 1})" if tree is not None and hasattr(tree, "col_offset") else ""
        return ChainError(f"{self.where}: {message} in {self.text!r}{col}")

    def operand(self, text: str, declare: bool = False) -> Any:
        """The value of one argument string."""
        self.text = text
        match = KEYWORD.match(text)
        if match and declare:
            return KeywordArg(match.group(1), self.operand(match.group(2).strip()))
        try:
            tree = ast.parse(text.strip(), mode="eval").body
        except SyntaxError as exc:
            raise ChainError(f"{self.where}: cannot parse {text!r}: {exc.msg}") from None
        return self.visit(tree, declare)

    # -- the grammar -----------------------------------------------------------------------------
    def visit(self, tree: ast.AST, declare: bool = False) -> Any:
        if isinstance(tree, ast.Constant):
            if isinstance(tree.value, str):
                return Char(tree.value)
            if tree.value is None or _number(tree.value) or isinstance(tree.value, bool):
                return tree.value
            raise self.fail(f"constant {tree.value!r} is not allowed", tree)
        if isinstance(tree, ast.Name):
            return self.name(tree.id, declare, tree)
        if isinstance(tree, ast.Attribute):
            return self.attribute(tree)
        if isinstance(tree, ast.BinOp):
            return self.binop(tree)
        if isinstance(tree, ast.UnaryOp):
            value = self.visit(tree.operand)
            if isinstance(tree.op, ast.USub):
                if isinstance(value, Var):
                    return self.chain.add_elementwise(np.negative, [value], f"-{value.name}", self.where,
                                                      value.unit, value.is_coord, value.grid)
                return -value
            if isinstance(tree.op, ast.UAdd):
                return value
            raise self.fail("only unary + and - are allowed", tree)
        if isinstance(tree, ast.Compare):
            if len(tree.ops) != 1:
                raise self.fail("chained comparisons are not allowed", tree)
            left, right = self.visit(tree.left), self.visit(tree.comparators[0])
            return self.arith(_COMPARE[type(tree.ops[0])], left, right, "cmp", tree)
        if isinstance(tree, ast.IfExp):
            return self.where_call([self.visit(tree.test), self.visit(tree.body), self.visit(tree.orelse)], tree)
        if isinstance(tree, ast.Subscript):
            return self.subscript(tree)
        if isinstance(tree, ast.Call):
            return self.call(tree, declare)
        if isinstance(tree, ast.List | ast.Tuple):
            values = [self.visit(e) for e in tree.elts]
            if not all(_number(v) for v in values):
                raise self.fail("list elements must be numbers", tree)
            return np.asarray(values)
        raise self.fail(f"{type(tree).__name__} is not allowed", tree)

    def name(self, name: str, declare: bool, tree: ast.AST) -> Any:
        if name in self.chain.vars:
            return self.chain.vars[name]
        if name in self.node.names and declare:
            var = Var(name, kind="declared")
            i = self.node.names.index(name)
            var.unit = self.node.units[i]
            return self.chain.add_var(var)
        if is_unit(name):
            return Quantity.of(1.0, name)
        if name in self.node.names:
            raise self.fail(f"{name!r} is used before the processor computes it", tree)
        if name in ("np", "numpy"):
            raise self.fail("use numpy constants as np.pi, np.e, np.nan or np.inf", tree)
        try:
            return self.chain.ensure(name)
        except ChainError as exc:
            raise self.fail(str(exc).split(": ", 1)[-1], tree) from None

    def attribute(self, tree: ast.Attribute) -> Any:
        if isinstance(tree.value, ast.Name) and tree.value.id in ("np", "numpy"):
            if tree.attr in _NUMPY_CONSTANTS:
                return _NUMPY_CONSTANTS[tree.attr]
            raise self.fail(f"numpy.{tree.attr} is not a constant", tree)
        base = self.visit(tree.value)
        if not isinstance(base, Var):
            raise self.fail(f"attribute {tree.attr!r} of a constant", tree)
        grid = base.grid
        if tree.attr in ("period", "offset", "grid") and grid is None:
            raise self.fail(f"{base.name} has no time grid (no period/offset)", tree)
        if tree.attr == "period":
            return Quantity.of(grid.period, grid.unit)
        if tree.attr == "grid":
            return grid
        if tree.attr == "offset":
            if grid.offset_var:
                raise self.fail(f"{base.name} has a per-row offset", tree)
            return Quantity.of(grid.offset, grid.unit)
        if tree.attr == "unit":
            return Char(base.unit or "")
        raise self.fail(f"unknown attribute {tree.attr!r} (allowed: period, offset, grid, unit)", tree)

    # -- arithmetic ------------------------------------------------------------------------------
    def binop(self, tree: ast.BinOp) -> Any:
        if type(tree.op) not in _BINOPS:
            raise self.fail(f"operator {type(tree.op).__name__} is not allowed", tree)
        left, right = self.visit(tree.left), self.visit(tree.right)
        return self.arith(_BINOPS[type(tree.op)], left, right, _BINOPS[type(tree.op)][2], tree)

    def arith(self, ops: Any, left: Any, right: Any, symbol: str, tree: ast.AST) -> Any:
        if not isinstance(left, Var) and not isinstance(right, Var):
            py_op = ops[0] if isinstance(ops, tuple) else None
            if py_op is None:
                return bool(ops(_plain(left), _plain(right)))
            try:
                return py_op(left, right)
            except (ValueError, TypeError) as exc:
                raise self.fail(str(exc), tree) from None
        ufunc = ops[1] if isinstance(ops, tuple) else ops
        coord_var = next((v for v in (left, right) if isinstance(v, Var) and v.is_coord), None)
        grid = coord_var.grid if coord_var is not None else None
        operands = []
        for value in (left, right):
            if isinstance(value, Quantity):
                if value.dimension == 0:
                    value = value.magnitude * value.factor
                elif grid is None:
                    raise self.fail(f"{value.magnitude:g} {value.label()} meets a value without a time grid", tree)
                else:
                    value = in_samples(value, grid.period, grid.unit)
            operands.append(value)
        unit = _result_unit(left, right, symbol)
        both = all(isinstance(v, Var) and v.is_coord for v in (left, right))
        is_coord = coord_var is not None and not both and symbol in "+-*/"
        if symbol == "cmp":
            unit, is_coord = None, False
        text = ast.unparse(tree)
        if not is_coord:  # arrays keep the grid of their array operand
            grid = next((v.grid for v in (left, right) if isinstance(v, Var) and v.shape and v.grid), None)
        return self.chain.add_elementwise(ufunc, operands, text, self.where, unit, is_coord, grid)

    def where_call(self, values: list[Any], tree: ast.AST) -> Any:
        cond, a, b = values
        if not any(isinstance(v, Var) for v in values):
            return a if cond else b
        ref = next((v for v in (a, b) if isinstance(v, Var)), None)
        return self._where(cond, a, b, tree, ref.unit if ref else None)

    def _where(self, cond: Any, a: Any, b: Any, tree: ast.AST, unit: str | None) -> Var:
        shapes = [v.shape for v in (cond, a, b) if isinstance(v, Var)]
        dtype = np.result_type(*[v.dtype if isinstance(v, Var) else _plain(v) for v in (a, b)])
        out = Var(self.chain.temp_name(ast.unparse(tree)), dtype=dtype, shape=max(shapes, key=len), unit=unit)
        args = [self.chain._input_arg(v, None if isinstance(v, Var) else dtype.char, None, self.where)
                for v in (cond, a, b)]

        def select(c: Any, x: Any, y: Any, o: np.ndarray) -> None:
            o[...] = np.where(_align(c, o), _align(x, o), _align(y, o))

        return self.chain.add_python_step(f"where({ast.unparse(tree)})", select, args, out)

    # -- subscripts and calls --------------------------------------------------------------------
    def subscript(self, tree: ast.Subscript) -> Any:
        base = self.visit(tree.value)
        if not isinstance(base, Var) or not base.shape:
            raise self.fail("only array variables can be indexed", tree)
        n = base.shape[-1]
        if isinstance(tree.slice, ast.Slice):
            bounds = []
            for part in (tree.slice.lower, tree.slice.upper, tree.slice.step):
                value = None if part is None else self.visit(part)
                if isinstance(value, Var):
                    raise self.fail("slice bounds must be constants", tree)
                if isinstance(value, Quantity):
                    if base.grid is None:
                        raise self.fail(f"{base.name} has no time grid for a slice in time units", tree)
                    value = in_samples(value, base.grid.period, base.grid.unit)
                bounds.append(None if value is None else int(np.rint(value)))
            start, stop, step = slice(*bounds).indices(n)
            length = len(range(start, stop, step))
            grid = base.grid.shifted(start, step) if base.grid else None
            name = f"{base.name}[{ast.unparse(tree.slice)}]"
            var = Var(name, kind="view", dtype=base.dtype, shape=(*base.shape[:-1], length), grid=grid,
                      unit=base.unit, parent=base, index=(Ellipsis, slice(start, stop, step)))
            return self.chain.add_var(var)
        index = self.visit(tree.slice)
        if isinstance(index, Var):
            return self._get_default(base, index, tree)
        if not _number(index):
            raise self.fail("an index must be an integer or a variable", tree)
        i = int(index)
        if not -n <= i < n:
            raise self.fail(f"index {i} is out of range for {base.name} of length {n}", tree)
        var = Var(f"{base.name}[{i}]", kind="view", dtype=base.dtype, shape=base.shape[:-1],
                  unit=base.unit, parent=base, index=(Ellipsis, i % n))
        return self.chain.add_var(var)

    def _get_default(self, base: Var, index: Var, tree: ast.AST) -> Var:
        from .processors import lookup

        try:
            func = lookup("get_default")
        except (KeyError, ImportError, AttributeError):
            raise self.fail("indexing with a variable needs the get_default processor", tree) from None
        out = Var(self.chain.temp_name(ast.unparse(tree)), kind="declared", unit=base.unit)
        self.chain.add_var(out)
        fake = Node(key=out.name, names=[out.name], function="get_default", module="pygama_ak.dsp.processors",
                    args=[], units=[base.unit])
        self.chain.add_call(func, [base, index, out], {}, fake, self.where)
        return out

    def call(self, tree: ast.Call, declare: bool) -> Any:
        if not isinstance(tree.func, ast.Name):
            raise self.fail("only built-in functions and declarations can be called here", tree)
        fname = tree.func.id
        kwargs = {k.arg: k.value for k in tree.keywords}
        if fname in self.node.names and declare:
            return self.declaration(fname, tree.args, kwargs, tree)
        args = [self.visit(a) for a in tree.args]
        if fname == "len":
            (x,) = args
            if not isinstance(x, Var):
                raise self.fail("len() of a constant", tree)
            if x.vector_len:
                return self.chain.vars[x.vector_len]
            if not x.shape:
                raise self.fail(f"len() of the scalar {x.name}", tree)
            return x.shape[-1]
        if fname in _ROUNDING:
            return self.rounding(fname, args, tree)
        if fname == "astype":
            x, dtype = args
            if not isinstance(x, Var):
                return np.dtype(dtype.text).type(x)
            out = Var(self.chain.temp_name(ast.unparse(tree)), dtype=np.dtype(dtype.text), shape=x.shape,
                      unit=x.unit, grid=x.grid, is_coord=x.is_coord)

            def cast(a: np.ndarray, o: np.ndarray) -> None:
                o[...] = a

            return self.chain.add_python_step(f"astype({x.name})", cast, [("var", x.name)], out)
        if fname == "where":
            return self.where_call(args[:3], tree)
        if fname in ("isnan", "isfinite"):
            (x,) = args
            ufunc = np.isnan if fname == "isnan" else np.isfinite
            if not isinstance(x, Var):
                return bool(ufunc(x))
            return self.chain.add_elementwise(ufunc, [x], ast.unparse(tree), self.where, None, False, None)
        raise self.fail(f"unknown function {fname!r} (allowed: len, round, floor, ceil, trunc, astype, where, isnan, isfinite)", tree)

    def rounding(self, mode: str, args: list[Any], tree: ast.AST) -> Any:
        x = args[0]
        to = args[1] if len(args) > 1 else 1
        if not isinstance(x, Var):
            if isinstance(x, Quantity):
                if not isinstance(to, Quantity):
                    raise self.fail("rounding a time needs a time to round to", tree)
                return Quantity(float(_ROUNDING[mode](x.magnitude / to.to(x)) * to.to(x)), x.units)
            value = _ROUNDING[mode](x / to) * to
            return int(value) if float(value).is_integer() else float(value)
        grid = x.grid
        if isinstance(to, Grid):
            if x.is_coord and grid is not None and grid != to:
                x = self.chain.convert_grid(x, to)
            grid, to = to, 1.0
        elif isinstance(to, Quantity):
            if grid is None:
                raise self.fail(f"{x.name} has no time grid to round to {to.magnitude:g} {to.label()}", tree)
            to = in_samples(to, grid.period, grid.unit)
        out = Var(self.chain.temp_name(ast.unparse(tree)), dtype=x.dtype, shape=x.shape, unit=x.unit,
                  grid=grid, is_coord=x.is_coord)
        return self.chain.add_python_step(f"{mode}({x.name}, {to})", round_to(mode), [("var", x.name), ("const", float(to))], out)

    def declaration(self, name: str, args: list[ast.expr], kwargs: dict[str, ast.expr], tree: ast.AST) -> Var:
        """``name(shape, dtype, grid=, unit=, period=, offset=, is_coord=, vector_len=)``."""
        var = self.name(name, True, tree)
        if not isinstance(var, Var) or var.kind != "declared":
            raise self.fail(f"{name} is already defined", tree)
        allowed = ("shape", "dtype", "grid", "unit", "is_coord", "period", "offset", "vector_len")
        bad = sorted(set(kwargs) - set(allowed))
        if bad:
            raise self.fail(f"unknown declaration keyword {bad[0]!r} (allowed: {', '.join(allowed)})", tree)
        values = dict(zip(("shape", "dtype"), args))
        values.update(kwargs)
        if "shape" in values:
            shape = self.visit(values["shape"])
            if isinstance(shape, np.ndarray):
                var.shape = tuple(int(s) for s in shape)
            elif _number(shape):
                var.shape = (int(shape),)
            else:
                raise self.fail("a declared shape must be a constant", tree)
        if "dtype" in values:
            dtype = self.visit(values["dtype"])
            var.dtype = np.dtype(dtype.text if isinstance(dtype, Char) else dtype)
        if "unit" in values:
            unit = values["unit"]
            var.unit = unit.id if isinstance(unit, ast.Name) else str(self.visit(unit).text)
        if "grid" in values:
            grid = self.visit(values["grid"])
            if not isinstance(grid, Grid):
                raise self.fail("grid= needs a grid, e.g. wf.grid", tree)
            var.grid = grid
        if "period" in values:
            period = self.visit(values["period"])
            offset = self.visit(values["offset"]) if "offset" in values else Quantity(0.0, period.units)
            var.grid = Grid(period.magnitude, period.label(), None, offset.to(period))
        if "vector_len" in values:
            length = values["vector_len"]
            if isinstance(length, ast.Name):
                lvar = self.name(length.id, True, tree)
            else:
                lvar = self.visit(length)
            if not isinstance(lvar, Var):
                raise self.fail("vector_len= needs a variable", tree)
            var.vector_len = lvar.name
        if "is_coord" in values:
            var.is_coord = bool(self.visit(values["is_coord"]))
        return var


def _plain(x: Any) -> Any:
    if isinstance(x, Quantity):
        raise ValueError("a time in a comparison")
    return x


def _align(a: Any, out: np.ndarray) -> Any:
    if isinstance(a, np.ndarray) and 0 < a.ndim < out.ndim:
        return a.reshape(a.shape + (1,) * (out.ndim - a.ndim))
    return a


def _result_unit(left: Any, right: Any, symbol: str) -> str | None:
    lu = left.unit if isinstance(left, Var) else None
    ru = right.unit if isinstance(right, Var) else None
    if symbol in "+-":
        return lu or ru
    if lu and ru:
        return f"{lu}{symbol}{ru}"
    return lu or ru
