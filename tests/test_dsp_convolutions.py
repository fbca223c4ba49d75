"""convolve_wf, reflected_convolve_wf and fft_convolve_wf against numpy/scipy re-statements."""

from __future__ import annotations

import awkward as ak
import numpy as np
import pytest
from scipy.signal import fftconvolve

from pygama_ak.dsp.errors import DSPFatal
from pygama_ak.dsp.processors import convolutions, lookup
from pygama_ak.lh5 import read

RAW = "lh5/prod-ref-l200/generated/tier/raw/cal/p03/r001/l200-p03-r001-cal-20230318T012144Z-tier_raw.lh5"
SIPM = "lh5/L200-comm-20211130-phy-spms.lh5"
MODES = {"f": "full", "v": "valid", "s": "same"}

# np.convolve sums kernels longer than 11 taps with BLAS ?dot; our kernels restate OpenBLAS's
# AVX-512 (SkylakeX) summation order, so they are bit-identical where numpy's OpenBLAS runs it
_CPU = np._core._multiarray_umath.__cpu_features__
BLAS_ORDER_KNOWN = bool(_CPU.get("AVX512_SKX"))


def out_len(n: int, m: int, mode: str) -> int:
    return {"f": n + m - 1, "v": n - m + 1, "s": n}[mode]


def np_rows(w: np.ndarray, k: np.ndarray, mode: str) -> np.ndarray:
    return np.array([np.convolve(row, k, MODES[mode]) for row in w])


def assert_like_numpy(ours: np.ndarray, ref: np.ndarray, m: int, interior: bool = False) -> None:
    """Bit-identical where the BLAS order is known, or where numpy's own small-kernel loop
    makes every sample (``interior``: a "valid" convolution with ≤ 11 taps; the edges of the
    other modes go through BLAS ?dot); else within 64 ulp of the largest value."""
    if BLAS_ORDER_KNOWN or (m <= 11 and interior):
        np.testing.assert_array_equal(ours, ref)
    else:
        scale = np.abs(ref).max()
        eps = np.finfo(ref.dtype).eps
        np.testing.assert_allclose(ours, ref, rtol=0, atol=64 * eps * scale)


def real_waveforms(testdata_dir, rel: str, group: str) -> np.ndarray:
    path = testdata_dir / rel
    if not path.exists():
        pytest.skip(f"{path} not in the test data")
    return ak.to_numpy(read(path, group)["values"])


def test_registered_under_dspeed_names():
    for name in ("convolve_wf", "fft_convolve_wf", "reflected_convolve_wf"):
        assert lookup(name) is getattr(convolutions, name)
    assert convolutions.convolve_wf.signature == "(n),(m),(),(p)"
    assert convolutions.convolve_wf.types == ["ffbf->", "ddbd->"]
    assert convolutions.reflected_convolve_wf.signature == "(n),(m),(p)"
    assert convolutions.reflected_convolve_wf.types == ["fff->", "ddd->"]
    assert convolutions.fft_convolve_wf.signature == "(n),(m),(),(p)"
    assert convolutions.fft_convolve_wf.types == ["ffbf->", "ddbd->"]
    assert convolutions.fft_convolve_wf.is_block_processor


# ------------------------------------------------------------------------------- convolve_wf
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("m", [1, 2, 5, 11, 12, 31, 32, 33, 64, 65, 100, 133, 160, 200, 300])
def test_convolve_wf_matches_np_convolve(dtype, m):
    rng = np.random.default_rng(m)
    n = 700
    w = (rng.normal(size=(3, n)) * 300).astype(dtype)
    k = rng.normal(size=m).astype(dtype)
    for mode in "fvs":
        out = np.zeros((3, out_len(n, m, mode)), dtype)
        convolutions.convolve_wf(w, k, np.int8(ord(mode)), out)
        assert_like_numpy(out, np_rows(w, k, mode), m, interior=mode == "v")


def test_convolve_wf_kernel_as_long_as_waveform():
    rng = np.random.default_rng(1)
    w = rng.normal(size=(2, 40)).astype(np.float32)
    k = rng.normal(size=40).astype(np.float32)
    for mode in "fvs":
        out = np.zeros((2, out_len(40, 40, mode)), np.float32)
        convolutions.convolve_wf(w, k, np.int8(ord(mode)), out)
        assert_like_numpy(out, np_rows(w, k, mode), 40)


def test_convolve_wf_t0_kernel_on_real_waveforms(testdata_dir):
    values = real_waveforms(testdata_dir, RAW, "ch1084803/raw/waveform")
    wf = values.astype(np.float32) - np.float32(15000)
    kernel = np.zeros(133, np.float32)
    lookup("t0_filter")(np.float32(8), np.float32(125), kernel)
    out = np.zeros_like(wf)
    convolutions.convolve_wf(wf, kernel, np.int8(ord("s")), out)
    assert_like_numpy(out, np_rows(wf, kernel, "s"), 133)


def test_convolve_wf_nan_row_only():
    rng = np.random.default_rng(2)
    w = rng.normal(size=(4, 300)).astype(np.float32)
    w[2, 17] = np.nan
    k = rng.normal(size=20).astype(np.float32)
    out = np.zeros((4, 300), np.float32)
    convolutions.convolve_wf(w, k, np.int8(ord("s")), out)
    assert np.isnan(out[2]).all()
    assert not np.isnan(out[[0, 1, 3]]).any()
    k[3] = np.nan
    convolutions.convolve_wf(w, k, np.int8(ord("s")), out)
    assert np.isnan(out).all()


@pytest.mark.parametrize(
    ("m", "mode", "p"),
    [(60, "s", 50), (10, "s", 49), (10, "f", 50), (10, "v", 50), (10, "x", 50)],
)
def test_convolve_wf_fatal(m, mode, p):
    w = np.ones((1, 50), np.float32)
    k = np.ones(m, np.float32)
    with pytest.raises(DSPFatal):
        convolutions.convolve_wf(w, k, np.int8(ord(mode)), np.zeros((1, p), np.float32))


def test_convolve_wf_nan_checked_before_fatal():
    w = np.full((1, 50), np.nan, np.float32)
    out = np.zeros((1, 7), np.float32)
    convolutions.convolve_wf(w, np.ones(10, np.float32), np.int8(ord("s")), out)
    assert np.isnan(out).all()


# ---------------------------------------------------------------------- reflected_convolve_wf
def reflected_reference(w: np.ndarray, k: np.ndarray) -> np.ndarray:
    ext = len(k) // 2 + 1
    return np.array(
        [np.convolve(np.pad(row, ext, mode="reflect"), k, "same")[ext:-ext] for row in w]
    )


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    ("n", "m"),
    [(500, 1), (500, 9), (500, 11), (500, 12), (500, 41), (3, 3), (2, 2), (1, 1), (5, 4)],
)
def test_reflected_convolve_wf(dtype, n, m):
    rng = np.random.default_rng(n * m)
    w = (rng.normal(size=(3, n)) * 50).astype(dtype)
    k = rng.random(m).astype(dtype)
    out = np.zeros((3, n), dtype)
    convolutions.reflected_convolve_wf(w, k, out)
    assert_like_numpy(out, reflected_reference(w, k), m)


def test_reflected_convolve_wf_gaussian_on_sipm(testdata_dir):
    values = real_waveforms(testdata_dir, SIPM, "ch0/raw/waveform").astype(np.float64)
    kernel = np.zeros(9, np.float64)
    lookup("gaussian_filter1d")(1.0, 4.0, kernel)
    out = np.zeros_like(values)
    convolutions.reflected_convolve_wf(values, kernel, out)
    np.testing.assert_array_equal(out, reflected_reference(values, kernel))


def test_reflected_convolve_wf_nan_and_fatal():
    w = np.random.default_rng(3).normal(size=(3, 30))
    w[1, 0] = np.nan
    out = np.zeros((3, 30))
    convolutions.reflected_convolve_wf(w, np.ones(5) / 5, out)
    assert np.isnan(out[1]).all() and not np.isnan(out[[0, 2]]).any()
    with pytest.raises(DSPFatal):
        convolutions.reflected_convolve_wf(w[[0]], np.ones(31), np.zeros((1, 30)))
    with pytest.raises(DSPFatal):
        convolutions.reflected_convolve_wf(w[[0]], np.ones(3), np.zeros((1, 29)))


# ---------------------------------------------------------------------------- fft_convolve_wf
def assert_fft_close(out: np.ndarray, ref: np.ndarray) -> None:
    """'valid' uses a shorter circular FFT than scipy: equal to float rounding of the scale."""
    tol = 2e-6 if out.dtype == np.float32 else 1e-13
    np.testing.assert_allclose(out, ref, rtol=0, atol=tol * float(np.abs(ref).max()))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("mode", "fvs")
def test_fft_convolve_wf_equals_scipy(dtype, mode):
    rng = np.random.default_rng(4)
    full = (rng.normal(size=(16, 900)) * 100).astype(dtype)
    w = full[:, :700]  # a view, like wf_blsub[:len-33.6us]
    k = rng.normal(size=300).astype(dtype)
    out = np.zeros((16, out_len(700, 300, mode)), dtype)
    convolutions.fft_convolve_wf(w, k[None, :], np.int8(ord(mode)), out)
    ref = fftconvolve(w, k[None, :], mode=MODES[mode], axes=-1)
    if mode == "v":
        assert_fft_close(out, ref)
    else:
        np.testing.assert_array_equal(out, ref)
    assert out.dtype == ref.dtype


def test_fft_convolve_wf_cached_spectra_follow_the_values():
    rng = np.random.default_rng(5)
    w = rng.normal(size=(8, 400)).astype(np.float32)
    k = rng.normal(size=(1, 100)).astype(np.float32)
    v = np.int8(ord("v"))
    for _ in range(2):  # second call reuses both spectra
        out = np.zeros((8, 301), np.float32)
        convolutions.fft_convolve_wf(w, k, v, out)
        assert_fft_close(out, fftconvolve(w, k, mode="valid", axes=-1))
    k[0, 7] += 1  # same arrays, new values: no stale spectrum
    w[3, 50] -= 2
    convolutions.fft_convolve_wf(w, k, v, out)
    assert_fft_close(out, fftconvolve(w, k, mode="valid", axes=-1))
    convolutions.fft_convolve_wf(w, k[0], "v", out)  # 1-d kernel and a str mode
    assert_fft_close(out, fftconvolve(w, k, mode="valid", axes=-1))


def test_fft_convolve_wf_nan_rows():
    rng = np.random.default_rng(6)
    w = rng.normal(size=(5, 200)).astype(np.float32)
    w[1, 3] = np.nan
    k = rng.normal(size=(1, 50)).astype(np.float32)
    out = np.zeros((5, 151), np.float32)
    convolutions.fft_convolve_wf(w, k, np.int8(ord("v")), out)
    assert np.isnan(out[1]).all()
    clean = np.where(np.isnan(w).any(axis=1, keepdims=True), 0, w)
    ref = fftconvolve(clean, k, mode="valid", axes=-1)
    assert_fft_close(out[[0, 2, 3, 4]], ref[[0, 2, 3, 4]])
    assert not np.isnan(w[[0, 2, 3, 4]]).any()  # the input is not modified
    k[0, 0] = np.nan
    convolutions.fft_convolve_wf(w, k, np.int8(ord("v")), out)
    assert np.isnan(out).all()


def test_fft_convolve_wf_fatal():
    w = np.ones((2, 50), np.float32)
    with pytest.raises(DSPFatal):
        convolutions.fft_convolve_wf(
            w, np.ones((1, 60), np.float32), np.int8(ord("v")), np.zeros((2, 1), np.float32)
        )
    with pytest.raises(DSPFatal):
        convolutions.fft_convolve_wf(
            w, np.ones((1, 5), np.float32), np.int8(ord("q")), np.zeros((2, 46), np.float32)
        )
    with pytest.raises(DSPFatal):
        convolutions.fft_convolve_wf(
            w, np.ones((1, 5), np.float32), np.int8(ord("v")), np.zeros((2, 45), np.float32)
        )
