"""pad: the first len_in samples at an offset, start/end values around them."""

from __future__ import annotations

import numpy as np
import pytest

from pygama_ak.dsp.errors import DSPFatal
from pygama_ak.dsp.processors import lookup, pad


def pad_ref(w: np.ndarray, len_in: int, offset: int, start: float, end: float, m: int):
    out = np.empty(m, w.dtype)
    out[:offset] = start
    out[offset : offset + len_in] = w[:len_in]
    out[offset + len_in :] = end
    return out


def test_interface():
    f = lookup("pad")
    assert f is pad.pad
    assert f.signature == "(n),(),(),(),(),(m)" and f.types == ["flffff->", "dldddd->"]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("len_in", "offset", "m"), [(8192, 0, 8192), (5000, 100, 9000),
                                                     (4096, 4096, 8192), (0, 3, 10)])
def test_real_waveforms(p03_waveforms, dtype, len_in, offset, m):
    waves = p03_waveforms[0][:10].astype(dtype)
    out = np.zeros((10, m), dtype)
    pad.pad(waves, len_in, dtype(offset), dtype(-1), dtype(7), out)
    for r in range(10):
        np.testing.assert_array_equal(out[r], pad_ref(waves[r], len_in, offset, -1, 7, m))


def test_nan_and_fatal():
    f = pad.pad
    w = np.array([1.0, 2.0, np.nan, 4.0])
    out = np.zeros(6)
    f(w, 2, 1.0, 0.0, 9.0, out)  # the NaN is past len_in: padded normally
    np.testing.assert_array_equal(out, [0, 1, 2, 9, 9, 9])
    f(w, 3, 1.0, 0.0, 9.0, out)
    assert np.isnan(out).all()
    f(w, 2, np.nan, 0.0, 9.0, out)
    assert np.isnan(out).all()
    with pytest.raises(DSPFatal, match="Length longer"):
        f(np.ones(4), 5, 0.0, 0.0, 0.0, out)
    with pytest.raises(DSPFatal, match="integer"):
        f(np.ones(4), 2, 0.5, 0.0, 0.0, out)
    with pytest.raises(DSPFatal, match="fit"):
        f(np.ones(4), 4, 3.0, 0.0, 0.0, out)
