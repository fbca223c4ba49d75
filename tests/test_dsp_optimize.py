"""optimize_1pz / optimize_2pz: the fitted constants flatten the real waveforms' tails."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import lfilter

from pygama_ak.dsp.errors import DSPFatal
from pygama_ak.dsp.processors import lookup, optimize

BEG, END = 4500, 8000


def tail_slope(y: np.ndarray, taus: tuple[float, ...], frac: float = 0.0) -> float:
    """Fitted slope on [BEG, END) of y after the pole-zero correction: one pole,
    out = lfilter([1, -c], [1, -1]), or two poles a, b weighted by frac (the first two
    samples copied)."""
    if len(taus) == 1:
        c = np.exp(-1 / float(taus[0]))
        out = lfilter([1, -c], [1, -1], y)
    else:
        a, b = np.exp(-1 / float(taus[0])), np.exp(-1 / float(taus[1]))
        d1 = frac * b - frac * a - b - 1
        d2 = -(frac * b - frac * a - b)
        out = y[:END].copy()
        for i in range(2, END):
            out[i] = y[i] - (a + b) * y[i - 1] + a * b * y[i - 2] - d1 * out[i - 1] - d2 * out[i - 2]
    x = np.arange(BEG, END)
    return np.polyfit(x, out[BEG:END], 1)[0]


@pytest.fixture(scope="module")
def tails(p03_waveforms):
    waves, _ = p03_waveforms
    rows = [0, 1, 2, 4, 5, 7, 8]  # ordinary pulses (no pile-up in the tail)
    w = waves[rows].astype(np.float32)
    return w, w[:, :3000].mean(axis=1).astype(np.float32)


def test_interface():
    assert lookup("optimize_1pz") is optimize.optimize_1pz
    assert optimize.optimize_1pz.signature == "(n),(),(),(),()->()"
    assert optimize.optimize_1pz.types == ["fffff->f", "ddddd->d"]
    assert lookup("optimize_2pz") is optimize.optimize_2pz
    assert optimize.optimize_2pz.signature == "(n),(),(),(),(),(),(),(),()->(),(),()"
    assert optimize.optimize_2pz.types == ["fffffffff->fff", "ddddddddd->ddd"]


def test_1pz_zeroes_the_tail_slope(tails):
    waves, base = tails
    taus = optimize.optimize_1pz(waves, base, np.float32(BEG), np.float32(END), np.float32(27000))
    assert taus.dtype == np.float32
    for w, b, tau in zip(waves, base, taus):
        y = w.astype(np.float64) - b
        assert 20000 < tau < 60000
        # a zero of the slope: it changes sign across tau, and is tiny compared to 1 % off
        tau = float(tau)
        assert tail_slope(y, (tau * (1 - 1e-5),)) * tail_slope(y, (tau * (1 + 1e-5),)) <= 0
        assert abs(tail_slope(y, (tau,))) < 1e-3 * abs(tail_slope(y, (0.99 * tau,)))


def test_2pz_flattens_the_tail(tails):
    waves, base = tails
    f32 = np.float32
    tau1, tau2, frac = optimize.optimize_2pz(waves[:3], base[:3], f32(BEG), f32(END),
                                             f32(100000), f32(1), f32(27000), f32(2000), f32(0.02))
    for w, b, t1, t2, fr in zip(waves, base, tau1, tau2, frac):
        assert 0 <= t1 <= 100000 and 0 <= t2 <= 100000 and 0 <= fr <= 1
        y = w.astype(np.float64) - b
        start = abs(tail_slope(y, (27000.0, 2000.0), 0.02))
        assert abs(tail_slope(y, (float(t1), float(t2)), float(fr))) < 1e-2 * start


def test_nan_and_fatal():
    w = np.linspace(0, 1, 100)
    f1 = optimize.optimize_1pz
    assert np.isnan(f1(np.where(np.arange(100) == 3, np.nan, w), 0.0, 10.0, 90.0, 50.0))
    for k in range(4):
        args = [0.0, 10.0, 90.0, 50.0]
        args[k] = np.nan
        assert np.isnan(f1(w, *args))
    outs = optimize.optimize_2pz(w, 0.0, 10.0, 90.0, 1e5, 1.0, np.nan, 10.0, 0.1)
    assert np.isnan(outs).all()
    for beg, end, msg in [(10.5, 90, "not an integer"), (10, 101, "out of range"),
                          (-1, 90, "out of range")]:
        with pytest.raises(DSPFatal, match=msg):
            f1(w, 0.0, float(beg), float(end), 50.0)
        with pytest.raises(DSPFatal, match=msg):
            optimize.optimize_2pz(w, 0.0, float(beg), float(end), 1e5, 1.0, 50.0, 10.0, 0.1)


def test_block_processors_through_the_engine(tails):
    """get (a gufunc) feeding optimize_1pz (a block processor) per-row and constant
    arguments from a config: the same as direct calls."""
    from test_dsp_chain import chain_for, raw_table

    waves, _ = tails
    n, samples = waves.shape
    config = {"outputs": ["first", "tau"], "processors": {
        "first": {"function": "get", "module": "dspeed.processors",
                  "args": ["waveform", 10, "first"]},
        "tau": {"function": "optimize_1pz", "module": "dspeed.processors",
                "args": ["waveform", "first", BEG, END, 27000, "tau"]},
    }}
    chain = chain_for(config, raw_table(n=n, samples=samples))
    raw = waves.astype(np.uint16)  # the real ADC values
    out = chain.run_block(chain.allocate(n), {"waveform": raw, "waveform__t0": np.zeros(n)}, n)
    np.testing.assert_array_equal(out["first"], raw[:, 10])
    # the engine picks the float64 loop (integer constants do not cast safely to float32)
    assert out["tau"].dtype == np.float64
    expected = optimize.optimize_1pz(raw.astype(float), raw[:, 10].astype(float), float(BEG),
                                     float(END), 27000.0)
    np.testing.assert_array_equal(out["tau"], expected)
    assert (out["tau"] > 20000).all()
