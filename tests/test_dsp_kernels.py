"""Kernel generators (t0, CUSP, ZAC, Gaussian) against numpy re-statements of their formulas."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pygama_ak.dsp.errors import DSPFatal
from pygama_ak.dsp.processors import kernels, lookup


def test_registered_under_dspeed_names():
    for name in ("t0_filter", "cusp_filter", "zac_filter", "gaussian_filter1d"):
        assert lookup(name) is getattr(kernels, name)
    assert kernels.t0_filter.signature == "(),(),(n)"
    assert kernels.t0_filter.types == ["fff->", "ddd->"]
    assert kernels.cusp_filter.signature == "(),(),(),(n)"
    assert kernels.zac_filter.types == ["ffff->", "dddd->"]
    assert kernels.gaussian_filter1d.signature == "(),(),(n)"


# ------------------------------------------------------------------------------------ t0
def t0_reference(rise: float, fall: float, n: int) -> np.ndarray:
    """Ramp 2(R-i)/(r(r+1)) for i < R = int(rise), then -1/fall (float64)."""
    r = int(rise)
    ramp = [2.0 * (r - i) / (rise * (rise + 1.0)) for i in range(r)]
    return np.array(ramp + ([-1.0 / fall] * (n - r) if n > r else []))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("rise", "fall"), [(8.0, 125.0), (8.5, 124.5), (1.0, 0.0), (0.0, 4.0)])
def test_t0_filter(dtype, rise, fall):
    n = int(rise + fall)
    out = np.zeros(n, dtype)
    kernels.t0_filter(dtype(rise), dtype(fall), out)
    np.testing.assert_array_equal(out, t0_reference(rise, fall, n).astype(dtype))


def test_t0_filter_icpc_kernel_sums():
    out = np.zeros(133, np.float32)
    kernels.t0_filter(np.float32(8), np.float32(125), out)  # 128 ns and 2 us at 16 ns
    assert math.isclose(out[:8].sum(), 1.0, rel_tol=1e-6)
    assert math.isclose(out[8:].sum(), -1.0, rel_tol=1e-6)


@pytest.mark.parametrize(
    ("rise", "fall", "n"), [(-1.0, 5.0, 4), (3.0, -1.0, 2), (3.0, 5.0, 9), (np.nan, 5.0, 5)]
)
def test_t0_filter_fatal(rise, fall, n):
    with pytest.raises(DSPFatal):
        kernels.t0_filter(rise, fall, np.zeros(n))


# --------------------------------------------------------------------------- CUSP and ZAC
def cusp_shape(sigma: float, flat: int, n: int) -> tuple[np.ndarray, int]:
    lt = int((n - flat) / 2)
    i = np.arange(n, dtype=float)
    shape = np.ones(n)
    shape[:lt] = np.sinh(i[:lt] / sigma) / np.sinh(lt / sigma)
    tail = slice(lt + flat + 1, n)
    shape[tail] = np.sinh((n - i[tail]) / sigma) / np.sinh(lt / sigma)
    return shape, lt


def deconvolve(values: np.ndarray, decay: float) -> np.ndarray:
    return np.convolve(values, [1.0, -np.exp(-1.0 / decay)], "same")


def cusp_reference(sigma: float, flat: int, decay: float, n: int, dtype) -> np.ndarray:
    shape, _ = cusp_shape(sigma, flat, n)
    return deconvolve(shape.astype(dtype).astype(float), decay).astype(dtype)


def zac_reference(sigma: float, flat: int, decay: float, n: int, dtype) -> np.ndarray:
    cusp, lt = cusp_shape(sigma, flat, n)
    i = np.arange(n, dtype=float)
    par = np.zeros(n)
    par[:lt] = (i[:lt] - lt / 2) ** 2 - (lt / 2) ** 2
    tail = slice(lt + flat + 1, n)
    par[tail] = (n - i[tail] - lt / 2) ** 2 - (lt / 2) ** 2
    area_par = math.fsum(par)
    area_cusp = math.fsum(cusp)
    return deconvolve(cusp - par / area_par * area_cusp, decay).astype(dtype)


PARAMS = [
    (1250.0, 187.0, 28125.0, 5792),
    (20.5, 3.0, 1000.3, 101),
    (5.0, 0.0, 50.0, 30),
    (3.0, 4.0, 80.0, 11),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("sigma", "flat", "decay", "n"), PARAMS)
def test_cusp_filter(dtype, sigma, flat, decay, n):
    out = np.zeros(n, dtype)
    kernels.cusp_filter(dtype(sigma), dtype(flat), dtype(decay), out)
    ref = cusp_reference(sigma, int(flat), decay, n, dtype)
    # numpy's SIMD sinh/exp may differ from libm's by an ulp in float64 (the shape is O(1))
    np.testing.assert_allclose(out, ref, rtol=0, atol=4 * np.finfo(dtype).eps)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("sigma", "flat", "decay", "n"), PARAMS)
def test_zac_filter(dtype, sigma, flat, decay, n):
    out = np.zeros(n, dtype)
    kernels.zac_filter(dtype(sigma), dtype(flat), dtype(decay), out)
    ref = zac_reference(sigma, int(flat), decay, n, dtype)
    np.testing.assert_allclose(out, ref, rtol=0, atol=8 * np.finfo(dtype).eps)


def test_zac_has_zero_area_before_deconvolution():
    out = np.zeros(5792)
    kernels.zac_filter(1250.0, 187.0, 1e-3, out)  # exp(-1/decay) = 0: nothing deconvolved
    assert abs(out.sum()) < 1e-9 * np.abs(out).sum()


@pytest.mark.parametrize("name", ["cusp_filter", "zac_filter"])
@pytest.mark.parametrize(
    ("sigma", "flat", "decay", "n"),
    [
        (-1.0, 3.0, 10.0, 20),
        (1.0, -3.0, 10.0, 20),
        (1.0, 2.5, 10.0, 20),
        (1.0, 3.0, -10.0, 20),
        (1.0, 20.0, 10.0, 20),
    ],
)
def test_energy_kernels_fatal(name, sigma, flat, decay, n):
    with pytest.raises(DSPFatal):
        getattr(kernels, name)(sigma, flat, decay, np.zeros(n))


# ----------------------------------------------------------------------------- Gaussian
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    ("sigma", "truncate"), [(1.0, 4.0), (2.5, 4.0), (0.7, 3.0), (20.0, 4.0), (0.1, 1.0)]
)
def test_gaussian_filter1d(dtype, sigma, truncate):
    half = int(truncate * sigma + 0.5)
    x = np.arange(-half, half + 1)
    phi = np.exp(-0.5 / sigma**2 * x**2)
    ref = (phi / phi.sum()).astype(dtype)
    out = np.zeros(2 * half + 1, dtype)
    kernels.gaussian_filter1d(dtype(sigma), dtype(truncate), out)
    np.testing.assert_allclose(out, ref, rtol=4 * np.finfo(dtype).eps, atol=0)
    np.testing.assert_array_equal(out, out[::-1])
    assert math.isclose(out.astype(float).sum(), 1.0, rel_tol=1e-6)


def test_gaussian_filter1d_sipm_kernel_exact():
    out = np.zeros(9)
    kernels.gaussian_filter1d(1.0, 4.0, out)
    x = np.arange(-4, 5)
    phi = np.exp(-0.5 * x**2)
    np.testing.assert_array_equal(out, phi / phi.sum())


def test_gaussian_filter1d_fatal_on_length():
    with pytest.raises(DSPFatal):
        kernels.gaussian_filter1d(1.0, 4.0, np.zeros(8))


# ------------------------------------------------------------------------- moving_slope, step
def test_moving_slope_and_step_interface():
    assert lookup("moving_slope") is kernels.moving_slope
    assert kernels.moving_slope.signature == "(n)" and kernels.moving_slope.types == ["f->", "d->"]
    assert lookup("step") is kernels.step
    assert kernels.step.signature == "(),(n)" and kernels.step.types == ["ff->", "dd->"]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", [1, 2, 12, 101])
def test_moving_slope(dtype, n):
    """Least-squares slope weights over x = 1..n, reversed (numerator rounded to the kernel's
    dtype, then divided in it, as dspeed's numpy code)."""
    kernel = np.zeros(n, dtype)
    kernel_ref = np.array([(n - j) * n - n * (n + 1) / 2 for j in range(n)], dtype)
    sum_x, sum_x2 = n * (n + 1) / 2, n * (n + 1) * (2 * n + 1) / 6
    denom = n * sum_x2 - sum_x**2
    with np.errstate(invalid="ignore", divide="ignore"):
        expected = kernel_ref / dtype(denom)
    with np.errstate(invalid="ignore"):  # n = 1: 0/0, NaN as dspeed
        lookup("moving_slope")(kernel)
    np.testing.assert_array_equal(kernel, expected)
    if n > 1:  # convolving a ramp of slope 3 gives 3
        ramp = 3.0 * np.arange(300)
        np.testing.assert_allclose(np.convolve(ramp, kernel.astype(float), "valid"), 3.0, rtol=1e-5)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", [1, 4, 10, 17])
def test_step(dtype, n):
    kernel = np.full(n, 7, dtype)
    lookup("step")(dtype(16), kernel)  # weight_pos is unused, as in dspeed
    x = np.arange(n)
    expected = np.where((x >= n / 4) & (x < 3 * n / 4), 1.0, -1.0)
    np.testing.assert_array_equal(kernel, expected.astype(dtype))
