"""upsampler against a plain Python re-statement."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pygama_ak.dsp.errors import DSPFatal
from pygama_ak.dsp.processors import lookup, upsampler


def reference(w: np.ndarray, factor: float, m: int) -> np.ndarray:
    """Sample i copied to int(factor) outputs starting at int(i*factor - floor(factor/2))."""
    out = np.full(m, np.nan, w.dtype)
    if np.isnan(w).any():
        return out
    for i, value in enumerate(w):
        first = int(i * factor - math.floor(factor / 2))
        for j in range(first, first + int(factor)):
            if 0 <= j < m:
                out[j] = value
    return out


def test_registered():
    assert lookup("upsampler") is upsampler.upsampler
    assert upsampler.upsampler.signature == "(n),(),(m)"
    assert upsampler.upsampler.types == ["fff->", "ddd->"]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    ("factor", "n", "m"),
    [
        (16, 300, 4784),
        (16, 300, 4800),
        (3, 10, 40),
        (2.5, 10, 30),
        (1, 10, 10),
        (0.5, 10, 10),
        (4, 10, 20),
    ],
)
def test_upsampler(dtype, factor, n, m):
    rng = np.random.default_rng(n + m)
    w = rng.normal(size=(2, n)).astype(dtype)
    out = np.zeros((2, m), dtype)
    upsampler.upsampler(w, dtype(factor), out)
    for row in range(2):
        np.testing.assert_array_equal(out[row], reference(w[row], float(dtype(factor)), m))


def test_icpc_layout():
    """300 current samples ×16 into 4784: the first and last 8 copies are cut."""
    w = np.arange(300, dtype=np.float32)
    out = np.zeros(4784, np.float32)
    upsampler.upsampler(w, np.float32(16), out)
    assert (out[:8] == 0).all() and (out[8:24] == 1).all() and (out[-8:] == 299).all()


def test_upsampler_nan_and_fatal():
    w = np.ones((2, 5), np.float32)
    w[1, 2] = np.nan
    out = np.zeros((2, 9), np.float32)  # 5 samples x2, centred: outputs -1..8
    upsampler.upsampler(w, np.float32(2), out)
    assert np.isnan(out[1]).all() and not np.isnan(out[0]).any()
    for bad in (0.0, -1.0, np.nan):
        with pytest.raises(DSPFatal):
            upsampler.upsampler(w[0], np.float32(bad), out[0])


# ----------------------------------------------------------------- interpolating_upsampler
def segment(j: int, factor: float, n: int, bounds) -> int:
    """The first input sample i whose interval (bounds(i) = its first output past it) holds
    output j; the last sample when none does."""
    return next((i for i in range(n) if j < bounds(i)), n - 1)


def interpolating_ref(w: np.ndarray, mode: str, m: int) -> np.ndarray:
    """Output j sits at input time j/u, u = m/n: 'i' input samples at multiples of u, zeros
    between; 'n'/'f'/'c' nearest, previous, next input sample; 'l' linear."""
    t = w.dtype.type
    n = len(w)
    u = m / n
    out = np.zeros(m, w.dtype)
    for j in range(m):
        if mode == "i":
            out[j] = w[j // int(u)] if j % int(u) == 0 else 0
        elif mode == "n":
            out[j] = w[segment(j, u, n, lambda i: math.ceil(u * (i + 0.5)))]
        elif mode == "f":
            out[j] = w[segment(j, u, n, lambda i: math.ceil(u * (i + 1)))]
        elif mode == "c":
            out[j] = w[segment(j, u, n, lambda i: math.floor(u * i) + 1)]
        else:
            i = segment(j, u, n, lambda i: math.ceil(u * (i + 1)))
            diff = t(w[min(i + 1, n - 1)] - w[i])
            out[j] = float(w[i]) + (j / u - i) * float(diff)
    return out


def test_interpolating_interface():
    f = lookup("interpolating_upsampler")
    assert f is upsampler.interpolating_upsampler
    assert f.signature == "(n),(),(m)" and f.types == ["fbf->", "dbd->"]


@pytest.fixture(scope="module")
def rising_edges(p03_waveforms):
    """200 samples around each real rising edge."""
    waves = p03_waveforms[0].astype(np.float64)
    tmax = np.argmax(np.diff(waves, axis=1), axis=1)
    start = np.clip(tmax - 100, 0, waves.shape[1] - 200)
    return np.stack([w[s : s + 200] for w, s in zip(waves, start)])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("mode", list("infcl"))
@pytest.mark.parametrize("m", [1600, 1337, 250])
def test_interpolating_simple_modes_real(rising_edges, dtype, mode, m):
    if mode == "i" and m != 1600:
        return
    w = rising_edges[:8].astype(dtype)
    out = np.zeros((len(w), m), dtype)
    upsampler.interpolating_upsampler(w, np.int8(ord(mode)), out)
    for r in range(len(w)):
        np.testing.assert_array_equal(out[r], interpolating_ref(w[r], mode, m))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("m", [1600, 1337])
def test_interpolating_splines_match_scipy(rising_edges, dtype, m):
    """'h': cubic Hermite with np.gradient slopes; 's': natural cubic spline; both extrapolate
    the last segment. As dspeed, 's' fills segment k's outputs ceil(u·k)..ceil(u·(k+1)) from
    the last segment down, so with a non-integer factor the first output past each sample is
    the previous segment's polynomial. Equal up to rounding (formulas evaluated differently)."""
    from scipy.interpolate import CubicHermiteSpline, CubicSpline

    w = rising_edges[:8].astype(dtype)
    u = m / w.shape[1]
    times = np.arange(m) / u
    scale = np.abs(w).max()
    tol = 1e-12 if dtype == np.float64 else 2e-7
    for mode in "hs":
        out = np.zeros((len(w), m), dtype)
        upsampler.interpolating_upsampler(w, np.int8(ord(mode)), out)
        for r in range(len(w)):
            x = np.arange(w.shape[1])
            y = w[r].astype(np.float64)
            if mode == "h":
                spline = CubicHermiteSpline(x, y, np.gradient(y))
                expected = spline(times)
            else:
                spline = CubicSpline(x, y, bc_type="natural")
                seg = [segment(j, u, w.shape[1] - 1, lambda k: math.ceil(u * (k + 1)) + 1)
                       for j in range(m)]
                expected = [np.polyval(spline.c[:, k], s - k) for k, s in zip(seg, times)]
            np.testing.assert_allclose(out[r], expected, rtol=0, atol=tol * scale * 4)


def test_interpolating_nan_and_fatal():
    f = upsampler.interpolating_upsampler
    w = np.arange(5, dtype=np.float32)
    out = np.zeros(10, np.float32)
    bad = w.copy()
    bad[2] = np.nan
    f(bad, np.int8(ord("l")), out)
    assert np.isnan(out).all()
    with pytest.raises(DSPFatal, match="integer multiple"):
        f(w, np.int8(ord("i")), np.zeros(12, np.float32))
    with pytest.raises(DSPFatal, match="Unrecognized"):
        f(w, np.int8(ord("x")), out)
