"""tf_model: the missing-package error, dspeed's NaN processor for an unreadable file, and a
(stand-in) Keras model applied row by row."""

from __future__ import annotations

import sys
import types

import numpy as np
import pytest

from pygama_ak.dsp.processors import lookup, tf_model


def fake_tensorflow(load_model) -> types.ModuleType:
    module = types.ModuleType("tensorflow")
    module.keras = types.SimpleNamespace(models=types.SimpleNamespace(load_model=load_model))
    return module


class Tensor:
    def __init__(self, values: np.ndarray) -> None:
        self.values = values

    def numpy(self) -> np.ndarray:
        return self.values


def test_missing_tensorflow_is_named(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "tensorflow", None)
    assert lookup("tf_model") is tf_model.tf_model
    with pytest.raises(ModuleNotFoundError, match="tensorflow"):
        tf_model.tf_model(str(tmp_path / "model.keras"))


def test_unreadable_file_gives_nan(monkeypatch, tmp_path):
    def load_model(path):
        raise OSError(f"no file {path}")

    monkeypatch.setitem(sys.modules, "tensorflow", fake_tensorflow(load_model))
    proc = tf_model.tf_model(str(tmp_path / "missing.keras"))
    assert proc.signature == "(n)->()" and proc.types == ["f->f", "d->d"]
    out = np.zeros(3)
    proc(np.ones((3, 5)), out)
    assert np.isnan(out).all()


def test_model_output_per_row(monkeypatch):
    def load_model(path):
        return lambda rows: Tensor(np.asarray(rows).sum(axis=1, keepdims=True))  # (rows, 1)

    monkeypatch.setitem(sys.modules, "tensorflow", fake_tensorflow(load_model))
    proc = tf_model.tf_model("model.keras")
    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    out = np.zeros(3, np.float32)
    proc(x, out)
    np.testing.assert_array_equal(out, x.sum(axis=1))
