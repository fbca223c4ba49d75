"""Time and frequency units of dsp configs, with dspeed's floating-point conversion path.

dspeed parses units with pint; the only units that change numbers are times and frequencies
(converted to samples of a waveform's grid). Any other unit (``ADC``, ``ADC/sample``) is a label.
Conversions follow pint's arithmetic: magnitudes are combined first and multiplied by the ratio of
the units' SI factors, so ``3*us`` at a 16 ns period is 187.49999999999997 samples and rounds to
187 exactly as in dspeed.
"""

from __future__ import annotations

from dataclasses import dataclass

# unit name -> (SI factor, dimension: +1 time, -1 frequency)
UNITS: dict[str, tuple[float, int]] = {
    "ps": (1e-12, 1), "ns": (1e-9, 1), "us": (1e-6, 1), "µs": (1e-6, 1), "μs": (1e-6, 1),
    "ms": (1e-3, 1), "s": (1.0, 1),
    "Hz": (1.0, -1), "kHz": (1e3, -1), "MHz": (1e6, -1), "GHz": (1e9, -1),
}


def is_unit(name: str) -> bool:
    """True for the time and frequency unit names configs may use (``ns``, ``us``, ``MHz``...)."""
    return name in UNITS


@dataclass(frozen=True)
class Quantity:
    """A constant with a unit: ``magnitude`` in ``units`` (a tuple of (name, power))."""

    magnitude: float
    units: tuple[tuple[str, int], ...]

    @classmethod
    def of(cls, magnitude: float, unit: str) -> Quantity:
        """``magnitude`` in the single unit ``unit``."""
        return cls(float(magnitude), ((unit, 1),))

    @property
    def dimension(self) -> int:
        """Time power: +1 for a time, -1 for a frequency, 0 for dimensionless."""
        return sum(UNITS[u][1] * p for u, p in self.units)

    @property
    def factor(self) -> float:
        """SI factor of the unit combination (multiplied in unit order, as pint does)."""
        out = 1.0
        for u, p in self.units:
            out *= UNITS[u][0] ** p
        return out

    def label(self) -> str:
        """Unit text, e.g. ``ns`` or ``us/ns``."""
        num = [u if p == 1 else f"{u}**{p}" for u, p in self.units if p > 0]
        den = [u if p == -1 else f"{u}**{-p}" for u, p in self.units if p < 0]
        return "*".join(num or ["1"]) + ("/" + "/".join(den) if den else "")

    def _combine(self, other: Quantity, sign: int) -> tuple[tuple[str, int], ...]:
        powers: dict[str, int] = {}
        for u, p in self.units:
            powers[u] = powers.get(u, 0) + p
        for u, p in other.units:
            powers[u] = powers.get(u, 0) + sign * p
        return tuple((u, p) for u, p in powers.items() if p != 0)

    def __mul__(self, other: Quantity | float) -> Quantity | float:
        if isinstance(other, Quantity):
            return _simplify(Quantity(self.magnitude * other.magnitude, self._combine(other, 1)))
        return Quantity(self.magnitude * other, self.units)

    __rmul__ = __mul__

    def __truediv__(self, other: Quantity | float) -> Quantity | float:
        if isinstance(other, Quantity):
            return _simplify(Quantity(self.magnitude / other.magnitude, self._combine(other, -1)))
        return Quantity(self.magnitude / other, self.units)

    def __rtruediv__(self, other: float) -> Quantity:
        return Quantity(other / self.magnitude, tuple((u, -p) for u, p in self.units))

    def to(self, other: Quantity) -> float:
        """Magnitude of ``self`` in the units of ``other`` (same dimension)."""
        if self.dimension != other.dimension:
            raise ValueError(f"cannot convert {self.label()} to {other.label()}")
        return self.magnitude * (self.factor / other.factor)

    def __add__(self, other: Quantity) -> Quantity:
        if not isinstance(other, Quantity):
            raise ValueError(f"cannot add {self.label()} and a plain number")
        return Quantity(self.magnitude + other.to(self), self.units)

    def __sub__(self, other: Quantity) -> Quantity:
        if not isinstance(other, Quantity):
            raise ValueError(f"cannot subtract a plain number from {self.label()}")
        return Quantity(self.magnitude - other.to(self), self.units)

    def __neg__(self) -> Quantity:
        return Quantity(-self.magnitude, self.units)


def _simplify(q: Quantity) -> Quantity | float:
    """A dimensionless result becomes a float (pint's ``to('dimensionless')``)."""
    if not q.units:
        return q.magnitude
    if q.dimension == 0:
        return q.magnitude * q.factor
    return q


def in_samples(q: Quantity, period: float, period_unit: str) -> float:
    """``q`` (a time or a frequency) as a dimensionless number on a grid of ``period``."""
    p = Quantity.of(period, period_unit)
    value = q / p if q.dimension == 1 else q * p
    if isinstance(value, Quantity):
        raise ValueError(f"{q.magnitude} {q.label()} has no conversion to samples of {period} {period_unit}")
    return float(value)
