"""recursive_filter and the iir/notch/peak factories against plain-Python and scipy restatements."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.signal as sg
from test_dsp_chain import chain_for, raw_table

from pygama_ak.dsp.errors import ChainError, DSPFatal
from pygama_ak.dsp.processors import lookup
from pygama_ak.dsp.processors.iir_filters import (
    iir_filter,
    notch_filter,
    peak_filter,
    recursive_filter,
)
from pygama_ak.dsp.units import Quantity


def recursion(
    x: np.ndarray, a: np.ndarray, b: np.ndarray, init_in: float, init_out: float
) -> np.ndarray:
    """y[i] = (Σ a[j]·x[i−j] − Σ_{j≥1} b[j]·y[i−j]) / b[0] in float64;
    x[<0] = init_in, y[<0] = init_out."""
    ys: list[float] = []
    for i in range(len(x)):
        acc = 0.0
        for j in range(len(a)):
            acc += float(a[j]) * (float(x[i - j]) if j <= i else float(init_in))
        for j in range(1, len(b)):
            acc -= float(b[j]) * (ys[i - j] if j <= i else float(init_out))
        ys.append(acc / float(b[0]))
    return np.array(ys).astype(x.dtype)


@pytest.fixture(scope="module")
def waves(p03_waveforms):
    return p03_waveforms[0][:4, :1500]


def test_interface():
    assert lookup("recursive_filter") is recursive_filter
    assert recursive_filter.signature == "(n),(p),(q),(),()->(n)"
    assert recursive_filter.types == ["fddff->f", "ddddd->d"]
    for name in ("iir_filter", "notch_filter", "peak_filter"):
        assert callable(lookup(name))
    proc = iir_filter(0.2, 4)
    assert proc.signature == "(n)->(n)" and proc.types == ["f->f", "d->d"]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_recursive_filter_matches_restatement(dtype):
    rng = np.random.default_rng(2)
    x = (np.cumsum(rng.normal(size=(3, 400)), axis=1) * 20).astype(dtype)
    a, b = np.array([0.3, -0.1, 0.05]), np.array([1.2, -0.4, 0.1, 0.02])
    out = recursive_filter(x, a, b, dtype(1.5), dtype(-2.0))
    assert out.dtype == dtype
    for r in range(3):
        np.testing.assert_array_equal(out[r], recursion(x[r], a, b, dtype(1.5), dtype(-2.0)))


def test_recursive_filter_nan_and_fatal():
    x = np.ones((2, 10), np.float32)
    x[1, 3] = np.nan
    out = recursive_filter(x, np.ones(1), np.array([1.0, -0.5]), x[:, 0], x[:, 0])
    assert np.isnan(out[1]).all() and not np.isnan(out[0]).any()
    assert np.isnan(recursive_filter(x[0], np.array([np.nan]), np.ones(2), 0.0, 0.0)).all()
    assert np.isnan(recursive_filter(x[0], np.ones(1), np.ones(2), np.nan, 0.0)).all()
    with pytest.raises(DSPFatal):
        recursive_filter(x[0], np.ones(1), np.ones(10), 0.0, 0.0)  # len(w) <= len(b)
    with pytest.raises(DSPFatal):
        recursive_filter(x[0], np.ones(1), np.ones(0), 0.0, 0.0)


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [
        ((0.2, 4), {}),
        ((0.1, 3, 1, 40), {"ftype": "ellip"}),
        (([0.1, 0.3], 2), {"btype": "bandpass"}),
        ((0.3, 2), {"btype": "highpass", "ftype": "cheby1", "rp": 1}),
    ],
)
def test_iir_filter_real_waveforms(waves, args, kwargs):
    x = waves.astype(np.float32)
    out = iir_filter(*args, **kwargs)(x)
    a, b = sg.iirfilter(
        args[1],
        args[0],
        btype=kwargs.get("btype", "lowpass"),
        ftype=kwargs.get("ftype", "butter"),
        rp=kwargs.get("rp", args[2] if len(args) > 2 else None),
        rs=args[3] if len(args) > 3 else None,
    )
    gain = sum(a) / sum(b)
    for r in range(2):
        np.testing.assert_array_equal(
            out[r], recursion(x[r], a, b, x[r, 0], np.float32(gain * np.float64(x[r, 0])))
        )
        # independent check: scipy's lfilter started in the steady state of a constant x[0] history
        zi = sg.lfilter_zi(a, b) * float(x[r, 0])
        ref, _ = sg.lfilter(a, b, x[r].astype(np.float64), zi=zi)
        np.testing.assert_allclose(out[r], ref, rtol=1e-4, atol=1e-2)


def test_notch_and_peak_filters(waves):
    x = waves.astype(np.float64)
    a, b = sg.iirnotch(0.2, 10.0)
    np.testing.assert_array_equal(
        notch_filter(0.2, 0.02)(x)[0], recursion(x[0], a, b, x[0, 0], x[0, 0])
    )
    a, b = sg.iirpeak(0.2, 10.0)
    np.testing.assert_array_equal(peak_filter(0.2, 0.02)(x)[1], recursion(x[1], a, b, x[1, 0], 0.0))
    # a notch removes its frequency; a peak keeps only it
    t = np.arange(3000)
    tone = np.sin(np.pi * 0.2 * t)[None, :]
    assert np.abs(notch_filter(0.2, 0.02)(tone)[0, 2000:]).max() < 1e-3
    np.testing.assert_allclose(peak_filter(0.2, 0.02)(tone)[0, 2000:], tone[0, 2000:], atol=1e-3)


def test_units_and_fatal():
    f_samp = Quantity.of(62.5, "MHz")  # 16 ns
    direct = iir_filter(Quantity.of(15, "MHz"), 4, f_samp=f_samp)
    a, _ = direct.coefficients
    np.testing.assert_allclose(a, sg.iirfilter(4, 0.48, btype="lowpass")[0], rtol=1e-12)
    with pytest.raises(DSPFatal):
        iir_filter(1.2, 4)
    with pytest.raises(DSPFatal):
        iir_filter([0.1, 0.2], 4)  # lowpass needs one value
    with pytest.raises(DSPFatal):
        iir_filter(0.1, 4, btype="bandpass")
    with pytest.raises(DSPFatal):
        iir_filter(0.1, 4, btype="sideways")
    with pytest.raises(DSPFatal):
        notch_filter(Quantity.of(40, "MHz"), Quantity.of(1, "MHz"), f_samp)


def run_chain(config: dict, n: int = 3):
    table = raw_table(n=n)
    chain = chain_for(config, table)
    values = np.asarray(table.waveform["values"].to_numpy(), dtype=np.float32)
    out = chain.run_block(chain.allocate(n), {"waveform": values, "waveform__t0": np.zeros(n)}, n)
    return values, out


@pytest.mark.parametrize(
    ("function", "init_args", "expected"),
    [
        ("iir_filter", ["15*MHz", 4, "waveform"], lambda: iir_filter(0.48, 4)),
        (
            "iir_filter",
            ["15*MHz", 2, "f_samp=waveform", "btype=highpass"],
            lambda: iir_filter(0.48, 2, btype="highpass"),
        ),
        ("notch_filter", ["15*MHz", "1.5*MHz", "waveform"], lambda: notch_filter(0.48, 0.048)),
        ("peak_filter", ["15*MHz", "1.5*MHz", "waveform"], lambda: peak_filter(0.48, 0.048)),
    ],
)
def test_factories_in_the_chain(function, init_args, expected):
    config = {
        "outputs": ["wf_f"],
        "processors": {
            "wf_f": {
                "function": function,
                "module": "dspeed.processors",
                "init_args": init_args,
                "args": ["waveform", "wf_f"],
            }
        },
    }
    values, out = run_chain(config)
    np.testing.assert_allclose(out["wf_f"], expected()(values), rtol=1e-6, atol=1e-3)


def test_factory_error_in_the_chain():
    config = {
        "outputs": ["wf_f"],
        "processors": {
            "wf_f": {
                "function": "iir_filter",
                "module": "dspeed.processors",
                "init_args": ["15*MHz"],
                "args": ["waveform", "wf_f"],
            }
        },
    }
    with pytest.raises(ChainError):
        run_chain(config)
