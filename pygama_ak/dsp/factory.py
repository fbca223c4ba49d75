"""Processor factories: nodes with ``init_args``.

A factory (``iir_filter``, ``poly_fit``, ``wiener_filter``...) is called once when the chain
is built, with its parsed ``init_args``; it returns the processor (a numba gufunc or a
:func:`~pygama_ak.dsp.processors.block_processor` callable) that is then applied with ``args``.

Each init argument is given to the factory as a plain value:

* numbers stay numbers (``len(waveform)`` is an ``int``), lists become numpy arrays;
* quoted strings (``"'butter'"``) and bare words in keyword values (``"ftype=butter"``) become
  ``str``;
* constants with units (``"15*MHz"``) are :class:`~pygama_ak.dsp.units.Quantity`;
* a chain variable (``waveform``) is a :class:`VariableInfo` (its ``period`` is a Quantity),
  which is what dspeed's factories use to find the sampling frequency.

``name=value`` init arguments are passed as keywords. dspeed 2.4.3 collects them and then drops
them (``iir_filter`` with ``btype=highpass`` silently builds a low-pass filter); we pass them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .arguments import KEYWORD, ArgumentParser, Char
from .config import Node, substitute_db
from .errors import ChainError, DSPFatal
from .units import Quantity
from .variables import Var

if TYPE_CHECKING:
    from .chain import ProcessingChain

_WORD = re.compile(r"^[A-Za-z_]\w*$")


@dataclass(frozen=True)
class VariableInfo:
    """What a factory may know of a chain variable: name, dtype, per-row shape, period, unit."""

    name: str
    dtype: np.dtype | None
    shape: tuple[int, ...] | None
    period: Quantity | None  # sample period of its grid (e.g. 16 ns); None without a grid
    unit: str | None

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError(f"{self.name} is a scalar")
        return self.shape[-1]


def _plain(value: Any) -> Any:
    if isinstance(value, Char):
        return value.text
    if isinstance(value, Var):
        period = Quantity.of(value.grid.period, value.grid.unit) if value.grid else None
        if value.is_const:
            return value.value
        return VariableInfo(value.name, value.dtype, value.shape, period, value.unit)
    return value


def init_arguments(chain: ProcessingChain, node: Node, where: str) -> tuple[list[Any], dict[str, Any]]:
    """The node's ``init_args`` as factory arguments: (positional, keyword)."""
    parser = ArgumentParser(chain, node, where)
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    for raw in node.init_args or []:
        value = substitute_db(raw, chain.database, node.defaults, where)
        if not isinstance(value, str):
            args.append(value)
            continue
        match = KEYWORD.match(value)
        if match:
            name, text = match.group(1), match.group(2).strip()
            if _WORD.match(text) and text not in chain.vars and text not in chain.config.nodes \
                    and text not in chain.inputs:
                kwargs[name] = text  # ftype=butter: a bare word is a string
            else:
                kwargs[name] = _plain(parser.operand(text))
        else:
            args.append(_plain(parser.operand(value)))
    return args, kwargs


def build_factory(factory: Callable[..., Any], chain: ProcessingChain, node: Node, where: str) -> Any:
    """Call ``factory`` with the node's init args; the processor it returns."""
    args, kwargs = init_arguments(chain, node, where)
    name = getattr(factory, "__name__", str(factory))
    try:
        processor = factory(*args, **kwargs)
    except (TypeError, ValueError, DSPFatal) as exc:
        raise ChainError(f"{where}: init_args of {name}: {exc}") from None
    if not callable(processor):
        raise ChainError(f"{where}: {name} with init_args did not return a processor")
    return processor
