"""presum against numpy's reshape-and-sum and a sequential restatement."""

from __future__ import annotations

import numpy as np
import pytest
from test_dsp_chain import chain_for, raw_table

from pygama_ak.dsp.errors import DSPFatal
from pygama_ak.dsp.processors import lookup
from pygama_ak.dsp.processors.presum import presum


def sequential(x: np.ndarray, m: int, norm: bool) -> np.ndarray:
    """Chunk sums in x's type, sample by sample (each divided by k first when norm)."""
    k = len(x) // m
    kf = x.dtype.type(k)
    out = np.empty(m, x.dtype)
    for i in range(m):
        acc = x[i * k] / kf if norm else x[i * k]
        for j in range(i * k + 1, i * k + k):
            acc = acc + (x[j] / kf if norm else x[j])
        out[i] = acc
    return out


def test_interface():
    assert lookup("presum") is presum
    assert presum.signature == "(n), (), (), (m)" and presum.types == ["ffff->", "dddd->"]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("m", [2048, 1000])
def test_real_waveforms(p03_waveforms, dtype, m):
    x = p03_waveforms[0][:5].astype(dtype)
    k = x.shape[1] // m
    for norm in (0, 1):
        out = np.zeros((5, m), dtype)
        factor = np.zeros(5, dtype)
        presum(x, norm, factor, out)
        np.testing.assert_array_equal(factor, k)
        for r in range(5):
            np.testing.assert_array_equal(out[r], sequential(x[r], m, bool(norm)))
        chunks = x[:, : m * k].astype(np.float64).reshape(5, m, k).sum(axis=2)
        np.testing.assert_allclose(out, chunks / k if norm else chunks, rtol=1e-6)


def test_nan_and_fatal():
    x = np.arange(20, dtype=np.float32).reshape(2, 10)
    x[1, 0] = np.nan
    out = np.zeros((2, 3), np.float32)
    factor = np.zeros(2, np.float32)
    presum(x, 0, factor, out)
    assert np.isnan(out[1]).all() and np.isnan(factor[1]) and factor[0] == 3
    np.testing.assert_array_equal(out[0], [3, 12, 21])  # the last sample is dropped
    with pytest.raises(DSPFatal, match="do_norm"):
        presum(x[0], 2, factor[0:1], out[0])


def test_in_the_chain():
    config = {
        "outputs": ["wf_ps", "ps_fact"],
        "processors": {
            "wf_ps, ps_fact": {
                "function": "presum",
                "module": "dspeed.processors",
                "args": ["waveform", 1, "ps_fact", "wf_ps(shape=200, period=waveform.period*4)"],
            }
        },
    }
    table = raw_table(n=3)
    chain = chain_for(config, table)
    values = np.asarray(table.waveform["values"].to_numpy(), dtype=np.float32)
    out = chain.run_block(chain.allocate(3), {"waveform": values, "waveform__t0": np.zeros(3)}, 3)
    np.testing.assert_array_equal(out["ps_fact"], 4)
    for r in range(3):
        np.testing.assert_array_equal(out["wf_ps"][r], sequential(values[r], 200, True))
