"""The writer skips ``ak.to_packed`` for layouts that are already packed: exactly those for
which packing would change nothing."""

from __future__ import annotations

import sys

import awkward as ak
import numpy as np
import pytest

import pygama_ak.lh5.write  # noqa: F401  (the module, not the function it exports)
from pygama_ak.raw.columns import col, table, vov, waveforms

WRITE = sys.modules["pygama_ak.lh5.write"]


def _raw_like(n: int = 40) -> ak.Array:
    return table(
        {
            "energy": col(np.arange(n, dtype=np.float32), units="keV"),
            "wf": waveforms(np.arange(n * 7, dtype=np.uint16).reshape(n, 7), 16.0),
            "hits": vov(np.arange(n + 1) * 2, np.arange(2 * n, dtype=np.int32)),
        },
        n,
    )


PACKED = {
    "raw-like table": _raw_like(),
    "flat": ak.Array(np.arange(10.0)),
    "jagged": ak.Array([[1, 2], [], [3]]),
    "strings": ak.Array(["a", "bc", ""]),
    "empty table": _raw_like(0),
}
NOT_PACKED = {
    "sliced table": _raw_like()[5:30],
    "strided table": _raw_like()[::3],
    "sliced jagged": ak.Array([[1], [2, 3], [4]])[1:],
    "options": ak.Array([1, None, 3]),
    "2-D numpy leaf": ak.Array(ak.contents.NumpyArray(np.zeros((4, 3)))),
    "list array": ak.Array(ak.contents.ListArray(ak.index.Index64(np.array([2, 0])),
                                                  ak.index.Index64(np.array([3, 2])),
                                                  ak.contents.NumpyArray(np.arange(3.0)))),
}


@pytest.mark.parametrize("name", PACKED)
def test_packed_layouts_are_recognised_and_packing_would_not_change_them(name):
    array = PACKED[name]
    layout = ak.to_layout(array)
    assert WRITE._is_packed(layout)
    packed = ak.to_layout(ak.to_packed(array))
    assert packed.form == layout.form
    assert ak.to_list(packed) == ak.to_list(layout)
    assert WRITE._packed_layout(array).form == layout.form


@pytest.mark.parametrize("name", NOT_PACKED)
def test_other_layouts_are_packed_by_awkward(name):
    array = NOT_PACKED[name]
    assert not WRITE._is_packed(ak.to_layout(array))
    out = WRITE._packed_layout(array)
    assert ak.to_list(out) == ak.to_list(array)
