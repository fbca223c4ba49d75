"""Pulse injectors against numpy versions of their pulse shapes, on real waveforms."""

from __future__ import annotations

import numpy as np
import pytest

from pygama_ak.dsp.processors import lookup, pulse_injector

NAMES = ["inject_sig_pulse", "inject_exp_pulse", "inject_gumbel", "inject_general_logistic"]


def sig_pulse(n, t0, rt, a, decay):
    t = np.arange(n)
    k = 4 * np.log(99) / rt
    return a / (1 + np.exp(-k * (t - (t0 + rt / 2)))) * np.exp(-(t - t0) / decay)


def exp_pulse(n, t0, rt, a, decay):
    t = np.arange(n)
    rising = a * np.exp((t - t0 - rt) / rt) * np.exp(-(t - t0) / decay)
    falling = a * np.exp(-(t - t0) / decay)
    return np.where(t <= t0, rising, np.where(t > t0 + rt, falling, 0.0))  # nothing in between


def gumbel(n, a, t0, beta):
    t = np.arange(n)
    z = (t - t0 - 2 * beta) / beta
    inside = (t >= int(max(t0, 0))) & (t < int(min(t0 + 10 * beta, n)))  # ends truncated
    return np.where(inside, a / beta * np.exp(-(z + np.exp(-z))), 0.0)


def general_logistic(n, a, t0, rt, q, v, decay):
    t = np.arange(n)
    k = 4 * np.log(99) / rt
    return a / (1 + q * np.exp(-k * (t - t0 - rt / 2))) ** (1 / v) * np.exp(-(t - t0) / decay)


def test_interface():
    sigs = {"inject_sig_pulse": 4, "inject_exp_pulse": 4, "inject_gumbel": 3,
            "inject_general_logistic": 6}
    for name, params in sigs.items():
        f = lookup(name)
        assert f is getattr(pulse_injector, name)
        assert f.signature == "(n)" + ",()" * params + "->(n)"
        assert f.types == ["f" * (params + 1) + "->f", "d" * (params + 1) + "->d"]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_pulses_on_real_waveforms(p03_waveforms, dtype):
    waves = p03_waveforms[0][:12].astype(dtype)
    n = waves.shape[1]
    rng = np.random.default_rng(3)
    t0 = np.round(rng.uniform(-50, n - 100, 12)).astype(dtype)
    t0[:3] += dtype(0.25)  # fractional start times
    rt = rng.uniform(5, 60, 12).astype(dtype)
    amp = rng.uniform(10, 5000, 12).astype(dtype)
    decay = rng.uniform(100, 20000, 12).astype(dtype)
    rtol = 1e-6 if dtype == np.float32 else 1e-12
    cases = [
        (pulse_injector.inject_sig_pulse, (t0, rt, amp, decay), sig_pulse),
        (pulse_injector.inject_exp_pulse, (t0, rt, amp, decay), exp_pulse),
        (pulse_injector.inject_gumbel, (amp, t0, rt), gumbel),
        (pulse_injector.inject_general_logistic, (amp, t0, rt, dtype(0.7), dtype(1.3), decay),
         general_logistic),
    ]
    for func, args, shape in cases:
        with np.errstate(over="ignore"):  # exp overflows far from the pulse: 0 or inf, as numba
            out = func(waves, *args)
        assert out.dtype == dtype
        for r in range(12):
            params = [float(np.broadcast_to(a, 12)[r]) for a in args]
            with np.errstate(over="ignore"):
                expected = waves[r].astype(np.float64) + shape(n, *params)
            np.testing.assert_allclose(out[r], expected, rtol=rtol, atol=0)


def test_nan_inputs_give_nan():
    w = np.zeros(50)
    bad = w.copy()
    bad[10] = np.nan
    for name, params in [("inject_sig_pulse", 4), ("inject_exp_pulse", 4), ("inject_gumbel", 3),
                         ("inject_general_logistic", 6)]:
        f = lookup(name)
        good = [10.0] * params
        assert not np.isnan(f(w, *good)).any()
        assert np.isnan(f(bad, *good)).all()
        for k in range(params):
            args = list(good)
            args[k] = np.nan
            assert np.isnan(f(w, *args)).all(), (name, k)


def test_through_the_engine(p03_waveforms):
    """inject_sig_pulse, pad, interpolated_time_point_thresh and multi_time_point_thresh from a
    config, on real waveforms; the same as calling the kernels directly."""
    from test_dsp_chain import chain_for, raw_table

    waves = p03_waveforms[0][:6].astype(np.float32)
    n, samples = waves.shape
    config = {"outputs": ["wf_inj", "wf_pad", "tp_l", "tps"], "processors": {
        "wf_inj": {"function": "inject_sig_pulse", "module": "dspeed.processors",
                   "args": ["waveform", 1000, 20, 3000, 5000, "wf_inj"]},
        "wf_pad": {"function": "pad", "module": "dspeed.processors",
                   "args": ["wf_inj", 4000, 100, 0, "15000", "wf_pad(8192, 'f')"]},
        "tp_l": {"function": "interpolated_time_point_thresh", "module": "dspeed.processors",
                 "args": ["wf_pad", "16500", 0, 1, "'l'", "tp_l"]},
        "tps": {"function": "multi_time_point_thresh", "module": "dspeed.processors",
                "args": ["wf_pad", "thresholds", 1200, 1, "'i'", "tps"]},
        "thresholds": {"function": "pad", "module": "dspeed.processors",
                       "args": ["wf_pad", 0, 1, "16000", "17000", "thresholds(2, 'f')"]},
    }}
    chain = chain_for(config, raw_table(n=n, samples=samples))
    f32 = np.float32
    with np.errstate(over="ignore"):  # exp overflows far before the pulse (giving 0)
        out = chain.run_block(chain.allocate(n), {"waveform": waves, "waveform__t0": np.zeros(n)}, n)
        inj = pulse_injector.inject_sig_pulse(waves, f32(1000), f32(20), f32(3000), f32(5000))
    np.testing.assert_array_equal(out["wf_inj"], inj)
    padded = np.full((n, 8192), 15000, f32)
    padded[:, :100] = 0
    padded[:, 100:4100] = inj[:, :4000]
    np.testing.assert_array_equal(out["wf_pad"], padded)
    tp = lookup("interpolated_time_point_thresh")(padded, f32(16500), f32(0), 1, np.int8(ord("l")))
    np.testing.assert_array_equal(out["tp_l"], tp)
    assert ((out["tp_l"] > 1100) & (out["tp_l"] < 1200)).sum() >= 5  # the injected rise
    thresholds = np.array([16000, 17000], f32)
    tps = lookup("multi_time_point_thresh")(padded, thresholds, f32(1200), f32(1), np.int8(ord("i")))
    np.testing.assert_array_equal(out["tps"], tps)
