"""Neural-network layers against numpy: act(x·K + b) row by row, NaN rows, unknown codes."""

from __future__ import annotations

import numpy as np
import pytest

from pygama_ak.dsp.processors import lookup, ml

ACTIVATIONS = {
    "s": lambda x: 1 / (1 + np.exp(-x)),
    "r": lambda x: np.maximum(x, 0),
    "l": lambda x: np.where(x > 0, x, 0.01 * x),
    "m": lambda x: np.log1p(np.exp(x)),  # softplus (dspeed's "softmax")
    "t": np.tanh,
}


def test_interface():
    expected = {
        "dense_layer_no_bias": ("(n),(n,m),()->(m)", ["ffb->f", "ddb->d"]),
        "dense_layer_with_bias": ("(n),(n,m),(m),()->(m)", ["fffb->f", "dddb->d"]),
        "classification_layer_no_bias": ("(n),(n),()->()", ["ffb->f", "ddb->d"]),
        "classification_layer_with_bias": ("(n),(n),(),()->()", ["fffb->f", "dddb->d"]),
        "normalisation_layer": ("(n),(n),(n)->(n)", ["fff->f", "ddd->d"]),
    }
    for name, (signature, types) in expected.items():
        f = lookup(name)
        assert f is getattr(ml, name)
        assert f.signature == signature and f.types == types


@pytest.fixture(scope="module")
def features(p03_waveforms):
    """16 features per real waveform: block means of its rising-edge region, normalised."""
    waves = p03_waveforms[0].astype(np.float64)
    x = waves[:, 3000:5048].reshape(len(waves), 16, 128).mean(axis=2)
    return (x - x.mean(axis=0)) / x.std(axis=0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("code", list("srlmt"))
def test_layers(features, dtype, code):
    rng = np.random.default_rng(2)
    x = features.astype(dtype)
    x[4, 3] = np.nan
    kernel = rng.normal(size=(16, 8)).astype(dtype)
    bias = rng.normal(size=8).astype(dtype)
    weights = rng.normal(size=16).astype(dtype)
    act = ACTIVATIONS[code]
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    char = np.int8(ord(code))
    cases = [
        (ml.dense_layer_no_bias, (kernel, char), act(x.astype(float) @ kernel.astype(float))),
        (ml.dense_layer_with_bias, (kernel, bias, char),
         act(x.astype(float) @ kernel.astype(float) + bias)),
        (ml.classification_layer_no_bias, (weights, char), act(x.astype(float) @ weights)),
        (ml.classification_layer_with_bias, (weights, dtype(0.3), char),
         act(x.astype(float) @ weights + float(dtype(0.3)))),
    ]
    for func, args, expected in cases:
        out = np.zeros(expected.shape, dtype)
        func(x, *args, out)
        assert np.isnan(out[4]).all()
        good = np.arange(len(x)) != 4
        np.testing.assert_allclose(out[good], expected[good], rtol=rtol, atol=rtol)
        np.testing.assert_array_equal(func(x, *args), out)  # allocated output: the same


def test_unknown_activation_and_engine_style_arguments():
    x = np.ones((3, 4), np.float32)
    kernel = np.ones((4, 2), np.float32)
    out = np.zeros((3, 2), np.float32)
    ml.dense_layer_no_bias(x, kernel, np.int8(ord("q")), out)
    assert np.isnan(out).all()  # as dspeed: unknown codes leave NaN
    ml.dense_layer_no_bias(x, kernel, "r", out)  # a string code, per-row kernels, per-row bias
    np.testing.assert_array_equal(out, 4)
    ml.dense_layer_with_bias(x, np.stack([kernel] * 3), np.arange(6.0).reshape(3, 2), "r", out)
    np.testing.assert_array_equal(out, 4 + np.arange(6.0).reshape(3, 2))
    scores = np.zeros(3, np.float32)
    ml.classification_layer_with_bias(x, np.ones(4, np.float32), np.arange(3.0), "r", scores)
    np.testing.assert_array_equal(scores, [4, 5, 6])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_normalisation_layer(features, dtype):
    rng = np.random.default_rng(4)
    x = features.astype(dtype)
    x[2, 0] = np.nan
    means = rng.normal(size=16).astype(dtype)
    variances = rng.uniform(0.5, 3, size=16).astype(dtype)
    out = ml.normalisation_layer(x, means, variances)
    np.testing.assert_array_equal(out, (x - means) / np.sqrt(variances))  # correctly rounded ops
    assert np.isnan(out[2, 0]) and not np.isnan(out[2, 1:]).any()
