"""Raw-tier structs (file headers): strings are laid out as awkward lays out a list of
strings, and a struct keeps its values, dtypes and nesting."""

from __future__ import annotations

import awkward as ak
import numpy as np
import pytest

from pygama_ak.lh5.read import string_layout
from pygama_ak.raw.compass.structs import struct_record


@pytest.mark.parametrize("text", ["", "DT5730", "SRV_PARAM_CH_ENABLED", "ünïcödé €", "a\nb"])
def test_string_layout_equals_awkwards(text):
    ours, theirs = string_layout(text), ak.to_layout([text])
    assert ours.form == theirs.form
    assert ours.to_list() == theirs.to_list() == [text]


def test_struct_record_values_and_types():
    rec = struct_record(
        {"model": "DT5730", "bits": np.int64(14), "rate": np.float64(500.0),
         "board": {"name": "ü", "enabled": np.bool_(True)}}
    )
    assert len(rec) == 1
    assert rec.to_list() == {
        "model": "DT5730", "bits": 14, "rate": 500.0, "board": {"name": "ü", "enabled": True}
    }
    layout = rec.layout.array
    assert layout.content("bits").dtype == np.int64
    assert layout.content("rate").dtype == np.float64
    assert ak.parameters(ak.Array(layout.content("model"))) == {"__array__": "string"}
