"""pole_zero (block processor) and double_pole_zero against step-by-step re-statements."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pygama_ak.dsp.errors import DSPFatal
from pygama_ak.dsp.processors import lookup
from pygama_ak.dsp.processors.baseline import bl_subtract
from pygama_ak.dsp.processors.pole_zero import (
    convolve_damped_oscillator,
    convolve_exp,
    double_pole_zero,
    inject_damped_oscillation,
    pole_zero,
)

TAU = 27460.5  # samples, the icpc config's default


@pytest.fixture(scope="module")
def blsub(p03_waveforms):
    waves, bases = p03_waveforms
    return bl_subtract(waves, bases.astype(np.float32))


def pz_reference(x: np.ndarray, tau: float) -> np.ndarray:
    """y[0] = x[0]; y[i] = y[i−1] + x[i] − x[i−1]·exp(−1/τ), in float64, stored in x's type."""
    c = math.exp(-1 / float(tau))
    out = np.empty_like(x)
    acc = float(x[0])
    out[0] = x[0]
    for i in range(1, len(x)):
        acc = acc + float(x[i]) - float(x[i - 1]) * c
        out[i] = acc
    return out


def dpz_reference(x: np.ndarray, tau1: float, tau2: float, frac: float) -> np.ndarray:
    a, b = math.exp(-1 / float(tau1)), math.exp(-1 / float(tau2))
    f = float(frac)
    d1, d2 = f * b - f * a - b - 1, -(f * b - f * a - b)
    n1, n2 = -(a + b), a * b
    out = np.empty_like(x)
    y = [float(x[0]), float(x[1])]
    out[:2] = x[:2]
    for i in range(2, len(x)):
        y2 = float(x[i]) + n1 * float(x[i - 1]) + n2 * float(x[i - 2]) - d1 * y[1] - d2 * y[0]
        out[i] = y2
        y = [y[1], y2]
    return out


def test_interface():
    assert lookup("pole_zero") is pole_zero
    assert pole_zero.signature == "(n),()->(n)" and pole_zero.types == ["ff->f", "dd->d"]
    assert pole_zero.is_block_processor
    assert lookup("double_pole_zero") is double_pole_zero and double_pole_zero.is_block_processor
    assert double_pole_zero.signature == "(n),(),(),()->(n)"
    assert double_pole_zero.types == ["ffff->f", "dddd->d"]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("nrows", [1, 4, 7, 16])
def test_random_bit_exact(dtype, nrows):
    rng = np.random.default_rng(nrows)
    x = (np.cumsum(rng.normal(size=(nrows, 300)), axis=1) * 50).astype(dtype)
    out = pole_zero(x, dtype(400.3))
    assert out.dtype == dtype
    for r in range(nrows):
        np.testing.assert_array_equal(out[r], pz_reference(x[r], dtype(400.3)))


def test_real_waveforms(blsub):
    out = np.empty_like(blsub)
    assert pole_zero(blsub, TAU, out) is None
    for r in (0, 13, 29, 59):
        np.testing.assert_array_equal(out[r], pz_reference(blsub[r], np.float32(TAU)))
    # the decay is removed: the tail of a clean pulse drops by >5 % before, <2 % after
    for r in (0, 1, 5, 7):
        t_max = np.argmax(blsub[r])
        for wave, small in ((blsub[r], False), (out[r], True)):
            early, late = wave[t_max + 500 : t_max + 1500].mean(), wave[-1000:].mean()
            assert (abs(early - late) < 0.02 * early) == small
    out64 = pole_zero(blsub[:5].astype(np.float64), TAU)
    np.testing.assert_allclose(out64, out[:5], rtol=1e-6, atol=1e-3)


def test_exponential_becomes_step():
    n = np.arange(2000)
    x = np.where(n >= 100, 1000.0 * np.exp(-(n - 100) / 300.0), 0.0)
    out = pole_zero(x, 300.0)
    np.testing.assert_allclose(out[100:], 1000.0, rtol=1e-9)
    assert not out[:100].any()


def test_per_row_tau_and_nan_rows():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(9, 50)).astype(np.float32)
    taus = np.linspace(10, 90, 9).astype(np.float32)
    taus[6] = np.nan
    x[2, 30] = np.nan
    out = pole_zero(x, taus)
    assert np.isnan(out[[2, 6]]).all()
    for r in (0, 1, 3, 4, 5, 7, 8):
        np.testing.assert_array_equal(out[r], pz_reference(x[r], taus[r]))


def test_generated_nan_is_fatal():
    x = np.ones((5, 20), np.float32)
    x[3, 10] = np.inf  # inf − inf inside the recursion
    with pytest.raises(DSPFatal, match="produced nans"):
        pole_zero(x, np.float32(100))


def test_short_and_zero_rows():
    # partial-first-block rows are zeros: fine
    assert not pole_zero(np.zeros((3, 8), np.float32), np.float32(50)).any()
    np.testing.assert_array_equal(pole_zero(np.array([[2.5]]), 9.0), [[2.5]])
    assert pole_zero(np.zeros((2, 0)), 9.0).shape == (2, 0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("nrows", [1, 3, 4, 9])
def test_double_pole_zero_exact(dtype, nrows):
    rng = np.random.default_rng(4)
    x = (np.cumsum(rng.normal(size=(nrows, 400)), axis=1) * 10).astype(dtype)
    args = (dtype(27460.5), dtype(2000), dtype(0.02))
    out = double_pole_zero(x, *args)
    for r in range(nrows):
        np.testing.assert_array_equal(out[r], dpz_reference(x[r], *args))


def test_double_pole_zero_real_and_definition(blsub):
    out = double_pole_zero(blsub[:4], np.float32(TAU), np.float32(2000), np.float32(0.02))
    for r in range(4):
        np.testing.assert_array_equal(
            out[r], dpz_reference(blsub[r], np.float32(TAU), np.float32(2000), np.float32(0.02))
        )
    # a two-exponential decay becomes a step
    n = np.arange(3000.0) - 10
    x = np.where(n >= 0, 1000 * (0.7 * np.exp(-n / 800) + 0.3 * np.exp(-n / 90)), 0.0)
    out = double_pole_zero(x, 800.0, 90.0, 0.3)
    np.testing.assert_allclose(out[10:], 1000, rtol=1e-8)
    assert not out[:10].any()


def test_double_pole_zero_nan_and_fatal():
    x = np.ones((3, 10), np.float32)
    x[1, 5] = np.nan
    out = double_pole_zero(x, np.float32(100), np.float32(10), np.float32(0.1))
    assert np.isnan(out[1]).all() and not np.isnan(out[[0, 2]]).any()
    assert np.isnan(double_pole_zero(x[0], np.float32(np.nan), np.float32(10), np.float32(0))).all()
    with pytest.raises(DSPFatal, match="larger than 3"):
        double_pole_zero(np.ones(3), 100.0, 10.0, 0.1)
    taus = np.array([100, np.nan, 100, 100, 100], np.float32)
    out = double_pole_zero(np.ones((5, 10), np.float32), taus, np.float32(10), np.float32(0.1))
    assert np.isnan(out[1]).all() and not np.isnan(out[[0, 2, 3, 4]]).any()
    assert np.isnan(double_pole_zero(np.array([1.0, np.nan, 2.0]), 100.0, 10.0, 0.1)).all()


# ----------------------------------------------------------------------------- convolve_exp & co
def iir_reference(
    x: np.ndarray, a: list[float], b: list[float], init_in: float, init_out: float
) -> np.ndarray:
    """y[i] = (Σ a[j]·x[i−j] − Σ_{j≥1} b[j]·y[i−j]) / b[0] in float64;
    x[<0] = init_in, y[<0] = init_out."""
    ys: list[float] = []
    for i in range(len(x)):
        acc = 0.0
        for j in range(len(a)):
            acc += a[j] * (float(x[i - j]) if j <= i else float(init_in))
        for j in range(1, len(b)):
            acc -= b[j] * (ys[i - j] if j <= i else float(init_out))
        ys.append(acc / b[0])
    return np.array(ys).astype(x.dtype)


def test_shaper_interfaces():
    for func, sig, types in (
        (convolve_exp, "(n),()->(n)", ["ff->f", "dd->d"]),
        (convolve_damped_oscillator, "(n),(),(),()->(n)", ["fddd->f", "dddd->d"]),
        (inject_damped_oscillation, "(n),(),(),(),()->(n)", ["fdddd->f", "ddddd->d"]),
    ):
        assert lookup(func.__name__) is func and func.is_block_processor
        assert func.signature == sig and func.types == types


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_convolve_exp(blsub, dtype):
    x = blsub[:3, :1200].astype(dtype)
    tau = dtype(37.3)
    out = convolve_exp(x, tau)
    rc = math.exp(-1 / float(tau))
    for r in range(3):
        expected = iir_reference(x[r], [1.0], [1.0, -rc], x[r, 0], x[r, 0])
        np.testing.assert_array_equal(out[r], expected)
    # definition: the convolution with exp(−i/τ) (peak 1), here from a zero start
    z = np.zeros(400)
    z[50:60] = 1.0
    kernel = np.exp(-np.arange(400) / 20.0)
    np.testing.assert_allclose(convolve_exp(z, 20.0), np.convolve(z, kernel)[:400], atol=1e-12)
    # τ = 0: no memory; NaN row and NaN τ
    np.testing.assert_array_equal(convolve_exp(x, dtype(0)), x)
    y = x.copy()
    y[1, 7] = np.nan
    out = convolve_exp(y, np.array([10, 20, np.nan], dtype))
    assert np.isnan(out[1:]).all() and not np.isnan(out[0]).any()
    with pytest.raises(DSPFatal):
        convolve_exp(np.ones(2), 5.0)


def test_damped_oscillator(blsub):
    x = blsub[3:5, :900]
    tau, omega, phase = 80.0, 0.3, 0.2
    out = convolve_damped_oscillator(x, tau, omega, phase)
    rc = math.exp(-1 / tau)
    a = [math.cos(phase), -rc * math.cos(omega - phase)]
    b = [1.0, -2 * rc * math.cos(omega), rc * rc]
    for r in range(2):
        expected = iir_reference(x[r], a, b, x[r, 0], x[r, 0])
        np.testing.assert_allclose(out[r], expected, rtol=1e-6, atol=1e-3)
    # definition: the kernel exp(−i/τ)·cos(ω·i + φ)
    z = np.zeros(500)
    z[20] = 1.0
    i = np.arange(480)
    np.testing.assert_allclose(convolve_damped_oscillator(z, tau, omega, phase)[20:],
                               np.exp(-i / tau) * np.cos(omega * i + phase), atol=1e-12)
    assert np.isnan(convolve_damped_oscillator(z, tau, np.nan, phase)).all()


def test_inject_damped_oscillation(blsub):
    x = blsub[5:7, :900].astype(np.float64)
    tau, omega, phase, frac = 60.0, 0.25, 0.4, 0.3
    out = inject_damped_oscillation(x, tau, omega, phase, frac)
    rc, cw, cp, cwp = math.exp(-1 / tau), math.cos(omega), math.cos(phase), math.cos(omega - phase)
    a = [1 + frac * cp, -(2 * rc * cw + frac * cp + frac * rc * cwp), rc * (rc + frac * cwp)]
    b = [1.0, -2 * rc * cw, rc * rc]
    for r in range(2):
        expected = iir_reference(x[r], a, b, x[r, 0], 0.0)
        np.testing.assert_allclose(out[r], expected, rtol=1e-12, atol=1e-9)
    # definition: a unit step gains the damped oscillation frac·exp(−i/τ)·cos(ω·i + φ)
    z = np.zeros(300)
    z[10:] = 1.0
    i = np.arange(290)
    got = inject_damped_oscillation(z, tau, omega, phase, frac)
    oscillation = frac * np.exp(-i / tau) * np.cos(omega * i + phase)
    np.testing.assert_allclose(got[10:], 1 + oscillation, atol=1e-12)
    assert not got[:10].any()
    for bad in (-0.1, 1.5, np.nan):
        with pytest.raises(DSPFatal, match="frac"):
            inject_damped_oscillation(z, tau, omega, phase, bad)
