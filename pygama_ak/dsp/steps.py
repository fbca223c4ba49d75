"""Steps of a processing chain: one call per block of rows, on named buffers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import DSPFatal
from .variables import Grid


@dataclass
class Step:
    """``func(*args)`` on a block; each arg is ``("var", name)`` or ``("const", value)``.

    ``label`` is the call as text (``trap_norm(wf_pz, 625, 188, wf_trap)``) for messages.
    """

    label: str
    func: Callable[..., Any]
    args: list[tuple[str, Any]]
    kwargs: dict[str, Any]

    def run(self, bufs: dict[str, np.ndarray]) -> None:
        values = [bufs[v] if kind == "var" else v for kind, v in self.args]
        kwargs = {k: (bufs[v] if kind == "var" else v) for k, (kind, v) in self.kwargs.items()}
        self.func(*values, **kwargs)


def elementwise(ufunc: np.ufunc, dtype: np.dtype) -> Callable[..., None]:
    """``ufunc`` on per-row values of different ranks (a per-row scalar meets a waveform).

    The last argument is the output buffer; the others are aligned on the row axis.
    """

    def call(*args: Any) -> None:
        *ins, out = args
        ndim = out.ndim
        aligned = []
        for a in ins:
            if isinstance(a, np.ndarray) and 0 < a.ndim < ndim:
                a = a.reshape(a.shape + (1,) * (ndim - a.ndim))
            aligned.append(a)
        ufunc(*aligned, out=out, dtype=dtype, casting="unsafe")

    return call


def convert_coordinate(src: Grid, dst: Grid, dtype: np.dtype) -> Callable[..., None]:
    """Time points in samples of ``src`` → samples of ``dst`` (per-row offsets as extra args).

    ``x_dst = (x_src + off_src / p_src) * (p_src / p_dst) - off_dst / p_dst`` in float64,
    with the periods in a common unit; integer outputs must be within 1e-5 of an integer.
    """
    from .units import UNITS

    scale = UNITS[src.unit][0] / UNITS[dst.unit][0]
    ratio = (src.period * scale) / dst.period

    def call(x: np.ndarray, off_src: Any, off_dst: Any, out: np.ndarray) -> None:
        value = (x.astype(np.float64) + (off_src + src.offset) / src.period) * ratio
        value -= (off_dst + dst.offset) / dst.period
        if np.issubdtype(dtype, np.integer):
            rounded = np.rint(value)
            if not np.all(np.abs(rounded - value) < 1e-5):
                raise DSPFatal("time point is not an integer sample of the target grid")
            value = rounded
        out[...] = value

    return call


def round_to(mode: str) -> Callable[..., None]:
    """``round/floor/ceil/trunc(x, to_nearest)``; half-to-even like numpy; NaN stays NaN."""
    op = {"round": np.rint, "floor": np.floor, "ceil": np.ceil, "trunc": np.trunc}[mode]

    def call(x: np.ndarray, to_nearest: float, out: np.ndarray) -> None:
        if to_nearest == 1:
            out[...] = op(x)
        else:
            out[...] = op(x / to_nearest) * to_nearest

    return call
