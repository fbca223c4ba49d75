"""linear_slope_fit (block processor) and linear_slope_diff against plain re-statements."""

from __future__ import annotations

import numpy as np
import pytest

from pygama_ak.dsp.processors import lookup
from pygama_ak.dsp.processors.baseline import bl_subtract
from pygama_ak.dsp.processors.fits import linear_slope_diff, linear_slope_fit


@pytest.fixture(scope="module")
def blsub(p03_waveforms):
    """Baseline-subtracted real p03 waveforms (float32, 8192 samples)."""
    waves, bases = p03_waveforms
    return bl_subtract(waves, bases.astype(np.float32))


def _running(x: np.ndarray, kind: type) -> tuple:
    mean = kind(0)
    ssq = kind(0)
    sum_y = sum_xy = 0.0
    for i, v in enumerate(x):
        t = kind(v - mean)
        mean = kind(np.float64(mean) + np.float64(t) / (i + 1))
        ssq = kind(ssq + kind(t * kind(v - mean)))
        sum_y += float(v)
        sum_xy += float(v) * i
    return mean, ssq, sum_y, sum_xy


def fit_reference(x: np.ndarray) -> tuple:
    """dspeed's definition, step by step in numpy scalars: running (Welford) mean and sum of
    squares in x's type (mean update in float64), float64 regression sums."""
    kind = x.dtype.type
    n = len(x)
    sum_x, sum_x2 = n * (n - 1) // 2, (n - 1) * n * (2 * n - 1) // 6
    with np.errstate(all="ignore"):
        mean, ssq, sum_y, sum_xy = _running(x, kind)
        std = np.sqrt(kind(np.float64(ssq) / np.float64(n - 1)))
        slope = kind(np.float64(n * sum_xy - sum_x * sum_y) / np.float64(n * sum_x2 - sum_x**2))
        intercept = kind((sum_y - sum_x * np.float64(slope)) / np.float64(n))
    return mean, std, slope, intercept


def check_rows(x: np.ndarray, outs: tuple) -> None:
    for r in range(x.shape[0]):
        expected = fit_reference(x[r])
        got = tuple(o[r] for o in outs)
        np.testing.assert_array_equal(np.array(got), np.array(expected), err_msg=f"row {r}")


def test_interface():
    assert lookup("linear_slope_fit") is linear_slope_fit
    assert linear_slope_fit.signature == "(n)->(),(),(),()"
    assert linear_slope_fit.types == ["f->ffff", "d->dddd"]
    assert linear_slope_fit.is_block_processor
    assert lookup("linear_slope_diff").types == ["fff->ff", "ddd->dd"]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("nrows", [1, 3, 8, 13, 16])
def test_random_rows_bit_exact(dtype, nrows):
    rng = np.random.default_rng(nrows)
    x = (rng.normal(size=(nrows, 257)) * 30 + np.linspace(0, 5, 257)).astype(dtype)
    outs = linear_slope_fit(x)
    assert all(o.dtype == dtype and o.shape == (nrows,) for o in outs)
    check_rows(x, outs)


def test_definition_against_numpy():
    rng = np.random.default_rng(5)
    t = np.arange(700)
    x = 3.0 + 0.02 * t + rng.normal(size=(9, 700))
    mean, std, slope, intercept = linear_slope_fit(x)
    np.testing.assert_allclose(mean, x.mean(axis=1), rtol=1e-12)
    np.testing.assert_allclose(std, x.std(axis=1, ddof=1), rtol=1e-10)
    fit = np.polynomial.polynomial.polyfit(t, x.T, 1)
    np.testing.assert_allclose(slope, fit[1], rtol=1e-8)
    np.testing.assert_allclose(intercept, fit[0], rtol=1e-8)


def test_real_baseline_and_tail(blsub):
    # the icpc config: wf_blsub[0:750] and a (non-contiguous) tail slice
    outs = [np.empty(len(blsub), np.float32) for _ in range(4)]
    linear_slope_fit(blsub[:, :750], *outs)
    check_rows(blsub[:, :750], outs)
    tail = blsub[:6, 1500:]
    check_rows(tail, linear_slope_fit(tail))
    check_rows(tail[:, ::3], linear_slope_fit(tail[:, ::3]))
    mean, std, _, _ = linear_slope_fit(blsub[:, :750].astype(np.float64))
    np.testing.assert_allclose(std, blsub[:, :750].std(axis=1, ddof=1), rtol=1e-4)


def test_nan_row_only_and_inf_rows():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(12, 100)).astype(np.float32)
    x[2, 50] = np.nan  # inside the first group of eight
    x[9, 0] = np.nan  # in the remainder
    x[4, 10] = np.inf  # inf is data, not NaN: computed like dspeed (NaN or inf results)
    outs = linear_slope_fit(x)
    for r in (2, 9):
        assert all(np.isnan(o[r]) for o in outs)
    check_rows(x[[0, 1, 3, 4, 5, 11]], tuple(o[[0, 1, 3, 4, 5, 11]] for o in outs))


def test_tiny_lengths():
    x = np.array([[4.0]], dtype=np.float32)
    mean, std, slope, intercept = linear_slope_fit(x)
    assert mean[0] == 4 and np.isnan(std[0]) and np.isnan(slope[0]) and np.isnan(intercept[0])
    empty = linear_slope_fit(np.zeros((2, 0), np.float32))
    check_rows(np.zeros((2, 0), np.float32), empty)
    check_rows(np.ones((3, 2)), linear_slope_fit(np.ones((3, 2))))


def test_outputs_in_place_and_1d():
    x = np.linspace(0, 10, 50).astype(np.float32)
    outs = [np.zeros((2, 1), np.float32) for _ in range(4)]
    assert linear_slope_fit(np.stack([x, x]), *outs) is None
    assert outs[2][0, 0] == pytest.approx(10 / 49, rel=1e-6)
    scalars = linear_slope_fit(x)
    assert scalars[0] == outs[0][1, 0]
    # the outputs' type picks the path (the engine allocates them from the signature)
    outs64 = [np.zeros(2) for _ in range(4)]
    linear_slope_fit(np.stack([x, x]), *outs64)
    check_rows(np.stack([x, x]).astype(np.float64), outs64)
    with pytest.raises(TypeError):
        linear_slope_fit(np.stack([x, x]), np.zeros(2), *[np.zeros(2, np.float32)] * 3)
    # uint16 input takes the float32 path, as numpy's cast does for dspeed
    ints = np.arange(30, dtype=np.uint16).reshape(2, 15)
    assert linear_slope_fit(ints)[0].dtype == np.float32


def diff_reference(x: np.ndarray, slope, intercept) -> tuple:
    kind = x.dtype.type
    run = kind(0)
    ssq = kind(0)
    for i, v in enumerate(x):
        resid = np.float64(v) - (np.float64(slope) * i + np.float64(intercept))
        run = kind(np.float64(run) + resid / (i + 1))
        ssq = kind(np.float64(ssq) + resid * resid)
    with np.errstate(all="ignore"):
        return run, np.sqrt(kind(np.float64(ssq) / (len(x) - 1)))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_slope_diff_exact(dtype):
    rng = np.random.default_rng(3)
    x = (rng.normal(size=(5, 400)) + 0.01 * np.arange(400)).astype(dtype)
    slope = np.full(5, 0.01, dtype)
    icpt = rng.normal(size=5).astype(dtype)
    mean, rms = linear_slope_diff(x, slope, icpt)
    for r in range(5):
        np.testing.assert_array_equal((mean[r], rms[r]), diff_reference(x[r], slope[r], icpt[r]))
    # definition: rms of the residuals (n−1), and a "mean" that is not the mean (dspeed quirk)
    resid = x.astype(np.float64) - (0.01 * np.arange(400) + icpt[:, None])
    np.testing.assert_allclose(rms, np.sqrt((resid**2).sum(axis=1) / 399), rtol=1e-5)


def test_slope_diff_real_and_nan(blsub):
    seg = blsub[:, :750]
    _, _, slope, icpt = linear_slope_fit(seg)
    mean, rms = linear_slope_diff(seg, slope, icpt)
    for r in range(0, len(seg), 7):
        np.testing.assert_array_equal((mean[r], rms[r]), diff_reference(seg[r], slope[r], icpt[r]))
    x = np.ones((3, 10), np.float32)
    x[1, 4] = np.nan
    mean, rms = linear_slope_diff(x, np.float32([0, 0, np.nan]), np.float32(0))
    assert np.isnan([mean[1], rms[1], mean[2], rms[2]]).all()
    assert mean[0] == pytest.approx(sum(1 / (i + 1) for i in range(10)), rel=1e-6)
