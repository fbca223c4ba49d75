"""dplms against a direct restatement of the penalised least-squares normal equations."""

from __future__ import annotations

import numpy as np
import pytest

from pygama_ak.dsp.errors import DSPFatal
from pygama_ak.dsp.processors import lookup
from pygama_ak.dsp.processors.dplms import dplms

LENGTH = 60


@pytest.fixture(scope="module")
def inputs(p03_waveforms):
    """A noise matrix from real baselines and a reference pulse (mean of real pulses)."""
    waves = p03_waveforms[0].astype(np.float64)
    baselines = waves[:, :3000] - waves[:, :3000].mean(axis=1, keepdims=True)
    segments = baselines[:, : 50 * LENGTH].reshape(-1, LENGTH)
    noise = segments.T @ segments / len(segments)
    t_max = np.argmax(waves[:10], axis=1)
    pulses = np.stack(
        [w[t - 150 : t + 150] - w[:1000].mean() for w, t in zip(waves[:10], t_max, strict=True)]
    )
    reference = pulses.mean(axis=0) / pulses.mean(axis=0).max()
    return noise, reference


def definition(noise, reference, a1, a2, a3):
    """Solve (a1·N + a2·R + a3·11ᵀ) h = Σ_s r_s, R = mean_s r_s r_sᵀ over the centred windows
    r_s shifted by s = −1, 0, 1; flip h and scale so that reference ⊛ h peaks at 1."""
    n, m = len(noise), len(reference)
    lo, hi = int(m / 2 - n / 2), int(m / 2 + n / 2)
    windows = [reference[lo + s : hi + s].astype(np.float64) for s in (-1, 0, 1)]
    ref_mat = sum(np.outer(w, w) for w in windows) / 3
    system = a1 * noise + a2 * ref_mat + a3 * np.ones((n, n))
    h = np.linalg.solve(system, sum(windows))[::-1]
    return h / np.convolve(reference, h, mode="valid").max()


def test_interface():
    assert lookup("dplms") is dplms and dplms.is_block_processor
    assert dplms.signature == "(n,n),(m),(),(),(),()->(n)"
    assert dplms.types == ["ffffff->f", "dddddd->d"]


def test_matches_definition(inputs):
    noise, reference = inputs
    kernel = dplms(noise, reference, 1.0, 0.5, 2.0, 1.0)
    np.testing.assert_allclose(
        kernel, definition(noise, reference, 1.0, 0.5, 2.0), rtol=1e-10, atol=1e-13
    )
    assert np.convolve(reference, kernel, mode="valid").max() == pytest.approx(1.0)
    k32 = dplms(noise.astype(np.float32), reference.astype(np.float32), *np.float32([1, 0.5, 2, 1]))
    assert k32.dtype == np.float32
    np.testing.assert_allclose(k32, kernel, rtol=1e-3, atol=1e-4 * np.abs(kernel).max())


def test_per_row_penalties_and_constant_rows(inputs):
    noise, reference = inputs
    out = np.zeros((3, LENGTH))
    dplms(noise, reference, 1.0, np.array([0.5, 1.0, 2.0]), 2.0, 1.0, out)
    for r, a2 in enumerate((0.5, 1.0, 2.0)):
        np.testing.assert_allclose(
            out[r], definition(noise, reference, 1.0, a2, 2.0), rtol=1e-10, atol=1e-13
        )
    same = np.zeros((4, LENGTH))
    dplms(noise, reference, 1.0, 0.5, 2.0, 1.0, same)
    assert (same == same[0]).all()


@pytest.mark.parametrize(
    "args", [(0.0, 1, 1, 1), (1, -1, 1, 1), (1, 1, 0, 1), (1, 1, 1, 0), (1, 1, 1, 2)]
)
def test_fatal(inputs, args):
    noise, reference = inputs
    with pytest.raises(DSPFatal):
        dplms(noise, reference, *args)


def test_fatal_shapes(inputs):
    noise, reference = inputs
    with pytest.raises(DSPFatal, match="noise matrix"):
        dplms(noise, reference, 1, 1, 1, 1, np.zeros(LENGTH - 1))
    with pytest.raises(DSPFatal, match="reference"):
        dplms(noise, reference[:0], 1, 1, 1, 1)
