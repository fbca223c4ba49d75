"""Engine helpers: ``where`` (for ``where(c, a, b)`` / ``a if c else b``), ``get_default``
(for ``x[i]`` with a variable index) and ``get`` (element access that fails when out of range)."""

from __future__ import annotations

import numpy as np

from ..errors import DSPFatal
from ._util import GUFUNC_OPTIONS
from .gufunc import lazy_gufunc

_WHERE_TYPES = ["u1", "u2", "u4", "u8", "i1", "i2", "i4", "i8", "f4", "f8"]
_GET_TYPES = ["uint8", "uint16", "uint32", "uint64", "int8", "int16", "int32", "int64"]
_GET_TYPES += ["float32", "float64", "complex64", "complex128"]
# dspeed lists get's types signed first
_GET_TYPES_DSPEED = _GET_TYPES[4:8] + _GET_TYPES[:4] + _GET_TYPES[8:]


@lazy_gufunc(
    [f"void(b1, {t}, {t}, {t}[:])" for t in _WHERE_TYPES], "(),(),()->()", **GUFUNC_OPTIONS
)
def where(condition: bool, a: float, b: float, out: np.ndarray) -> None:
    """a where condition is true, else b (units of a and b)."""
    out[0] = a if condition else b


@lazy_gufunc(
    [f"void({t}[:], int64, {t}, {t}[:])" for t in _GET_TYPES], "(n),(),()->()", **GUFUNC_OPTIONS
)
def get_default(a_in: np.ndarray, i: int, default: float, a_out: np.ndarray) -> None:
    """a_in[i] (negative i counts from the end); default if i is out of range or a_in[i] is
    NaN. The engine passes NaN as default for floats and the dtype's max for integers."""
    n = a_in.shape[0]
    if -n <= i < n:
        value = a_in[i + n if i < 0 else i]
        if not np.isnan(value):
            a_out[0] = value
            return
    a_out[0] = default


@lazy_gufunc(
    [f"void({t}[:], int64, {t}[:])" for t in _GET_TYPES_DSPEED], "(n),()->()", **GUFUNC_OPTIONS
)
def get(a_in: np.ndarray, i: int, a_out: np.ndarray) -> None:
    """a_in[i]; negative i counts from the end. DSPFatal if i is outside [-len, len)."""
    n = a_in.shape[0]
    if not -n <= i < n:
        raise DSPFatal("i is out of range")
    a_out[0] = a_in[i + n if i < 0 else i]
