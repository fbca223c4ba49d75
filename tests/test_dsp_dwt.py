"""discrete_wavelet_transform against a plain-numpy Haar transform with symmetric padding."""

from __future__ import annotations

import numpy as np
import pytest
from test_dsp_chain import chain_for, raw_table

from pygama_ak.dsp.errors import DSPFatal
from pygama_ak.dsp.processors import lookup
from pygama_ak.dsp.processors.dwt import discrete_wavelet_transform as dwt

H, D, A = np.int8(ord("h")), np.int8(ord("d")), np.int8(ord("a"))


def haar(x: np.ndarray, level: int, part: str) -> np.ndarray:
    """pywt.downcoef(part, x, 'haar', mode='symmetric', level) restated with numpy.

    Each level pads an odd-length signal with its last sample (half-sample symmetry) and
    pairs (x[2k], x[2k+1]) into c·x[2k] + c·x[2k+1] or c·x[2k] − c·x[2k+1], c = 1/√2 in x's type.
    """
    c = x.dtype.type(np.sqrt(0.5))
    for lev in range(level):
        if len(x) % 2:
            x = np.concatenate([x, x[-1:]])
        even, odd = x[0::2], x[1::2]
        x = (c * even - c * odd) if (part == "d" and lev == level - 1) else (c * odd + c * even)
    return x


def test_interface():
    assert lookup("discrete_wavelet_transform") is dwt
    assert dwt.signature == "(n),(),(),(),(m)" and dwt.types == ["fibbf->", "dlbbd->"]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("level", [1, 3, 5])
def test_real_waveforms(p03_waveforms, dtype, level):
    x = p03_waveforms[0][:4, :1001].astype(dtype)  # odd length: the padding matters
    m = len(haar(x[0], level, "a"))
    for wave in (H, D):
        for part, code in (("a", A), ("d", D)):
            out = np.zeros((4, m), dtype)
            dwt(x, level, wave, code, out)
            for r in range(4):
                np.testing.assert_array_equal(out[r], haar(x[r], level, part))


def test_energy_and_short_inputs():
    x = np.random.default_rng(2).normal(size=64)
    a, d = np.zeros(32), np.zeros(32)
    dwt(x, 1, H, A, a)
    dwt(x, 1, H, D, d)
    np.testing.assert_allclose((a**2).sum() + (d**2).sum(), (x**2).sum())  # orthonormal
    one = np.zeros(1)
    dwt(np.array([3.0]), 2, H, A, one)
    assert one[0] == pytest.approx(6.0)  # padded pair twice: 3·√2·√2


def test_nan_and_fatal():
    x = np.ones((2, 8))
    x[1, 0] = np.nan
    out = np.zeros((2, 4))
    dwt(x, 1, H, A, out)
    assert np.isnan(out[1]).all() and not np.isnan(out[0]).any()
    with pytest.raises(DSPFatal, match="level"):
        dwt(x, 0, H, A, out)
    with pytest.raises(DSPFatal):
        dwt(x[0], 1, np.int8(ord("s")), A, out[0])
    with pytest.raises(DSPFatal):
        dwt(x[0], 1, H, np.int8(ord("x")), out[0])
    with pytest.raises(DSPFatal):
        dwt(x[0], 1, H, A, np.zeros(3))


def test_in_the_chain():
    config = {
        "outputs": ["dwt_a"],
        "processors": {
            "dwt_a": {
                "function": "discrete_wavelet_transform",
                "module": "dspeed.processors",
                "args": ["waveform", 3, "'h'", "'a'", "dwt_a(shape=100, dtype='float32')"],
            }
        },
    }
    table = raw_table(n=3)
    chain = chain_for(config, table)
    values = np.asarray(table.waveform["values"].to_numpy(), dtype=np.float32)
    out = chain.run_block(chain.allocate(3), {"waveform": values, "waveform__t0": np.zeros(3)}, 3)
    for r in range(3):
        np.testing.assert_array_equal(out["dwt_a"][r], haar(values[r], 3, "a"))
