"""Small neural-network layers for classifiers run inside a chain: dense and classification
layers (with or without bias) and input normalisation.

Activation codes (a character, as ``'s'``): ``s`` sigmoid 1/(1+e^-x), ``r`` ReLU, ``l`` leaky
ReLU (slope 0.01), ``m`` softplus ln(1+e^x) (dspeed calls it softmax), ``t`` tanh; any other
code leaves the output NaN. A row with a NaN input gives a NaN output row. Dot products are
numpy's (one per row, as dspeed), the activations numba's, so results match dspeed's bits.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import block_processor
from ._util import GUFUNC_OPTIONS
from .gufunc import lazy_gufunc

_UNARY = ["void(float32[:], float32[:])", "void(float64[:], float64[:])"]


@lazy_gufunc(_UNARY, "(n)->(n)", **GUFUNC_OPTIONS)
def _sigmoid(x_in: np.ndarray, x_out: np.ndarray) -> None:
    x_out[:] = 1 / (1 + np.exp(-x_in))


@lazy_gufunc(_UNARY, "(n)->(n)", **GUFUNC_OPTIONS)
def _relu(x_in: np.ndarray, x_out: np.ndarray) -> None:
    x_out[:] = x_in * (x_in > 0)


@lazy_gufunc(_UNARY, "(n)->(n)", **GUFUNC_OPTIONS)
def _leaky_relu(x_in: np.ndarray, x_out: np.ndarray) -> None:
    x_out[:] = x_in * (x_in > 0) + 0.01 * x_in * (x_in < 0)


@lazy_gufunc(_UNARY, "(n)->(n)", **GUFUNC_OPTIONS)
def _softplus(x_in: np.ndarray, x_out: np.ndarray) -> None:
    x_out[:] = np.log(1 + np.exp(x_in))


_ACTIVATIONS = {"s": _sigmoid, "r": _relu, "l": _leaky_relu, "m": _softplus}


def _code(activation_func: Any) -> str:
    """The activation character from an int8 code, a one-element array or a string."""
    if isinstance(activation_func, (str, bytes)):
        text = activation_func.decode() if isinstance(activation_func, bytes) else activation_func
        return text[:1]
    return chr(int(np.asarray(activation_func).reshape(-1)[0]))


def _rows(x_in: np.ndarray) -> np.ndarray:
    x = np.asarray(x_in)
    if not np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float64)
    return x.reshape(-1, x.shape[-1])


def _layer(
    x_in: np.ndarray,
    kernel: np.ndarray,
    bias: Any,
    activation_func: Any,
    x_out: np.ndarray | None,
    out_shape: tuple[int, ...],
) -> np.ndarray | None:
    """x_out = activation(x_in · kernel [+ bias]) row by row (out_shape: per-row shape)."""
    x = _rows(x_in)
    nrows = x.shape[0]
    dtype = x_out.dtype if x_out is not None else x.dtype
    x = x.astype(dtype, copy=False)
    weights = np.asarray(kernel, dtype=dtype)
    per_row_kernel = weights.ndim == len(out_shape) + 2
    weights = weights.reshape((nrows,) + weights.shape[1:]) if per_row_kernel else weights
    offsets = None if bias is None else np.asarray(bias, dtype=dtype)
    per_row_bias = offsets is not None and offsets.ndim == len(out_shape) + 1
    out = np.full((nrows, max(1, int(np.prod(out_shape)))), np.nan, dtype)
    code = _code(activation_func)
    total = np.empty((nrows, max(1, int(np.prod(out_shape)))), dtype)
    good = ~np.isnan(x).any(axis=1)
    for r in np.flatnonzero(good):
        value = np.dot(x[r], weights[r] if per_row_kernel else weights)
        if offsets is not None:
            value = value + (offsets[r] if per_row_bias else offsets)
        total[r] = value
    rows = total[good]
    if code in _ACTIVATIONS:
        out[good] = _ACTIVATIONS[code](rows)
    elif code == "t":
        out[good] = np.tanh(rows)
    if x_out is None:
        return out.reshape(np.shape(x_in)[:-1] + out_shape)
    x_out[...] = out.reshape(x_out.shape)
    return None


@block_processor("(n),(n,m),()->(m)", ["ffb->f", "ddb->d"])
def dense_layer_no_bias(
    x_in: np.ndarray, kernel: np.ndarray, activation_func: Any, x_out: np.ndarray | None = None
) -> np.ndarray | None:
    """x_out = activation(x_in · kernel): x_in rows × n features, kernel n × m weights."""
    return _layer(x_in, kernel, None, activation_func, x_out, (np.shape(kernel)[-1],))


@block_processor("(n),(n,m),(m),()->(m)", ["fffb->f", "dddb->d"])
def dense_layer_with_bias(
    x_in: np.ndarray,
    kernel: np.ndarray,
    bias: np.ndarray,
    activation_func: Any,
    x_out: np.ndarray | None = None,
) -> np.ndarray | None:
    """x_out = activation(x_in · kernel + bias): kernel n × m weights, bias m values."""
    return _layer(x_in, kernel, bias, activation_func, x_out, (np.shape(kernel)[-1],))


@block_processor("(n),(n),()->()", ["ffb->f", "ddb->d"])
def classification_layer_no_bias(
    x_in: np.ndarray, kernel: np.ndarray, activation_func: Any, x_out: np.ndarray | None = None
) -> np.ndarray | None:
    """x_out = activation(x_in · kernel), one value per row (kernel: n weights)."""
    return _layer(x_in, kernel, None, activation_func, x_out, ())


@block_processor("(n),(n),(),()->()", ["fffb->f", "dddb->d"])
def classification_layer_with_bias(
    x_in: np.ndarray,
    kernel: np.ndarray,
    bias: Any,
    activation_func: Any,
    x_out: np.ndarray | None = None,
) -> np.ndarray | None:
    """x_out = activation(x_in · kernel + bias), one value per row."""
    return _layer(x_in, kernel, bias, activation_func, x_out, ())


@lazy_gufunc(
    [
        "void(float32[:], float32[:], float32[:], float32[:])",
        "void(float64[:], float64[:], float64[:], float64[:])",
    ],
    "(n),(n),(n)->(n)",
    **GUFUNC_OPTIONS,
)
def normalisation_layer(
    x_in: np.ndarray, means: np.ndarray, variances: np.ndarray, x_out: np.ndarray
) -> None:
    """x_out = (x_in - means) / sqrt(variances), feature by feature (NaN propagates)."""
    for i in range(len(x_in)):
        x_out[i] = (x_in[i] - means[i]) / np.sqrt(variances[i])
