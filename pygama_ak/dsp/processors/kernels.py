"""Filter-kernel generators: t0 (ramp + box), CUSP, ZAC and a normalised Gaussian.

All their inputs are constants in a config, so the engine runs them once at setup. The values
are computed in float64 like dspeed's object-mode versions (which see Python floats) and only
rounded to the kernel's dtype when stored.
"""

from __future__ import annotations

import numba
import numpy as np

from ..errors import DSPFatal
from ._util import GUFUNC_OPTIONS, cast_like
from .gufunc import lazy_gufunc

_NJIT: dict = {"cache": True, "error_model": "numpy"}


@lazy_gufunc(
    ["void(float32, float32, float32[:])", "void(float64, float64, float64[:])"],
    "(),(),(n)",
    **GUFUNC_OPTIONS,
)
def t0_filter(rise: float, fall: float, kernel: np.ndarray) -> None:
    """Kernel of the t0 filter: a falling linear ramp (weighted average) then a flat average.

    rise: length of the ramp (samples); fall: length of the flat part (samples);
    kernel: output taps, length must be rise+fall; the ramp sums to 1, the flat part to -1.
    """
    r = np.float64(rise)
    f = np.float64(fall)
    if r < 0:
        raise DSPFatal("The length of the rise section must be positive")
    if f < 0:
        raise DSPFatal("The length of the fall section must be positive")
    n = len(kernel)
    if n != r + f:
        raise DSPFatal("The length of the output kernel must equal rise+fall")
    n_rise = int(r)
    norm = r * (r + 1.0)
    for i in range(n_rise):
        kernel[i] = 2.0 * (n_rise - i) / norm
    for i in range(n_rise, n):
        kernel[i] = -1.0 / f


@numba.njit(**_NJIT)
def _check_energy_kernel(sigma: float, flat: float, decay: float, n: int) -> tuple:
    """Validate CUSP/ZAC parameters; returns (lt, flat samples) of the kernel's shape."""
    if sigma < 0:
        raise DSPFatal("The curvature parameter must be positive")
    if flat < 0:
        raise DSPFatal("The length of the flat section must be positive")
    if np.floor(flat) != flat:
        raise DSPFatal("The length of the flat section must be an integer")
    if decay < 0:
        raise DSPFatal("The decay constant must be positive")
    if sigma == 0:
        raise DSPFatal("The curvature parameter must be positive")
    if decay == 0:
        raise DSPFatal("The decay constant must be positive")
    lt = int((n - flat) / 2)
    n_flat = int(flat)
    if lt < 0 or lt + n_flat + 1 > n:
        raise DSPFatal("The flat section does not fit in the kernel")
    return lt, n_flat


@numba.njit(**_NJIT)
def _cusp_shape(sigma: float, lt: int, n_flat: int, out: np.ndarray) -> None:
    """sinh rise over lt samples, flat top of n_flat+1 ones, sinh fall (float64 values)."""
    n = len(out)
    top = np.sinh(lt / sigma)
    for i in range(lt):
        out[i] = np.sinh(i / sigma) / top
    for i in range(lt, lt + n_flat + 1):
        out[i] = 1.0
    for i in range(lt + n_flat + 1, n):
        out[i] = np.sinh((n - i) / sigma) / top


@numba.njit(**_NJIT)
def _deconvolve_exp(values: np.ndarray, decay: float, kernel: np.ndarray) -> None:
    """kernel[i] = values[i] - exp(-1/decay)*values[i-1] (float64), like np.convolve 'same'."""
    c = -np.exp(-1.0 / decay)
    prev = np.float64(values[0])
    kernel[0] = values[0]
    for i in range(1, len(values)):
        cur = np.float64(values[i])
        kernel[i] = prev * c + cur
        prev = cur


@lazy_gufunc(
    [
        "void(float32, float32, float32, float32[:])",
        "void(float64, float64, float64, float64[:])",
    ],
    "(),(),(),(n)",
    **GUFUNC_OPTIONS,
)
def cusp_filter(sigma: float, flat: float, decay: float, kernel: np.ndarray) -> None:
    """CUSP kernel (sinh cusp with a flat top) with the exponential decay deconvolved.

    sigma: curvature of the cusp (samples); flat: length of the flat top (integer samples);
    decay: exponential decay constant to deconvolve (samples); kernel: output taps.
    """
    s = np.float64(sigma)
    f = np.float64(flat)
    d = np.float64(decay)
    lt, n_flat = _check_energy_kernel(s, f, d, len(kernel))
    shape = np.empty(len(kernel), np.float64)
    _cusp_shape(s, lt, n_flat, shape)
    # the cusp is rounded to the kernel's dtype before the decay is deconvolved (in place)
    kernel[:] = shape
    _deconvolve_exp(kernel, d, kernel)


@lazy_gufunc(
    [
        "void(float32, float32, float32, float32[:])",
        "void(float64, float64, float64, float64[:])",
    ],
    "(),(),(),(n)",
    **GUFUNC_OPTIONS,
)
def zac_filter(sigma: float, flat: float, decay: float, kernel: np.ndarray) -> None:
    """ZAC kernel: CUSP plus parabolas that make its area zero, exponential decay deconvolved.

    sigma: curvature of the cusp (samples); flat: length of the flat top (integer samples);
    decay: exponential decay constant to deconvolve (samples); kernel: output taps.
    """
    s = np.float64(sigma)
    f = np.float64(flat)
    d = np.float64(decay)
    n = len(kernel)
    lt, n_flat = _check_energy_kernel(s, f, d, n)
    cusp = np.empty(n, np.float64)
    _cusp_shape(s, lt, n_flat, cusp)
    half = lt / 2
    par = np.zeros(n, np.float64)
    for i in range(lt):
        par[i] = (i - half) * (i - half) - half * half
    for i in range(lt + n_flat + 1, n):
        par[i] = (n - i - half) * (n - i - half) - half * half
    area_par = 0.0
    area_cusp = 0.0
    for i in range(n):
        area_par += par[i]
        area_cusp += cusp[i]
    zac = np.empty(n, np.float64)
    for i in range(n):
        zac[i] = cusp[i] + (-par[i] / area_par) * area_cusp
    _deconvolve_exp(zac, d, kernel)


@numba.njit(**_NJIT)
def _block_sum(a: np.ndarray, lo: int, n: int) -> float:
    """numpy's pairwise sum of a[lo:lo+n] for n <= 128 (eight interleaved accumulators)."""
    if n < 8:
        s = 0.0
        for i in range(n):
            s += a[lo + i]
        return s
    r0, r1, r2, r3 = a[lo], a[lo + 1], a[lo + 2], a[lo + 3]
    r4, r5, r6, r7 = a[lo + 4], a[lo + 5], a[lo + 6], a[lo + 7]
    i = 8
    while i < n - n % 8:
        r0 += a[lo + i]
        r1 += a[lo + i + 1]
        r2 += a[lo + i + 2]
        r3 += a[lo + i + 3]
        r4 += a[lo + i + 4]
        r5 += a[lo + i + 5]
        r6 += a[lo + i + 6]
        r7 += a[lo + i + 7]
        i += 8
    s = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        s += a[lo + i]
        i += 1
    return s


@numba.njit(**_NJIT)
def _pairwise_sum(a: np.ndarray) -> float:
    """Sum of a float64 array in numpy's pairwise order (halves of a multiple of 8 above 128).

    The recursion is unrolled onto explicit stacks (numba's disk cache cannot hold
    self-recursive functions).
    """
    lo_stack = np.empty(64, np.int64)
    n_stack = np.empty(64, np.int64)
    step = np.empty(64, np.int64)
    values = np.empty(64, np.float64)
    depth = 0
    n_values = 0
    lo_stack[0], n_stack[0], step[0] = 0, len(a), 0
    while depth >= 0:
        lo, n = lo_stack[depth], n_stack[depth]
        if n <= 128:
            values[n_values] = _block_sum(a, lo, n)
            n_values += 1
            depth -= 1
            continue
        half = n // 2
        half -= half % 8
        if step[depth] == 0:
            step[depth] = 1
            depth += 1
            lo_stack[depth], n_stack[depth], step[depth] = lo, half, 0
        elif step[depth] == 1:
            step[depth] = 2
            depth += 1
            lo_stack[depth], n_stack[depth], step[depth] = lo + half, n - half, 0
        else:
            n_values -= 1
            values[n_values - 1] = values[n_values - 1] + values[n_values]
            depth -= 1
    return values[0]


@lazy_gufunc(
    ["void(float32, float32, float32[:])", "void(float64, float64, float64[:])"],
    "(),(),(n)",
    **GUFUNC_OPTIONS,
)
def gaussian_filter1d(sigma: float, truncate: float, weights: np.ndarray) -> None:
    """Normalised Gaussian kernel of standard deviation sigma, cut at truncate*sigma.

    sigma: standard deviation (samples); truncate: half-width in units of sigma;
    weights: output taps, length must be 2*int(truncate*sigma+0.5)+1; they sum to 1.
    """
    s = np.float64(sigma)
    half = int(np.float64(truncate) * s + 0.5)
    n = 2 * half + 1
    if len(weights) != n:
        raise DSPFatal("The kernel length must be 2*int(truncate*sigma+0.5)+1")
    c = -0.5 / (s * s)
    phi = np.empty(n, np.float64)
    for i in range(n):
        x = i - half
        phi[i] = np.exp(c * np.float64(x * x))
    total = 0.0 + _pairwise_sum(phi)
    for i in range(n):
        weights[i] = phi[i] / total


@lazy_gufunc(["void(float32[:])", "void(float64[:])"], "(n)", **GUFUNC_OPTIONS)
def moving_slope(kernel: np.ndarray) -> None:
    """Kernel whose convolution with a waveform gives its least-squares slope over len(kernel)
    samples (ADC/sample), reversed for convolution.

    Tap j is ((n - j)·n - Σx) / (n·Σx² - (Σx)²) with x = 1..n; like dspeed the numerator is
    first stored in the kernel's dtype, then divided in that dtype.
    """
    n = len(kernel)
    sum_x = n * (n + 1) / 2.0
    sum_x2 = n * (n + 1) * (2 * n + 1) / 6.0
    denom = n * sum_x2 - sum_x * sum_x
    for j in range(n):
        kernel[j] = (n - j) * n - sum_x
    for j in range(n):
        kernel[j] = kernel[j] / cast_like(kernel[j], denom)


@lazy_gufunc(
    ["void(float32, float32[:])", "void(float64, float64[:])"], "(),(n)", **GUFUNC_OPTIONS
)
def step(weight_pos: float, kernel: np.ndarray) -> None:
    """Step kernel: -1 on the first and last quarter of len(kernel) samples, +1 in the middle
    half (sample j with n/4 ≤ j < 3n/4). weight_pos is accepted and, as in dspeed, unused."""
    n = len(kernel)
    for j in range(n):
        kernel[j] = 1.0 if n / 4 <= j < 3 * n / 4 else -1.0
