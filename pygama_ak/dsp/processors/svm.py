"""svm_predict (factory): classify waveforms (or feature vectors) with a pickled scikit-learn
SVM. scikit-learn is imported only when a model file is given; it is not a dependency."""

from __future__ import annotations

import pickle
from collections.abc import Callable
from typing import Any

import numpy as np

from . import block_processor


def _predictor(model: Any) -> Callable:
    @block_processor("(n)->()", ["f->f"])
    def svm_proc(w_in: np.ndarray, label_out: np.ndarray | None = None) -> np.ndarray | None:
        """Predicted class of each row (NaN for rows with a NaN, or without a model)."""
        rows = np.asarray(w_in).reshape(-1, np.shape(w_in)[-1])
        labels = np.full(rows.shape[0], np.nan, np.float32)
        good = ~np.isnan(rows).any(axis=1)
        if model is not None and good.any():
            labels[good] = model.predict(rows[good])
        if label_out is None:
            return labels.reshape(np.shape(w_in)[:-1])
        label_out[...] = labels.reshape(label_out.shape)
        return None

    return svm_proc


def svm_predict(svm_file: str | int) -> Callable:
    """Processor (n)->() applying the SVM pickled in svm_file; svm_file = 0 (dspeed's
    convention for "no model") gives a processor that always returns NaN.

    Raises ModuleNotFoundError naming scikit-learn when a file is given and it is missing.
    """
    if isinstance(svm_file, (int, float, np.integer, np.floating)) and svm_file == 0:
        return _predictor(None)
    try:
        import sklearn  # noqa: F401  (the pickle needs it)
    except ImportError as exc:
        raise ModuleNotFoundError(
            "svm_predict needs scikit-learn to load an SVM model (pip install scikit-learn)",
            name="sklearn",
        ) from exc
    with open(svm_file, "rb") as f:
        model = pickle.load(f)  # noqa: S301 (a model file given in the config, as dspeed)
    return _predictor(model)
