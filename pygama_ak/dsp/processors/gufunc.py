"""Gufuncs that load only the type loops a chain uses.

``numba.guvectorize`` with a list of signatures compiles (or loads from the on-disk cache) every
type loop when the module is imported: a float32 chain pays for the float64 loops too, about
10 ms each. :func:`lazy_gufunc` keeps numba's decorator arguments but builds nothing until a
loop is needed: the chain engine asks for the one it selected (:meth:`LazyGufunc.specialize`),
a direct call builds the loop matching its array dtypes (or every loop when none matches
exactly, so numpy's casting rules apply as for a plain gufunc).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numba
import numpy as np
from numba.core import sigutils
from numba.np import numpy_support
from numba.np.ufunc.sigparse import parse_signature


def _type_chars(signature: str) -> str:
    args, _ = sigutils.normalize_signature(signature)
    return "".join(numpy_support.as_dtype(getattr(a, "dtype", a)).char for a in args)


class LazyGufunc:
    """A numba gufunc (``.signature``, ``.types``, callable) whose loops are built on demand."""

    def __init__(self, py_func: Callable, signatures: Sequence[str], layout: str, options: dict) -> None:
        self.py_func = py_func
        self.__name__ = py_func.__name__
        self.__qualname__ = py_func.__qualname__
        self.__doc__ = py_func.__doc__
        self.__module__ = py_func.__module__
        self._signatures = list(signatures)
        self._layout = layout
        self._options = dict(options)
        ins, outs = parse_signature(layout)
        self.nin, self.nout = len(ins), len(outs)
        self.signature = layout  # as numba reports it (spaces kept)
        self._chars = [_type_chars(s) for s in self._signatures]
        self.types = [c[: self.nin] + "->" + c[self.nin:] for c in self._chars]
        self._loops: dict[str, Any] = {}  # type chars -> single-loop gufunc
        self._all: Any = None

    def _build(self, signatures: list[str]) -> Any:
        return numba.guvectorize(signatures, self._layout, **self._options)(self.py_func)

    def specialize(self, types: str) -> Any:
        """The gufunc of the one loop ``types`` (``"ff->f"`` or ``"fff"``), built once."""
        chars = types.replace("->", "")
        loop = self._loops.get(chars)
        if loop is None:
            try:
                signature = self._signatures[self._chars.index(chars)]
            except ValueError:
                raise TypeError(f"{self.__name__} has no loop {types!r} (loops: {self.types})") from None
            loop = self._loops[chars] = _OneLoop(self._build([signature]), self)
        return loop

    def build(self) -> Any:
        """The gufunc with every loop (compiles and caches them all; used by warm-up)."""
        if self._all is None:
            self._all = self._build(self._signatures)
        return self._all

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        arrays = list(args) + [kwargs["out"]] if "out" in kwargs and kwargs["out"] is not None else list(args)
        chars = "".join(a.dtype.char if isinstance(a, np.ndarray | np.generic) else "?" for a in arrays)
        for loop_chars in self._chars:
            if len(chars) <= len(loop_chars) and chars == loop_chars[: len(chars)]:
                return self.specialize(loop_chars)(*args, **kwargs)
        return self.build()(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<lazy gufunc {self.__name__} {self.signature} {self.types}>"


class _OneLoop:
    """One loop of a :class:`LazyGufunc`; arguments it cannot take safely (a float64 constant
    for a float32 loop) go to the gufunc with every loop, as numpy would have resolved them."""

    __slots__ = ("loop", "lazy")

    def __init__(self, loop: Any, lazy: LazyGufunc) -> None:
        self.loop, self.lazy = loop, lazy

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return self.loop(*args, **kwargs)
        except TypeError:
            return self.lazy.build()(*args, **kwargs)


def lazy_gufunc(signatures: Sequence[str], layout: str, **options: Any) -> Callable[[Callable], LazyGufunc]:
    """``numba.guvectorize(signatures, layout, **options)``, building each loop when first used."""

    def wrap(py_func: Callable) -> LazyGufunc:
        return LazyGufunc(py_func, signatures, layout, options)

    return wrap
