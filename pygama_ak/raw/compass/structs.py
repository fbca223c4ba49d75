"""LH5 structs (one-off records such as a file header) as rows of a :class:`Batch`.

A struct is written by :mod:`pygama_ak.lh5.write` from an :class:`ak.Record`; the raw-tier
driver counts the rows of every batch with ``len``, so the record claims one row.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import awkward as ak
import numpy as np

from ...lh5.read import string_layout


class StructRecord(ak.Record):
    """An :class:`ak.Record` that counts as one row (``len`` 1) in a raw-tier batch."""

    def __len__(self) -> int:
        return 1


_RECORD_NAME = "pygama_ak_raw_struct"


def _leaf(value: Any) -> ak.contents.Content:
    if isinstance(value, Mapping):
        return _layout(value)
    if isinstance(value, str):
        return string_layout(value)
    arr = np.asarray(value)
    if arr.ndim != 0:
        raise ValueError(f"struct fields are scalars or structs, not arrays of shape {arr.shape}")
    return ak.contents.NumpyArray(arr.reshape(1))


def _layout(fields: Mapping[str, Any], name: str | None = None) -> ak.contents.RecordArray:
    params = {"__record__": name} if name else None
    return ak.contents.RecordArray(
        [_leaf(v) for v in fields.values()], list(fields), length=1, parameters=params
    )


def struct_record(fields: Mapping[str, Any]) -> StructRecord:
    """A struct from nested mappings of numpy scalars (dtype kept) and strings."""
    layout = _layout(fields, _RECORD_NAME)
    return ak.Record(ak.record.Record(layout, 0), behavior={_RECORD_NAME: StructRecord})
