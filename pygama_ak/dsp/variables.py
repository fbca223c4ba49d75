"""Variables of a processing chain: their dtype, per-row shape, time grid and unit."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .units import UNITS


@dataclass(frozen=True)
class Grid:
    """Sample times of a buffer: sample i sits at ``offset + i * period`` (in ``unit``).

    ``offset_var`` names a per-row variable (e.g. ``waveform__t0``) added to the constant
    ``offset``; slices shift ``offset`` and scale ``period``.
    """

    period: float
    unit: str
    offset_var: str | None = None
    offset: float = 0.0

    def shifted(self, start: int, step: int = 1) -> Grid:
        """The grid of ``buffer[start::step]``."""
        return Grid(self.period * step, self.unit, self.offset_var, self.offset + start * self.period)

    def describe(self) -> str:
        """``(16.0 ns, waveform__t0 + 0 ns)`` for messages."""
        off = f"{self.offset_var} + {self.offset:g} {self.unit}" if self.offset_var else f"{self.offset:g} {self.unit}"
        return f"({self.period:g} {self.unit}, {off})"


def is_time_unit(unit: str | None) -> bool:
    """True for units that make a scalar output a time point (``ns``, ``us``...)."""
    return unit is not None and unit in UNITS and UNITS[unit][1] == 1


@dataclass(eq=False)
class Var:
    """A named value of the chain.

    ``kind``: ``input`` (a column read from the raw table), ``buffer`` (written by a step),
    ``view`` (a slice of ``parent``), ``const`` (``value``, no row dimension).
    """

    name: str
    kind: str = "buffer"
    dtype: np.dtype | None = None
    shape: tuple[int, ...] | None = None  # per row
    grid: Grid | None = None
    unit: str | None = None
    is_coord: bool = False
    vector_len: str | None = None  # variable with the number of valid entries per row
    value: Any = None
    parent: Var | None = None
    index: tuple = field(default_factory=tuple)  # view: numpy index after the row axis

    @property
    def is_const(self) -> bool:
        return self.kind == "const"

    def describe(self) -> str:
        """``wf_pz (float32 [8192], grid (16 ns, waveform__t0 + 0 ns))`` for messages."""
        dt = "?" if self.dtype is None else np.dtype(self.dtype).name
        shape = "?" if self.shape is None else list(self.shape)
        grid = f", grid {self.grid.describe()}" if self.grid else ""
        return f"{self.name} ({dt} {shape}{grid})"
