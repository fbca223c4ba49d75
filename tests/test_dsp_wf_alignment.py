"""wf_alignment: a window of fixed size centred on a centroid."""

from __future__ import annotations

import numpy as np
import pytest

from pygama_ak.dsp.errors import DSPFatal
from pygama_ak.dsp.processors import lookup, wf_alignment


def alignment_ref(w: np.ndarray, centroid: float, shift: float, size: int) -> np.ndarray:
    """w[c - size/2 : c + size/2] when that fits; the first size samples when the centroid is
    NaN or too far out; a centroid within shift before size/2: w[0] repeated in front."""
    n = len(w)
    if np.isnan(w).any():
        return np.full(size, np.nan, w.dtype)
    if np.isnan(centroid):
        return w[:size].copy()
    if size / 2 <= centroid < n - size / 2:
        return w[int(centroid - size / 2) : int(centroid + size / 2)].copy()
    if size / 2 - shift < centroid < size / 2:
        front = int((size + 1) / 2 - centroid)
        return np.concatenate([np.full(front, w[0]), w[: int(centroid + size / 2)]]).astype(w.dtype)
    return w[:size].copy()


def test_interface():
    f = lookup("wf_alignment")
    assert f is wf_alignment.wf_alignment
    assert f.signature == "(n),(),(),(),(m)" and f.types == ["fffff->", "ddddd->"]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("size", [1000, 1001])
def test_real_waveforms(p03_waveforms, dtype, size):
    waves = p03_waveforms[0].astype(dtype)
    n = waves.shape[1]
    tmax = np.argmax(np.diff(waves, axis=1), axis=1)
    # centroids at the rising edges, near the start, near the end, and NaN
    centroids = np.concatenate([tmax[:15], [np.nan, 0, 300, 450, 499, 500, n - 500, n - 1, n]])
    centroids = np.resize(centroids, len(waves)).astype(dtype)
    out = np.zeros((len(waves), size), dtype)
    wf_alignment.wf_alignment(waves, centroids, dtype(200), dtype(size), out)
    for r in range(len(waves)):
        np.testing.assert_array_equal(out[r], alignment_ref(waves[r], centroids[r], 200, size))


def test_nan_and_fatal():
    f = wf_alignment.wf_alignment
    w = np.arange(20.0)
    out = np.zeros(6)
    bad = w.copy()
    bad[3] = np.nan
    f(bad, 10.0, np.nan, 6.0, out)  # NaN waveform first: no error
    assert np.isnan(out).all()
    f(w, 1.0, 5.0, 6.0, out)  # within shift before size/2: padded with w[0]
    np.testing.assert_array_equal(out, [0, 0, 0, 1, 2, 3])
    for shift, size, msg in [(np.nan, 6, "shift is nan"), (-1, 6, "positive"), (21, 6, "shorter"),
                             (2, np.nan, "size is nan"), (2, 0, "positive"), (2, 21, "shorter")]:
        with pytest.raises(DSPFatal, match=msg):
            f(w, 10.0, float(shift), float(size), out)
    with pytest.raises(DSPFatal, match="size"):  # len(w_out) != size
        f(w, 10.0, 2.0, 5.0, out)
