"""tf_model (factory): apply a saved Keras model to waveforms (or feature vectors).
TensorFlow is imported only when the factory is called; it is not a dependency."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from . import block_processor


def _apply(model: Any) -> Callable:
    @block_processor("(n)->()", ["f->f", "d->d"])
    def tf_proc(w_in: np.ndarray, y_out: np.ndarray | None = None) -> np.ndarray | None:
        """The model's (squeezed) output for each row; NaN without a model."""
        rows = np.asarray(w_in).reshape(-1, np.shape(w_in)[-1])
        values = np.full(rows.shape[0], np.nan, rows.dtype)
        if model is not None and rows.shape[0]:
            values[:] = np.asarray(model(rows).numpy()).reshape(rows.shape[0], -1)[:, 0]
        if y_out is None:
            return values.reshape(np.shape(w_in)[:-1])
        y_out[...] = values.reshape(y_out.shape)
        return None

    return tf_proc


def tf_model(filepath: str) -> Callable:
    """Processor (n)->() evaluating the Keras model saved at filepath on each row; as dspeed,
    a file that cannot be read gives a processor that always returns NaN.

    Raises ModuleNotFoundError naming tensorflow when it is not installed.
    """
    try:
        import tensorflow as tf
    except ImportError as exc:
        raise ModuleNotFoundError(
            "tf_model needs tensorflow to load a Keras model (pip install tensorflow)",
            name="tensorflow",
        ) from exc
    try:
        model = tf.keras.models.load_model(filepath)
    except OSError:
        return _apply(None)
    return _apply(model)
