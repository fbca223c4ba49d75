"""The processing chain: a dspeed config compiled into steps over blocks of rows.

Building walks from the requested outputs through the processors they need (lazily, like
dspeed), parses every argument with :mod:`pygama_ak.dsp.arguments`, picks each processor's type
signature (the first one every known argument can be cast to safely), allocates outputs with
their shape, grid and unit, converts time constants to samples of the processor's grid and adds
coordinate conversions between grids. Running feeds blocks of input rows through the steps.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from .arguments import ArgumentParser, Char, KeywordArg
from .config import DspConfig, Node, substitute_db
from .errors import ChainError, DSPFatal
from .factory import build_factory
from .steps import Step, convert_coordinate, elementwise
from .units import Quantity, in_samples
from .variables import Grid, Var, is_time_unit

DEFAULT_BLOCK_ROWS = 64
_NUMERIC_CHARS = set("?bBhHiIlLqQefdg")
_DIMS = re.compile(r"\(([^)]*)\)")


def parse_layout(layout: str) -> tuple[list[tuple[str, ...]], int]:
    """``"(n),()->(n)"`` → ([("n",), (), ("n",)], number of inputs)."""
    ins, _, outs = layout.replace(" ", "").partition("->")
    in_dims = [tuple(d for d in m.split(",") if d) for m in _DIMS.findall(ins)]
    out_dims = [tuple(d for d in m.split(",") if d) for m in _DIMS.findall(outs)]
    return in_dims + out_dims, len(in_dims)


def _type_chars(types: str) -> str:
    return types.replace("->", "")


class InputColumn:
    """What the chain needs to know of a raw column: dtype, per-row shape, unit, grid."""

    def __init__(self, dtype: Any, shape: tuple[int, ...] = (), unit: str | None = None,
                 grid: Grid | None = None) -> None:
        self.dtype = np.dtype(dtype)
        self.shape = tuple(shape)
        self.unit = unit
        self.grid = grid


class ProcessingChain:
    """Steps computing ``outputs`` from input columns, for one table layout and database."""

    def __init__(self, config: DspConfig, inputs: Mapping[str, InputColumn],
                 database: Mapping | None = None, outputs: list[str] | None = None) -> None:
        self.config = config
        self.inputs = dict(inputs)
        self.database = dict(database or {})
        self.vars: dict[str, Var] = {}
        self.steps: list[Step] = []
        self.views: list[Var] = []
        self.skipped: list[str] = []
        self._building: list[str] = []
        self._n_temp = 0
        self._calls: dict[tuple, list[str]] = {}
        self.outputs: list[str] = []
        for name in outputs if outputs is not None else config.outputs:
            if self.ensure(name, optional=True) is None:
                self.skipped.append(name)
            else:
                self.outputs.append(name)

    # -- variables -------------------------------------------------------------------------------
    def where(self, node: Node | None) -> str:
        return f"{self.config.source}: processor {node.key!r}" if node else self.config.source

    def temp_name(self, text: str) -> str:
        self._n_temp += 1
        return f"({text})#{self._n_temp}"

    def add_var(self, var: Var) -> Var:
        self.vars[var.name] = var
        return var

    def ensure(self, name: str, optional: bool = False) -> Var | None:
        """The variable ``name``, building the processor that makes it if needed."""
        if name in self.vars:
            return self.vars[name]
        node = self.config.nodes.get(name)
        if node is not None:
            if name in self._building:
                cycle = " -> ".join([*self._building[self._building.index(name):], name])
                raise ChainError(f"{self.where(node)}: circular reference {cycle}")
            self._building.append(name)
            try:
                self.build_node(node)
            finally:
                self._building.remove(name)
            return self.vars[name]
        column = self.inputs.get(name)
        if column is not None:
            return self._input_var(name, column)
        if optional:
            return None
        raise ChainError(f"{self.config.source}: {name!r} is neither an input column nor produced by a processor")

    def _input_var(self, name: str, column: InputColumn) -> Var:
        var = Var(name, kind="input", dtype=column.dtype, shape=column.shape, grid=column.grid,
                  unit=column.unit, is_coord=is_time_unit(column.unit) and column.shape == ())
        if column.grid is not None and column.grid.offset_var:
            self.ensure(column.grid.offset_var)
        return self.add_var(var)

    # -- nodes -----------------------------------------------------------------------------------
    def build_node(self, node: Node) -> None:
        where = self.where(node)
        for pre in node.prereqs:
            self.ensure(pre)
        parser = ArgumentParser(self, node, where)
        if node.is_expression:
            text = substitute_db(node.args[0], self.database, node.defaults, where)
            result = parser.operand(text)
            if not isinstance(result, Var):
                result = self.constant_var(result, node.names[0])
            for name in node.names:
                self.vars[name] = result
            return
        func = self.resolve_function(node, where)
        if node.init_args is not None:
            func = build_factory(func, self, node, where)
        args: list[Any] = []
        kwargs: dict[str, Any] = {}
        for raw in node.args:
            value = substitute_db(raw, self.database, node.defaults, where)
            parsed = parser.operand(value, declare=True) if isinstance(value, str) else value
            if isinstance(parsed, KeywordArg):
                kwargs[parsed.name] = parsed.value
            else:
                args.append(parsed)
        self.add_call(func, args, kwargs, node, where)

    def resolve_function(self, node: Node, where: str) -> Any:
        module = node.module or ""
        if module.startswith(("dspeed.processors", "pygama_ak.dsp.processors")):
            from .processors import lookup

            try:
                return lookup(node.function)
            except KeyError as exc:
                raise ChainError(f"{where}: {exc.args[0]}") from None
        if module in ("numpy", "np"):
            func = getattr(np, node.function, None)
            if func is None:
                raise ChainError(f"{where}: numpy has no function {node.function!r}")
            return func
        raise ChainError(f"{where}: module {module!r} is not supported (use dspeed.processors or numpy)")

    def constant_var(self, value: Any, name: str) -> Var:
        if isinstance(value, Quantity):
            return self.add_var(Var(name, kind="const", value=np.float64(value.magnitude),
                                    dtype=np.dtype("f8"), shape=(), unit=value.label()))
        arr = np.asarray(value)
        return self.add_var(Var(name, kind="const", value=arr, dtype=arr.dtype, shape=arr.shape))

    # -- processor calls -------------------------------------------------------------------------
    def signature_of(self, func: Any, node: Node | None, where: str) -> tuple[str, list[str]]:
        sig = node.signature if node else None
        types = node.types if node else None
        if sig is None:
            sig = getattr(func, "signature", None)
            if sig is None and isinstance(func, np.ufunc):
                sig = ",".join(["()"] * func.nin) + "->" + ",".join(["()"] * func.nout)
        if types is None:
            types = getattr(func, "types", None)
        if sig is None or types is None:
            raise ChainError(f"{where}: {getattr(func, '__name__', func)} needs 'signature' and 'types' in kwargs")
        return sig, list(types)

    def processor_grid(self, args: list[Any], dims: list[tuple[str, ...]]) -> tuple[Grid | None, tuple[str, ...]]:
        """The grid of the first gridded array argument, else of the first time-point argument."""
        for a, d in zip(args, dims):
            if isinstance(a, Var) and a.grid is not None and d and not a.is_coord:
                return a.grid, d
        for a in args:
            if isinstance(a, Var) and a.is_coord and a.grid is not None:
                return a.grid, ()
        return None, ()

    def add_call(self, func: Any, args: list[Any], kwargs: dict[str, Any], node: Node | None,
                 where: str) -> None:
        """Type-select, allocate outputs, convert constants and append the step for one call."""
        sig, types = self.signature_of(func, node, where)
        dims, n_in = parse_layout(sig)
        if len(dims) != len(args):
            raise ChainError(f"{where}: {len(args)} arguments given, the signature {sig} needs {len(dims)}")
        out_names = set(node.names) if node else set()
        outputs = [isinstance(a, Var) and a.name in out_names and a.kind == "declared" for a in args]
        known = [(a, d) for a, d, o in zip(args, dims, outputs) if not o]
        grid, grid_dims = self.processor_grid([a for a, _ in known], [d for _, d in known])
        chars = self._select_types(args, outputs, types, where, sig)
        # dimension sizes from the known arguments
        sizes: dict[str, int] = {}
        for a, d, o in zip(args, dims, outputs):
            shape = self._shape_of(a) if not o else (a.shape if a.shape is not None else None)
            if shape is None:
                continue
            if len(shape) < len(d):
                raise ChainError(f"{where}: argument {self._text(a)} has {len(shape)} dimensions, the signature {sig} needs {len(d)}")
            for name, n in zip(d, shape[len(shape) - len(d):]):
                if sizes.setdefault(name, n) != n:
                    raise ChainError(f"{where}: dimension {name!r} is {sizes[name]} for one argument and {n} for {self._text(a)}")
        inputs = {i: self._input_arg(a, c, grid, where)
                  for i, (a, o, c) in enumerate(zip(args, outputs, chars)) if not o}
        step_kwargs = {k: self._input_arg(v, None, grid, where) for k, v in kwargs.items()}
        if self._reuse(func, inputs, step_kwargs, args, outputs):
            return
        step_args: list[tuple[str, Any]] = []
        for i, (a, d, o, c) in enumerate(zip(args, dims, outputs, chars)):
            if o:
                var = self._finish_output(a, d, c, sizes, grid, grid_dims, node, where)
                step_args.append(("var", var.name))
            else:
                step_args.append(inputs[i])
        label = f"{getattr(func, '__name__', str(func))}({', '.join(self._text(a) for a in args)})"
        loop = func.specialize(chars) if hasattr(func, "specialize") else func  # only this type's loop
        step = Step(label, loop, step_args, step_kwargs)
        self._calls[self._call_key(func, inputs, step_kwargs)] = [a.name for a, o in zip(args, outputs) if o]
        if all(kind == "const" or self.vars[v].is_const or o
               for (kind, v), o in zip(step_args, outputs)) and not kwargs:
            self._fold(step, outputs)
        else:
            self.steps.append(step)

    @staticmethod
    def _call_key(func: Any, inputs: dict[int, tuple[str, Any]], kwargs: dict[str, tuple[str, Any]]) -> tuple:
        def describe(arg: tuple[str, Any]) -> tuple:
            kind, value = arg
            if kind == "var":
                return (kind, value)
            arr = np.asarray(value) if value is not None else None
            return (kind, None if arr is None else (arr.dtype.str, arr.shape, arr.tobytes()))

        return (id(func), tuple((i, describe(a)) for i, a in sorted(inputs.items())),
                tuple((k, describe(a)) for k, a in sorted(kwargs.items())))

    def _reuse(self, func: Any, inputs: dict[int, tuple[str, Any]], kwargs: dict[str, tuple[str, Any]],
               args: list[Any], outputs: list[bool]) -> bool:
        """A call identical to an earlier one (same kernel, same inputs) shares its outputs.

        dspeed computes such duplicates again (``wf_trap`` and ``wf_etrap`` in the icpc
        config); here the second name points at the first buffer when the declared units agree.
        """
        earlier = self._calls.get(self._call_key(func, inputs, kwargs))
        new = [a for a, o in zip(args, outputs) if o]
        if earlier is None or len(earlier) != len(new):
            return False
        old = [self.vars[n] for n in earlier]
        if any(n.unit not in (None, o.unit) or n.shape not in (None, o.shape) or n.vector_len
               for n, o in zip(new, old)):
            return False
        for n, o in zip(new, old):
            self.vars[n.name] = o
        return True

    def _text(self, a: Any) -> str:
        if isinstance(a, Var):
            return a.name
        if isinstance(a, Quantity):
            return f"{a.magnitude:g}*{a.label()}"
        if isinstance(a, Char):
            return repr(a.text)
        return repr(a)

    def _shape_of(self, a: Any) -> tuple[int, ...] | None:
        if isinstance(a, Var):
            return a.shape
        if isinstance(a, np.ndarray):
            return a.shape
        return ()

    def _select_types(self, args: list[Any], outputs: list[bool], types: list[str], where: str, sig: str) -> str:
        for t in types:
            chars = _type_chars(t)
            if len(chars) != len(args):
                continue
            if all(o or self._fits(a, c) for a, o, c in zip(args, outputs, chars)):
                return chars
        known = ", ".join(f"{self._text(a)}: {a.dtype}" if isinstance(a, Var) else self._text(a)
                          for a, o in zip(args, outputs) if not o)
        raise ChainError(f"{where}: no type signature in {types} matches the arguments ({known})")

    def _fits(self, a: Any, c: str) -> bool:
        if isinstance(a, Var):
            if a.kind == "declared" and a.dtype is None:
                return True
            return np.can_cast(a.dtype, np.dtype(c), "safe")
        if isinstance(a, Char):
            return c in "bB"
        if a is None:
            return True
        if isinstance(a, bool | np.bool_):
            return c in _NUMERIC_CHARS
        if isinstance(a, Quantity):
            return c in _NUMERIC_CHARS and c != "?"
        if isinstance(a, float | np.floating):  # plain floats go to float slots unless integral
            return c in "efdg" or (c in _NUMERIC_CHARS and c != "?" and float(a).is_integer())
        if isinstance(a, int | np.integer):
            return c in _NUMERIC_CHARS and c != "?"
        if isinstance(a, np.ndarray):
            return np.can_cast(a.dtype, np.dtype(c), "same_kind")
        return False

    def _input_arg(self, a: Any, c: str | None, grid: Grid | None, where: str) -> tuple[str, Any]:
        if isinstance(a, Var):
            if a.is_coord and a.grid is not None and grid is not None and a.grid != grid:
                a = self.convert_grid(a, grid)
            if a.is_const:
                value = a.value
                if c is not None and isinstance(value, np.ndarray | np.generic):
                    value = np.asarray(value).astype(np.dtype(c)) if np.ndim(value) else np.dtype(c).type(value)
                return ("const", value)
            return ("var", a.name)
        if isinstance(a, Quantity):
            if grid is None:
                raise ChainError(f"{where}: could not convert {self._text(a)} to samples: the processor has no time grid")
            a = in_samples(a, grid.period, grid.unit)
        if isinstance(a, Char):
            return ("const", np.int8(ord(a.text[0])) if c in ("b", None) else np.uint8(ord(a.text[0])))
        if a is None or c is None:
            return ("const", a)
        dtype = np.dtype(c)
        if isinstance(a, np.ndarray):
            return ("const", a.astype(dtype))
        if np.issubdtype(dtype, np.integer) and isinstance(a, float | np.floating):
            a = np.round(a)
        return ("const", dtype.type(a))

    def _finish_output(self, var: Var, dims: tuple[str, ...], c: str, sizes: dict[str, int],
                       grid: Grid | None, grid_dims: tuple[str, ...], node: Node | None, where: str) -> Var:
        if var.dtype is None:
            var.dtype = np.dtype(c)
        if var.shape is None:
            try:
                var.shape = tuple(sizes[d] for d in dims)
            except KeyError as exc:
                raise ChainError(f"{where}: the length of {var.name} ({exc.args[0]}) is unknown; declare it, e.g. {var.name}(100)") from None
        if var.shape == () and is_time_unit(var.unit):
            var.is_coord = True
        scalar_time_point = var.shape == () and var.is_coord
        same_axis = bool(dims and grid_dims and dims[-1] == grid_dims[-1])
        if var.grid is None and (scalar_time_point or same_axis):
            var.grid = grid
        var.kind = "buffer"
        return var

    def _fold(self, step: Step, outputs: list[bool]) -> None:
        """Run a step whose inputs are all constants once; its outputs become constants."""
        bufs: dict[str, np.ndarray] = {}
        out_vars = [self.vars[v] for (kind, v), o in zip(step.args, outputs) if o]
        for var in out_vars:
            bufs[var.name] = np.zeros((1, *var.shape), dtype=var.dtype)
        args = [("var", v) if o else (kind, v) for (kind, v), o in zip(step.args, outputs)]
        Step(step.label, step.func, args, step.kwargs).run(bufs)
        for var in out_vars:
            var.kind, var.value = "const", bufs[var.name][0]

    # -- conversions and arithmetic used by the argument parser ----------------------------------
    def convert_grid(self, var: Var, grid: Grid) -> Var:
        """A time point of ``var`` in samples of ``grid`` (a conversion step, made once)."""
        name = f"{var.name}@{grid.describe()}"
        if name in self.vars:
            return self.vars[name]
        out = self.add_var(Var(name, dtype=var.dtype, shape=var.shape, grid=grid, unit=var.unit, is_coord=True))
        src = var.grid
        assert src is not None
        args = [("var", var.name), self._offset_arg(src), self._offset_arg(grid), ("var", name)]
        self.steps.append(Step(f"convert({var.name}, {src.describe()} -> {grid.describe()})",
                               convert_coordinate(src, grid, np.dtype(var.dtype)), args, {}))
        return out

    def _offset_arg(self, grid: Grid) -> tuple[str, Any]:
        return ("var", grid.offset_var) if grid.offset_var else ("const", 0.0)

    def to_unit(self, var: Var, unit: str) -> Var:
        """A gridded time point in ``unit`` with zero offset (for writing)."""
        assert var.grid is not None
        return self.convert_grid(var, Grid(1.0, unit))

    def add_elementwise(self, ufunc: np.ufunc, operands: list[Any], text: str, where: str,
                        unit: str | None, is_coord: bool, grid: Grid | None) -> Var:
        """A new variable ``ufunc(*operands)`` (per-row values broadcast against waveforms)."""
        chars = None
        for t in ufunc.types:
            cs = _type_chars(t)
            if all(self._fits(a, c) for a, c in zip(operands, cs[: ufunc.nin])):
                chars = cs
                break
        if chars is None:
            raise ChainError(f"{where}: no numpy loop of {ufunc.__name__} for {text}")
        shapes = [self._shape_of(a) or () for a in operands]
        shape = max(shapes, key=len)
        out = self.add_var(Var(self.temp_name(text), dtype=np.dtype(chars[-1]), shape=tuple(shape),
                               unit=unit, is_coord=is_coord, grid=grid))
        args = [self._input_arg(a, c, grid, where) for a, c in zip(operands, chars)]
        step = Step(f"{ufunc.__name__}({text})", elementwise(ufunc, out.dtype), [*args, ("var", out.name)], {})
        if all(kind == "const" for kind, _ in args):
            self._fold(step, [False] * len(args) + [True])
        else:
            self.steps.append(step)
        return out

    def add_python_step(self, label: str, func: Callable[..., None], args: list[tuple[str, Any]], out: Var) -> Var:
        self.add_var(out)
        self.steps.append(Step(label, func, [*args, ("var", out.name)], {}))
        return out

    # -- running ---------------------------------------------------------------------------------
    def needed_inputs(self) -> list[str]:
        """Input columns the steps read (plus the outputs that are input columns)."""
        names = [v.name for v in self.vars.values() if v.kind == "input"]
        return [n for n in self.inputs if n in names]

    def allocate(self, rows: int) -> dict[str, np.ndarray]:
        """Output buffers for blocks of up to ``rows`` rows."""
        bufs = {}
        for var in self.vars.values():
            if var.kind == "buffer" and var.name not in bufs:
                bufs[var.name] = np.zeros((rows, *var.shape), dtype=var.dtype)
        return bufs

    def run_block(self, storage: dict[str, np.ndarray], inputs: Mapping[str, np.ndarray], rows: int) -> dict[str, np.ndarray]:
        """Run every step on ``rows`` rows; returns the buffers by name (views into ``storage``)."""
        bufs = {name: arr[:rows] for name, arr in storage.items()}
        bufs.update(inputs)
        for var in self.vars.values():
            if var.kind == "view" and var.name not in bufs:
                self._view(var, bufs)
        # NaN/inf arithmetic is how rows fail here (NaN out), not a warning per block
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            for step in self.steps:
                try:
                    step.run(bufs)
                except DSPFatal as exc:
                    raise DSPFatal(f"{exc} / thrown by {step.label}") from exc
        return bufs

    def _view(self, var: Var, bufs: dict[str, np.ndarray]) -> np.ndarray:
        parent = var.parent
        assert parent is not None
        if parent.kind == "view" and parent.name not in bufs:
            self._view(parent, bufs)
        base = bufs[parent.name] if not parent.is_const else parent.value[None, ...]
        bufs[var.name] = base[(slice(None), *var.index)]
        return bufs[var.name]
