"""optimize_nnls against scipy.optimize.nnls, on templates cut from real pulses."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import nnls

from pygama_ak.dsp.processors import lookup
from pygama_ak.dsp.processors import nnls as nnls_module


def test_interface():
    f = lookup("optimize_nnls")
    assert f is nnls_module.optimize_nnls
    assert f.signature == "(m,n),(m),(),(),(),(),(n)"
    assert f.types == ["ffff?ff->", "dddf?fd->"]


@pytest.fixture(scope="module")
def problems(p03_waveforms):
    """Per waveform: 10 shifted copies of its own normalised rising edge as columns, and a
    non-negative mix of three of them (plus a little noise) as the target."""
    waves = p03_waveforms[0].astype(np.float64)
    rng = np.random.default_rng(8)
    a_rows, b_rows = [], []
    for w in waves[:12]:
        edge = int(np.clip(np.argmax(np.diff(w)), 100, len(w) - 300))
        pulse = w[edge - 100 : edge + 300] - w[edge - 100 : edge - 50].mean()
        pulse /= np.abs(pulse).max()
        columns = np.stack([np.roll(pulse, 15 * k) for k in range(10)], axis=1)
        weights = np.zeros(10)
        weights[rng.choice(10, 3, replace=False)] = rng.uniform(0.5, 3, 3)
        a_rows.append(columns)
        b_rows.append(columns @ weights + rng.normal(scale=0.01, size=400))
    return np.array(a_rows), np.array(b_rows)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_matches_scipy(problems, dtype):
    a, b = (p.astype(dtype) for p in problems)
    x = np.zeros((len(a), 10), dtype)
    nnls_module.optimize_nnls(a, b, dtype(1000), np.float32(1e-10), False, np.float32(0), x)
    tol = 1e-3 if dtype == np.float32 else 1e-8
    for r in range(len(a)):
        expected, _ = nnls(a[r].astype(np.float64), b[r].astype(np.float64))
        np.testing.assert_allclose(x[r], expected, rtol=tol, atol=tol)
        assert (x[r] >= 0).all()


def test_singular_and_iteration_limit():
    """As dspeed, "singular" is |det| < float64 eps in absolute terms, so a well-conditioned
    but small-valued system counts as singular when allow_singularity is set."""
    f = nnls_module.optimize_nnls
    a = 1e-5 * np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    b = 1e-5 * np.array([1.0, 1.0, 3.0])
    x = np.zeros(2)
    f(a, b, 100.0, np.float32(0), True, np.float32(0), x)
    assert np.isnan(x).all()  # det(aᵀa) = 3e-20
    f(a, b, 100.0, np.float32(0), False, np.float32(0), x)
    np.testing.assert_allclose(x, nnls(a, b)[0], rtol=1e-9)
    a = np.array([[1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])
    b = np.array([2.0, 1.0, -1.0])  # unconstrained x = (1.67, -0.67): the constraint is active
    f(a, b, 100.0, np.float32(1e-8), False, np.float32(0), x)
    np.testing.assert_allclose(x, nnls(a, b)[0], atol=1e-12)
    a = np.array([[1.0, 1.0], [1.0, 1.1], [0.0, 0.5]])
    b = np.array([2.0, 1.0, 1.0])
    f(a, b, 0.0, np.float32(1e-8), False, np.float32(0), x)  # maxiter 0: stop after one pass
    k = int(np.argmax(b @ a))  # the column with the largest gradient, fitted alone
    expected = np.zeros(2)
    expected[k] = (a[:, k] @ b) / (a[:, k] @ a[:, k])
    np.testing.assert_allclose(x, expected, rtol=1e-12)
    f(a, b, 100.0, np.float32(1e-8), False, np.float32(0), x)
    np.testing.assert_allclose(x, nnls(a, b)[0], atol=1e-12)
