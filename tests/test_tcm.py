"""build_tcm against pygama's reference TCMs and the test data's own hardware_tcm_1."""

from __future__ import annotations

import awkward as ak
import numpy as np
import pytest
from conftest import TESTDATA

from pygama_ak.evt.tcm import build_tcm, write_tcm
from pygama_ak.lh5 import read, write

TIER = TESTDATA / "lh5/prod-ref-l200/generated/tier"
STAMPS = ("20230318T012144Z", "20230318T012228Z")


@pytest.mark.parametrize("stamp", STAMPS)
@pytest.mark.parametrize("col", ["eventnumber", "timestamp"])
def test_equals_reference(tmp_path, testdata_dir, reference_dir, stamp, col):
    raw = TIER / f"raw/cal/p03/r001/l200-p03-r001-cal-{stamp}-tier_raw.lh5"
    out = tmp_path / "tcm.lh5"
    write_tcm(build_tcm([(raw, "ch*/raw")], col), out)
    ref_path = reference_dir / f"tcm/l200-p03-r001-cal-{stamp}-{col}_tcm.lh5"
    ours, ref = read(out, "hardware_tcm_1"), read(ref_path, "hardware_tcm_1")
    for field in ("table_key", "row_in_table"):
        assert ak.to_list(ours[field]) == ak.to_list(ref[field])
    assert ak.parameters(ours)["attrs"] == ak.parameters(ref)["attrs"]  # tables, hash_func
    if col == "eventnumber":  # the production TCM was built on eventnumber too
        prod = read(TIER / f"tcm/cal/p03/r001/l200-p03-r001-cal-{stamp}-tier_tcm.lh5", "hardware_tcm_1")
        assert ak.to_list(ours.table_key) == ak.to_list(prod.table_key)
        assert ak.to_list(ours.row_in_table) == ak.to_list(prod.row_in_table)


def test_windows_chain_and_several_columns(tmp_path):
    path = tmp_path / "r.lh5"
    write(ak.Array({"t": [0.0, 1.0, 2.5, 10.0], "run": [1, 1, 1, 1]}), path, "ch7/raw")
    write(ak.Array({"t": [0.5, 3.4, 10.0], "run": [1, 2, 1]}), path, "ch3/raw")
    tcm = build_tcm([(path, "ch*/raw")], ["t"], coin_windows=1.0)
    # sorted hits: 0(7) .5(3) 1(7) 2.5(7) 3.4(3) 10(3) 10(7): steps > 1 split after 1.0 and 3.4
    assert ak.to_list(tcm.to_awkward().table_key) == [[7, 3, 7], [7, 3], [3, 7]]
    assert ak.to_list(tcm.to_awkward().row_in_table) == [[0, 0, 1], [2, 1], [2, 3]]
    both = build_tcm([(path, "ch*/raw")], ["run", "t"], coin_windows=[0, 1.0])
    assert ak.to_list(both.to_awkward().table_key) == [[7, 3, 7], [7], [3, 7], [3]]
    by_position = build_tcm([(path, ["ch7/raw", "ch3/raw"])], "t", hash_func=None, coin_windows=1.0)
    assert ak.to_list(by_position.to_awkward().table_key)[0] == [0, 1, 0]  # ch7 listed first
    assert np.all(np.diff(tcm.offsets) > 0)
