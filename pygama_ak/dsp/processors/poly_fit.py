"""Polynomial fits of waveforms: poly_fit (factory), and the residuals poly_diff and
poly_exp_rms of a waveform against a polynomial or the exponential of one."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import block_processor
from ._util import GUFUNC_OPTIONS, any_nan, cast_like
from .gufunc import lazy_gufunc


@lazy_gufunc(
    [
        # the inverse is declared Fortran-ordered, as dspeed does: numba's matmul then reads
        # the (C-ordered, near-symmetric) matrix as its transpose, which sets the rounding
        "void(float32[:], float64[::1, ::1], float32[:])",
        "void(float64[:], float64[::1, ::1], float64[:])",
    ],
    "(n),(m,m)->(m)",
    **GUFUNC_OPTIONS,
)
def _fit_rows(w_in: np.ndarray, inverse: np.ndarray, poly_pars: np.ndarray) -> None:
    """poly_pars = inverse @ [Σ_i w[i]·i^j]_j (float64); NaN for a NaN input."""
    if any_nan(w_in):
        poly_pars[:] = np.nan
        return
    moments = np.zeros(poly_pars.shape[0])
    for i in range(w_in.shape[0]):
        for j in range(poly_pars.shape[0]):
            moments[j] += w_in[i] * (i**j)
    poly_pars[:] = inverse @ moments


def poly_fit(length: int, deg: int) -> Any:
    """Factory: least-squares fit of a degree-``deg`` polynomial p(i) = Σ_j c_j·i^j.

    length: number of samples the normal matrix is built for (samples; the waveform given
    later should have this length, not checked, like dspeed); deg: the degree. Returns a
    ``(n),(m)`` block processor (m = deg + 1 coefficients, float64 sums and inverse). Unlike
    dspeed (which leaves the output untouched), a row holding a NaN gives NaN coefficients.
    """
    length, deg = int(length), int(deg)
    power_sums = np.zeros(2 * deg + 1, dtype=np.float64)
    for i in range(length):
        for j in range(2 * deg + 1):
            power_sums[j] += i**j
    normal = np.zeros((deg + 1, deg + 1), dtype=np.float64)
    for i in range(deg + 1):
        normal[i, :] = power_sums[i : deg + 1 + i]
    inverse = np.linalg.inv(normal)

    @block_processor("(n),(m)", ["ff->", "dd->"])
    def poly_fitter(w_in: np.ndarray, poly_pars: np.ndarray | None = None) -> np.ndarray | None:
        if poly_pars is None:
            dtype = np.float32 if np.asarray(w_in).dtype == np.float32 else np.float64
            return _fit_rows(np.asarray(w_in, dtype), inverse)
        _fit_rows(w_in, inverse, poly_pars)
        return None

    poly_fitter.__doc__ = f"Fit w_in (rows × samples) to an order-{deg} polynomial."
    poly_fitter.inverse = inverse  # type: ignore[attr-defined]
    return poly_fitter


@lazy_gufunc(
    [
        "void(float32[:], float32[:], float32[:], float32[:])",
        "void(float64[:], float64[:], float64[:], float64[:])",
    ],
    "(n),(m)->(),()",
    **GUFUNC_OPTIONS,
)
def poly_diff(w_in: np.ndarray, poly_pars: np.ndarray, mean: np.ndarray, rms: np.ndarray) -> None:
    """Residuals r[i] = w[i] − Σ_j c_j·i^j: "mean" Σ r[i]/(i+1) (dspeed's quirk) and
    rms √(Σ r²/(n−1)); accumulated in float64, rounded to the output type at every step.
    NaN outputs for a NaN in w_in or poly_pars.
    """
    mean[0] = np.nan
    rms[0] = np.nan
    if any_nan(w_in) or any_nan(poly_pars):
        return
    m = cast_like(mean[0], 0.0)
    s = cast_like(rms[0], 0.0)
    for i in range(w_in.shape[0]):
        model = 0.0
        for j in range(poly_pars.shape[0]):
            model += poly_pars[j] * i**j
        residual = w_in[i] - model
        m = cast_like(m, m + residual / (i + 1))
        s = cast_like(s, s + residual * residual)
    s = cast_like(s, s / (w_in.shape[0] - 1))
    mean[0] = m
    rms[0] = np.sqrt(s)


@lazy_gufunc(
    [
        "void(float32[:], float32[:], float32[:], float32[:])",
        "void(float64[:], float64[:], float64[:], float64[:])",
    ],
    "(n),(m)->(),()",
    **GUFUNC_OPTIONS,
)
def poly_exp_rms(
    w_in: np.ndarray, poly_pars: np.ndarray, mean: np.ndarray, rms: np.ndarray
) -> None:
    """Residuals r[i] = w[i] − exp(Σ_j c_j·i^j): "mean" Σ r[i]/(i+1) (dspeed's quirk) and
    rms √(Σ r²/(n−1)); float64 terms, rounded to the output type at every step. NaN outputs
    for a NaN in w_in or poly_pars.
    """
    mean[0] = np.nan
    rms[0] = np.nan
    if any_nan(w_in) or any_nan(poly_pars):
        return
    m = cast_like(mean[0], 0.0)
    s = cast_like(rms[0], 0.0)
    for i in range(w_in.shape[0]):
        exponent = 0.0
        for j in range(poly_pars.shape[0]):
            exponent += poly_pars[j] * i**j
        m = cast_like(m, m + (w_in[i] - np.exp(exponent)) / (i + 1))
        s = cast_like(s, s + (w_in[i] - np.exp(exponent)) ** 2)
    s = cast_like(s, s / (w_in.shape[0] - 1))
    mean[0] = m
    rms[0] = np.sqrt(s)
