"""Shared pieces of the kernels: numba options, NaN scans, float casts and block-processor glue.

``any_nan`` counts NaNs in fixed blocks of samples (vectorised; several times faster than an
early-exit scan); ``as_rows``/``per_row``/``out_array`` adapt what the engine hands a block
processor (rows × samples, scalars per row or constants) to the numba kernels.
"""

from __future__ import annotations

import numba
import numpy as np
from numba import types
from numba.extending import overload

# every gufunc is compiled ahead of use for its listed types and cached on disk
GUFUNC_OPTIONS: dict = {"nopython": True, "cache": True}
# numba options of the plain helpers: like the gufuncs, division by zero gives inf/NaN
NJIT_OPTIONS: dict = {"cache": True, "error_model": "numpy"}
_NAN_BLOCK = 64


def cast_like(like: float, value: float) -> float:
    """``value`` rounded to the float type of ``like`` (in numba: a plain fptrunc/no-op)."""
    return type(like)(value)


@overload(cast_like, inline="always")
def _cast_like_numba(like, value):  # no annotations: numba compares them with the lambdas'
    if like == types.float32:
        return lambda like, value: np.float32(value)
    if like == types.float64:
        return lambda like, value: np.float64(value)
    return None


@numba.njit(**NJIT_OPTIONS)
def any_nan(values: np.ndarray) -> bool:
    """True if a float buffer holds a NaN anywhere (integers never do)."""
    n = values.shape[0]
    start = 0
    while start + _NAN_BLOCK <= n:
        count = 0
        for j in range(start, start + _NAN_BLOCK):
            count += np.isnan(values[j])
        if count:
            return True
        start += _NAN_BLOCK
    for j in range(start, n):  # noqa: SIM110 (numba: no generators)
        if np.isnan(values[j]):
            return True
    return False


@numba.njit(**NJIT_OPTIONS)
def fill_nan(values: np.ndarray) -> None:
    """Set every element of a float buffer to NaN."""
    for j in range(values.shape[0]):
        values[j] = np.nan


# ----------------------------------------------------------------------------- block glue
def float_dtype(values: np.ndarray) -> np.dtype:
    """float32 when ``values`` casts safely to it (uint16/int16/float32), else float64.

    The same choice numpy makes between dspeed's ``f`` and ``d`` signatures.
    """
    dtype = np.asarray(values).dtype
    return np.dtype(np.float32) if np.can_cast(dtype, np.float32) else np.dtype(np.float64)


def as_rows(values: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Waveforms as a 2-D (rows, samples) array of ``dtype`` (a view when no cast is needed)."""
    array = np.asarray(values)
    if array.dtype != dtype:
        array = array.astype(dtype)
    if array.ndim == 1:
        return array.reshape(1, -1)
    if array.ndim != 2:
        raise ValueError(f"expected rows × samples, got shape {array.shape}")
    return array


def per_row(value: object, nrows: int, dtype: np.dtype | type) -> np.ndarray:
    """A scalar argument as one contiguous value per row (constants are broadcast)."""
    array = np.asarray(value)
    if array.size == 1:
        return np.full(nrows, array.reshape(()), dtype=dtype)
    array = array.reshape(-1)
    if array.shape[0] != nrows:
        raise ValueError(f"expected {nrows} values (one per row), got {array.shape[0]}")
    return np.ascontiguousarray(array, dtype=dtype)


def out_array(out: np.ndarray | None, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """The output buffer to write: ``out`` itself (or a reshaped view of it) or a new array."""
    if out is None:
        return np.empty(shape, dtype)
    if not isinstance(out, np.ndarray) or out.dtype != dtype:
        raise TypeError(f"output must be a {dtype} array of shape {shape}")
    if out.shape == shape:
        return out
    view = out.reshape(shape)  # e.g. (rows, 1) for (rows,)
    if not np.shares_memory(view, out):
        raise TypeError(f"output of shape {out.shape} cannot be viewed as {shape}")
    return view
