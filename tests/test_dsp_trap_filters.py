"""trap_filter, trap_norm, asym_trap_filter and trap_pickoff against re-statements."""

from __future__ import annotations

import numpy as np
import pytest

from pygama_ak.dsp.errors import DSPFatal
from pygama_ak.dsp.processors import lookup
from pygama_ak.dsp.processors.baseline import bl_subtract
from pygama_ak.dsp.processors.pole_zero import pole_zero
from pygama_ak.dsp.processors.trap_filters import (
    asym_trap_filter,
    trap_filter,
    trap_norm,
    trap_pickoff,
)

I32 = np.int32


@pytest.fixture(scope="module")
def wf_pz(p03_waveforms):
    waves, bases = p03_waveforms
    blsub = bl_subtract(waves, bases.astype(np.float32))
    return pole_zero(blsub, np.float32(27460.5))


def get(x: np.ndarray, i: int) -> float:
    return x[i] if i >= 0 else x.dtype.type(0)


def norm_reference(x: np.ndarray, rise: int, flat: int) -> np.ndarray:
    """out[i] = out[i−1] + (x[i] − x[i−r] − x[i−r−f] + x[i−2r−f]) / r: the difference in x's
    type left to right (absent terms skipped), divided in float64, sum rounded to x's type."""
    kind = x.dtype.type
    out = np.empty_like(x)
    acc = 0.0
    for i in range(len(x)):
        d = x[i]
        for j, sign in ((i - rise, -1), (i - rise - flat, -1), (i - 2 * rise - flat, 1)):
            if j >= 0:
                d = kind(d - x[j]) if sign < 0 else kind(d + x[j])
        acc = (
            float(kind(np.float64(d) / rise)) if i == 0 else float(kind(acc + np.float64(d) / rise))
        )
        out[i] = acc
    return out


def filter_reference(x: np.ndarray, rise: int, flat: int) -> np.ndarray:
    """The unnormalised recursion, every operation in x's type, left to right."""
    kind = x.dtype.type
    out = np.empty_like(x)
    acc = x[0]
    out[0] = acc
    for i in range(1, len(x)):
        acc = kind(acc + x[i])
        for j, sign in ((i - rise, -1), (i - rise - flat, -1), (i - 2 * rise - flat, 1)):
            if j >= 0:
                acc = kind(acc - x[j]) if sign < 0 else kind(acc + x[j])
        out[i] = acc
    return out


def asym_reference(x: np.ndarray, rise: int, flat: int, fall: int) -> np.ndarray:
    kind = x.dtype.type
    out = np.empty_like(x)
    acc = 0.0
    for i in range(len(x)):
        lead = x[i] if i < rise else kind(x[i] - x[i - rise])
        u = np.float64(lead) / rise
        b, c = i - rise - flat, i - rise - flat - fall
        if b < 0:
            v = 0.0
        elif c < 0:
            v = np.float64(x[b]) / fall
        else:
            v = np.float64(kind(x[b] - x[c])) / fall
        acc = float(kind(u)) if i == 0 else float(kind(acc + u - v))
        out[i] = acc
    return out


def window_definition(x: np.ndarray, rise: int, flat: int, fall: int) -> np.ndarray:
    """Mean of the last rise samples minus mean of the fall samples ending flat+rise earlier
    (samples before the start count as zero), in float64."""
    x = np.atleast_2d(x).astype(np.float64)
    c = np.concatenate([np.zeros((len(x), 1)), np.cumsum(x, axis=1)], axis=1)
    i = np.arange(x.shape[1]) + 1

    def window_sum(end, length):
        return c[:, np.clip(end, 0, None)] - c[:, np.clip(end - length, 0, None)]

    return window_sum(i, rise) / rise - window_sum(i - rise - flat, fall) / fall


def test_interface():
    assert lookup("trap_norm") is trap_norm and trap_norm.is_block_processor
    assert trap_norm.signature == "(n),(),()->(n)" and trap_norm.types == ["fii->f", "dii->d"]
    assert asym_trap_filter.types == ["fiii->f", "diii->d"]
    assert lookup("trap_filter") is trap_filter and trap_filter.is_block_processor
    assert trap_filter.signature == "(n),(),()->(n)" and trap_filter.types == ["fii->f", "dii->d"]
    assert lookup("trap_pickoff").types == ["fiif->f", "diid->d"]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("rise", "flat"), [(20, 7), (1, 0), (3, 0), (50, 100), (100, 40)])
def test_trap_norm_and_filter_exact(dtype, rise, flat):
    rng = np.random.default_rng(rise + flat)
    x = (np.cumsum(rng.normal(size=(6, 240)), axis=1) * 30).astype(dtype)
    out = trap_norm(x, rise, flat)
    raw = trap_filter(x, I32(rise), I32(flat))
    assert out.dtype == raw.dtype == dtype
    for r in range(len(x)):
        np.testing.assert_array_equal(out[r], norm_reference(x[r], rise, flat))
        np.testing.assert_array_equal(raw[r], filter_reference(x[r], rise, flat))
    np.testing.assert_allclose(out, window_definition(x, rise, flat, rise), atol=1e-2)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("rise", "flat", "fall"), [(8, 4, 125), (5, 0, 1), (10, 3, 7)])
def test_asym_exact(dtype, rise, flat, fall):
    rng = np.random.default_rng(rise)
    x = (np.cumsum(rng.normal(size=(5, 300)), axis=1) * 30).astype(dtype)
    out = asym_trap_filter(x, rise, flat, fall)
    for r in range(len(x)):
        np.testing.assert_array_equal(out[r], asym_reference(x[r], rise, flat, fall))
    np.testing.assert_allclose(out, window_definition(x, rise, flat, fall), atol=1e-2)


def test_real_config_parameters(wf_pz):
    # icpc: trap_norm 10 µs / 3.008 µs at 16 ns = 625 / 188, 4 µs / 96 ns = 250 / 6; asym 8/4/125
    etrap = trap_norm(wf_pz, 625, 188)
    for r in (0, 31):
        np.testing.assert_array_equal(etrap[r], norm_reference(wf_pz[r], 625, 188))
    scale = np.abs(wf_pz).max()
    sym = window_definition(wf_pz, 625, 188, 625)
    np.testing.assert_allclose(etrap, sym, atol=2e-4 * scale)
    np.testing.assert_allclose(
        trap_norm(wf_pz, 250, 6), window_definition(wf_pz, 250, 6, 250), atol=2e-4 * scale
    )
    atrap = asym_trap_filter(wf_pz, 8, 4, 125)
    np.testing.assert_array_equal(atrap[7], asym_reference(wf_pz[7], 8, 4, 125))
    np.testing.assert_allclose(atrap, window_definition(wf_pz, 8, 4, 125), atol=2e-4 * scale)
    raw = trap_filter(wf_pz, I32(625), I32(188))
    np.testing.assert_allclose(raw / 625, etrap, atol=1e-3 * scale)
    # float64 path, slice input (a view into the full buffer), out given in place
    out = np.empty((5, 6692))
    trap_norm(wf_pz[:5, 1500:].astype(np.float64), 625, 188, out)
    np.testing.assert_allclose(
        out, window_definition(wf_pz[:5, 1500:], 625, 188, 625), atol=1e-9 * scale
    )


def test_nan_rows_and_fatal():
    x = np.ones((6, 100), np.float32)
    x[2, 50] = np.nan
    for out in (
        trap_norm(x, 10, 5),
        asym_trap_filter(x, 10, 5, 7),
        trap_filter(x, I32(10), I32(5)),
    ):
        assert np.isnan(out[2]).all() and not np.isnan(out[[0, 1, 3, 4, 5]]).any()
    for args, msg in [((-1, 5), "rise section"), ((3, -5), "flat section"), ((50, 5), "wider")]:
        with pytest.raises(DSPFatal, match=msg):
            trap_norm(x[:1], *args)
        with pytest.raises(DSPFatal, match=msg):
            trap_filter(x[:1], I32(args[0]), I32(args[1]))
    with pytest.raises(DSPFatal, match="fall section"):
        asym_trap_filter(x[:1], 3, 5, -1)
    with pytest.raises(DSPFatal, match="wider"):
        asym_trap_filter(x[:1], 30, 50, 30)
    # a NaN row returns before the widths are checked, as in dspeed
    assert np.isnan(trap_norm(x[2:3], 50, 5)).all()
    # zero rows (a partial first block) are processed without complaint
    assert not trap_norm(np.zeros((4, 100), np.float32), 10, 5).any()


def test_per_row_widths():
    rng = np.random.default_rng(11)
    x = (np.cumsum(rng.normal(size=(9, 120)), axis=1) * 30).astype(np.float32)
    rise = np.array([5, 5, 5, 5, 7, 5, 5, 5, 3], np.int32)
    flat = np.array([2, 2, 2, 2, 2, 2, 9, 2, 0], np.int32)
    norm, raw = trap_norm(x, rise, flat), trap_filter(x, rise, flat)
    for r in range(len(x)):
        np.testing.assert_array_equal(norm[r], norm_reference(x[r], rise[r], flat[r]))
        np.testing.assert_array_equal(raw[r], filter_reference(x[r], rise[r], flat[r]))
    # a NaN row with widths that do not fit is NaN-filled, not fatal, and its neighbours fine
    rise[2], x[2, 3] = 200, np.nan
    raw = trap_filter(x, rise, flat)
    assert np.isnan(raw[2]).all()
    np.testing.assert_array_equal(raw[3], filter_reference(x[3], 5, 2))


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_rise_zero_and_inf():
    x = np.arange(40, dtype=np.float32).reshape(2, 20)
    # dspeed's recursion reads the NaN-filled last sample when rise = 0: all NaN
    assert np.isnan(trap_norm(x, 0, 3)).all()
    assert np.isnan(trap_filter(x, I32(0), I32(0))).all()
    assert np.isnan(asym_trap_filter(x, 0, 2, 3)).all()
    # ... and holds the NaN of the arithmetic (0/0: sign bit set on x86), not np.nan
    zero = np.zeros(1, np.float32)
    arithmetic_nan = (zero / zero).view(np.uint32)[0]
    assert (trap_norm(x, 0, 3).view(np.uint32) == arithmetic_nan).all()
    assert (
        trap_filter(x, I32(0), I32(3)).view(np.uint32) == np.float32(np.nan).view(np.uint32)
    ).all()
    x[1, 5] = np.inf  # inf is data: propagates without NaN-filling the row
    out = trap_norm(x, 3, 2)
    np.testing.assert_array_equal(out[1], norm_reference(x[1], 3, 2))


def pickoff_reference(x: np.ndarray, rise: int, flat: int, t: float) -> float:
    if not (len(x) > np.ceil(t) and np.floor(t) >= 2 * rise + flat):
        return np.nan
    s = int(np.floor(t))
    frac = float(t) - s
    lead = sum(float(x[i]) for i in range(s, s - rise, -1))
    trail = sum(float(x[i]) for i in range(s - rise - flat, s - 2 * rise - flat, -1))
    if frac > 0:
        lead += frac * float(x.dtype.type(x[s + 1] - x[s - rise + 1]))
        trail += frac * float(x.dtype.type(x[s - rise - flat + 1] - x[s - 2 * rise - flat + 1]))
    return (lead - trail) / rise


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_trap_pickoff(dtype):
    rng = np.random.default_rng(9)
    x = (np.cumsum(rng.normal(size=(4, 200)), axis=1) * 10).astype(dtype)
    for t in [30.0, 31.5, 100.25, 199.0, 198.5, 29.0, 199.5, -1.0]:
        out = trap_pickoff(x, I32(10), I32(10), dtype(t))
        expected = [dtype(pickoff_reference(row, 10, 10, dtype(t))) for row in x]
        np.testing.assert_array_equal(out, expected)
    # it is trap_norm at integer t, and interpolates linearly in between
    full = trap_norm(x, 10, 10).astype(np.float64)
    np.testing.assert_allclose(
        trap_pickoff(x, I32(10), I32(10), dtype(120)), full[:, 120], rtol=1e-5, atol=1e-3
    )
    mid = trap_pickoff(x, I32(10), I32(10), dtype(120.25))
    np.testing.assert_allclose(mid, 0.75 * full[:, 120] + 0.25 * full[:, 121], rtol=1e-5, atol=1e-3)
    assert np.isnan(trap_pickoff(x[0], I32(10), I32(10), dtype(np.nan)))
    with pytest.raises(DSPFatal, match="wider"):
        trap_pickoff(x[0], I32(100), I32(10), dtype(150))


def test_trap_pickoff_real(wf_pz):
    t = np.float32(3500.5)
    out = trap_pickoff(wf_pz, I32(625), I32(188), t)
    expected = [np.float32(pickoff_reference(row, 625, 188, t)) for row in wf_pz[:5]]
    np.testing.assert_array_equal(out[:5], expected)
