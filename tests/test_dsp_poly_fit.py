"""poly_fit (factory), poly_diff and poly_exp_rms against numpy's polyfit and loop restatements."""

from __future__ import annotations

import math

import numpy as np
import pytest
from test_dsp_chain import chain_for, raw_table

from pygama_ak.dsp.processors import lookup
from pygama_ak.dsp.processors.poly_fit import poly_diff, poly_exp_rms, poly_fit


def residual_stats(x: np.ndarray, pars: np.ndarray, exp: bool) -> tuple[float, float]:
    """dspeed's quirky "mean" Σ r[i]/(i+1) and rms √(Σ r²/(n−1)), rounded to x's type per step."""
    cast = x.dtype.type
    mean = rms = cast(0)
    for i in range(len(x)):
        model = 0.0
        for j in range(len(pars)):
            model += float(pars[j]) * i**j
        r = float(x[i]) - (math.exp(model) if exp else model)
        mean = cast(float(mean) + r / (i + 1))
        rms = cast(float(rms) + r * r)
    rms = cast(float(rms) / (len(x) - 1))
    return mean, cast(np.sqrt(rms))


def test_interface():
    assert lookup("poly_fit") is poly_fit
    fitter = poly_fit(100, 2)
    assert (
        fitter.signature == "(n),(m)"
        and fitter.types == ["ff->", "dd->"]
        and fitter.is_block_processor
    )
    for func in (poly_diff, poly_exp_rms):
        assert lookup(func.__name__) is func
        assert func.signature == "(n),(m)->(),()" and func.types == ["ff->ff", "dd->dd"]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("deg", [1, 2, 3])
def test_fit_matches_polyfit(p03_waveforms, dtype, deg):
    x = p03_waveforms[0][:4, :750].astype(dtype)
    pars = np.zeros((4, deg + 1), dtype)
    poly_fit(750, deg)(x, pars)
    i = np.arange(750)
    for r in range(4):
        expected = np.polynomial.polynomial.polyfit(i, x[r].astype(np.float64), deg)
        model = np.polynomial.polynomial.polyval(i, pars[r].astype(np.float64))
        np.testing.assert_allclose(
            model, np.polynomial.polynomial.polyval(i, expected), atol=1e-2, rtol=1e-5
        )
    # an exact polynomial is recovered
    true = np.array([3.0, -0.5, 0.01, 1e-5][: deg + 1])
    exact = np.polynomial.polynomial.polyval(np.arange(200.0), true)
    np.testing.assert_allclose(poly_fit(200, deg)(exact), true, rtol=1e-6, atol=1e-9)


def test_residuals_real_waveforms(p03_waveforms):
    x = p03_waveforms[0][:3, :1000].astype(np.float32)
    pars = poly_fit(1000, 2)(x)
    mean, rms = poly_diff(x, pars)
    logs = np.log(x)
    lpars = poly_fit(1000, 1)(logs)
    emean, erms = poly_exp_rms(x, lpars)
    for r in range(3):
        assert (mean[r], rms[r]) == residual_stats(x[r], pars[r], exp=False)
        assert (emean[r], erms[r]) == pytest.approx(
            residual_stats(x[r], lpars[r], exp=True), rel=1e-6
        )
    # rms is the sample standard deviation of the residuals
    resid = x[0].astype(np.float64) - np.polynomial.polynomial.polyval(
        np.arange(1000), pars[0].astype(np.float64)
    )
    assert rms[0] == pytest.approx(np.std(resid, ddof=1), rel=1e-4)


def test_nan():
    x = np.ones((2, 20))
    x[1, 3] = np.nan
    pars = poly_fit(20, 1)(x)
    assert np.isnan(pars[1]).all() and pars[0] == pytest.approx([1, 0], abs=1e-12)
    for func in (poly_diff, poly_exp_rms):
        mean, rms = func(x, pars)
        assert np.isnan([mean[1], rms[1]]).all() and not np.isnan([mean[0], rms[0]]).any()
        assert np.isnan(func(x[0], np.array([np.nan, 1.0]))).all()


def test_poly_fit_in_the_chain():
    config = {
        "outputs": ["pars"],
        "processors": {
            "pars": {
                "function": "poly_fit",
                "module": "dspeed.processors",
                "init_args": ["len(waveform)", 2],
                "args": ["waveform", "pars(shape=3, dtype='float32')"],
            }
        },
    }
    table = raw_table(n=3)
    chain = chain_for(config, table)
    values = np.asarray(table.waveform["values"].to_numpy(), dtype=np.float32)
    out = chain.run_block(chain.allocate(3), {"waveform": values, "waveform__t0": np.zeros(3)}, 3)
    np.testing.assert_array_equal(out["pars"], poly_fit(800, 2)(values))
