"""svm_predict: dspeed's "file = 0" NaN processor, the missing-package error, a pickled model."""

from __future__ import annotations

import pickle
import sys
import types

import numpy as np
import pytest

from pygama_ak.dsp.processors import lookup, svm


class ThresholdModel:
    """Stands in for a fitted sklearn SVC: class 1 when the mean feature is above 0."""

    def predict(self, rows: np.ndarray) -> np.ndarray:
        return (np.asarray(rows).mean(axis=1) > 0).astype(int)


def test_file_zero_gives_nan_without_sklearn(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn", None)  # not needed for file = 0
    assert lookup("svm_predict") is svm.svm_predict
    proc = svm.svm_predict(0)
    assert proc.signature == "(n)->()" and proc.types == ["f->f"]
    out = np.zeros(4, np.float32)
    proc(np.ones((4, 10), np.float32), out)
    assert np.isnan(out).all()
    assert np.isnan(proc(np.ones((2, 10), np.float32))).all()


def test_missing_sklearn_is_named(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "sklearn", None)
    with pytest.raises(ModuleNotFoundError, match="scikit-learn"):
        svm.svm_predict(str(tmp_path / "model.pkl"))


def test_pickled_model(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "sklearn", types.ModuleType("sklearn"))
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps(ThresholdModel()))
    proc = svm.svm_predict(str(path))
    x = np.array([[1.0, 2.0], [-1.0, -3.0], [np.nan, 1.0]], np.float32)
    out = np.zeros(3, np.float32)
    proc(x, out)
    np.testing.assert_array_equal(out, [1, 0, np.nan])  # a NaN row gives NaN, as dspeed


def test_in_the_engine(monkeypatch):
    from test_dsp_chain import chain_for, raw_table

    monkeypatch.setitem(sys.modules, "sklearn", None)
    config = {"outputs": ["label"], "processors": {"label": {
        "function": "svm_predict", "module": "dspeed.processors", "init_args": [0],
        "args": ["waveform", "label"]}}}
    table = raw_table(n=3)
    chain = chain_for(config, table)
    values = np.asarray(table.waveform["values"].to_numpy(), dtype=np.float32)
    out = chain.run_block(chain.allocate(3), {"waveform": values, "waveform__t0": np.zeros(3)}, 3)
    assert np.isnan(out["label"]).all()
