"""wiener_filter (factory) against a numpy restatement, through the engine too."""

from __future__ import annotations

import numpy as np
import pytest
from test_dsp_chain import chain_for, raw_table

from pygama_ak.dsp.errors import DSPFatal
from pygama_ak.dsp.processors import lookup
from pygama_ak.dsp.processors.wiener_filter import wiener_filter
from pygama_ak.lh5 import write

N = 401  # rfft length of the 800-sample test waveforms


def shapes(n: int = N) -> tuple[np.ndarray, np.ndarray]:
    t = np.arange(n, dtype=np.float64)
    superpulse = (
        np.where(t > 100, np.exp(-(t - 100) / 30) * (1 - np.exp(-(t - 100) / 3)), 0.0) * 100
    )
    noise = np.random.default_rng(4).normal(size=n)
    return superpulse, noise


@pytest.fixture()
def filter_file(tmp_path):
    superpulse, noise = shapes()
    path = tmp_path / "wiener.lh5"
    write(superpulse, path, "spms/processed/superpulse")
    write(noise, path, "spms/processed/noise_wf")
    return path


def expected_filter(superpulse: np.ndarray, noise: np.ndarray) -> np.ndarray:
    """W = P*/(|P|² + |N|²/|S|²), P = S/fft(δ at argmax with the superpulse's maximum)."""
    s, n = np.fft.fft(superpulse), np.fft.fft(noise)
    delta = np.zeros_like(superpulse)
    delta[np.argmax(superpulse)] = superpulse.max()
    p = s / np.fft.fft(delta)
    return np.conj(p) / (p * np.conj(p) + (n * np.conj(n)) / (s * np.conj(s)))


def test_filter_and_processor(filter_file):
    assert lookup("wiener_filter") is wiener_filter
    proc = wiener_filter([str(filter_file)])
    assert proc.signature == "(n)->(n)" and proc.types == ["F->F", "D->D"]
    w = expected_filter(*shapes())
    np.testing.assert_array_equal(proc.filter, w)
    x = np.fft.fft(np.random.default_rng(1).normal(size=(3, N)))
    x[1, 5] = np.nan
    out = proc(x)
    np.testing.assert_array_equal(out[[0, 2]], x[[0, 2]] * w)
    assert np.isnan(out[1]).all()
    out64 = np.zeros((3, N), np.complex64)
    proc(x.astype(np.complex64), out64)
    np.testing.assert_array_equal(out64[0], (x[0].astype(np.complex64) * w).astype(np.complex64))
    with pytest.raises(DSPFatal, match="same length"):
        proc(x[:, :-1])


def test_fatal(tmp_path, filter_file):
    with pytest.raises(DSPFatal, match="valid lh5"):
        wiener_filter([str(tmp_path / "missing.lh5")])
    superpulse, noise = shapes()
    only = tmp_path / "only.lh5"
    write(superpulse, only, "spms/processed/superpulse")
    with pytest.raises(DSPFatal, match="noise_wf"):
        wiener_filter([str(only)])
    short = tmp_path / "short.lh5"
    write(superpulse, short, "spms/processed/superpulse")
    write(noise[:-1], short, "spms/processed/noise_wf")
    with pytest.raises(DSPFatal, match="equal"):
        wiener_filter([str(short)])
    early = tmp_path / "early.lh5"
    write(superpulse[::-1].copy(), early, "spms/processed/superpulse")
    write(noise, early, "spms/processed/noise_wf")
    wiener_filter([str(early)])  # maximum inside: fine
    first = tmp_path / "first.lh5"
    write(np.r_[1e6, superpulse[1:]], first, "spms/processed/superpulse")
    write(noise, first, "spms/processed/noise_wf")
    with pytest.raises(DSPFatal, match="maximum"):
        wiener_filter([str(first)])
    with pytest.raises(DSPFatal, match="array"):
        wiener_filter([])


def test_in_the_chain(filter_file):
    config = {
        "outputs": ["wf_w"],
        "processors": {
            "wf_fft": {
                "function": "fft",
                "module": "dspeed.processors",
                "args": ["waveform", f"wf_fft(shape={N}, dtype='complex64')"],
            },
            "wf_w": {
                "function": "wiener_filter",
                "module": "dspeed.processors",
                "init_args": [[str(filter_file)]],
                "args": ["wf_fft", "wf_w"],
            },
        },
    }
    table = raw_table(n=3)
    chain = chain_for(config, table)
    values = np.asarray(table.waveform["values"].to_numpy(), dtype=np.float32)
    out = chain.run_block(chain.allocate(3), {"waveform": values, "waveform__t0": np.zeros(3)}, 3)
    expected = (np.fft.rfft(values, axis=1) * expected_filter(*shapes())).astype(np.complex64)
    np.testing.assert_array_equal(out["wf_w"], expected)
