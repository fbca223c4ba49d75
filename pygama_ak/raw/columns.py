"""Build LH5-ready Awkward columns and tables from numpy arrays (no copies).

Awkward parameters carry what :func:`pygama_ak.lh5.write` turns into LH5 attributes:
``units`` and ``attrs`` (here: ``description``). 2-D arrays become
``array_of_equalsized_arrays``, offsets + content become ``array<1>{array<1>{real}}``.
"""

from __future__ import annotations

import awkward as ak
import numpy as np


def _params(units: str | None, doc: str | None) -> dict | None:
    params: dict = {}
    if units:
        params["units"] = units
    if doc:
        params["attrs"] = {"description": doc}
    return params or None


def col(
    data: np.ndarray, *, units: str | None = None, doc: str | None = None
) -> ak.contents.Content:
    """A 1-D column (``array<1>{real}``), or 2-D (``array_of_equalsized_arrays``)."""
    data = np.ascontiguousarray(data)
    if data.ndim == 1:
        return ak.contents.NumpyArray(data, parameters=_params(units, doc))
    flat = ak.contents.NumpyArray(data.reshape(-1))
    return ak.contents.RegularArray(
        flat, data.shape[1], zeros_length=data.shape[0], parameters=_params(units, doc)
    )


def vov(
    offsets: np.ndarray, content: np.ndarray, *, units: str | None = None, doc: str | None = None
) -> ak.contents.Content:
    """A vector of vectors: row ``i`` is ``content[offsets[i]:offsets[i+1]]``."""
    return ak.contents.ListOffsetArray(
        ak.index.Index64(np.asarray(offsets, dtype=np.int64)),
        ak.contents.NumpyArray(np.ascontiguousarray(content)),
        parameters=_params(units, doc),
    )


def waveforms(values: np.ndarray, dt_ns: float, t0_ns: float = 0.0) -> ak.contents.Content:
    """A WaveformTable: ``t0`` and ``dt`` (float32, ns) per row and the 2-D ``values``."""
    n = values.shape[0]
    return ak.contents.RecordArray(
        [
            col(np.full(n, dt_ns, dtype=np.float32), units="ns"),
            col(np.full(n, t0_ns, dtype=np.float32), units="ns"),
            col(values),
        ],
        ["dt", "t0", "values"],
        length=n,
    )


def table(columns: dict[str, ak.contents.Content], length: int) -> ak.Array:
    """A table (record array) of the given columns."""
    return ak.Array(ak.contents.RecordArray(list(columns.values()), list(columns), length=length))
