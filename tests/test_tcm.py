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


def _brute_force(tables, windows):
    """(table_key, row) per event: hits sorted by (values..., key) stably, split where a step
    exceeds a window (plain Python)."""
    hits = [(tuple(vals), key, row) for key, rows in tables for row, vals in enumerate(rows)]
    hits.sort(key=lambda h: (*h[0], h[1]))
    events, last = [], None
    for vals, key, row in hits:
        if last is None or any(v - p > w for v, p, w in zip(vals, last, windows)):
            events.append([])
        events[-1].append((key, row))
        last = vals
    return events


@pytest.mark.parametrize("seed", range(4))
def test_random_tables_against_brute_force(tmp_path, seed):
    """Keys that do not grow with the table order (ch10 sorts before ch9), mixed dtypes, ties,
    several files, one and two coincidence columns."""
    rng = np.random.default_rng(seed)
    specs = {"ch10": np.int32, "ch9": np.float64, "ch200": np.int64, "ch31": np.float32}
    tables, inputs = [], []
    for i, (name, dtype) in enumerate(specs.items()):
        path = tmp_path / f"raw{i % 2}.lh5"
        n = int(rng.integers(0, 40))
        t = np.sort(rng.integers(0, 60, n)).astype(dtype)
        run = rng.integers(0, 2, n)
        write(ak.Array({"t": t, "run": run}), path, f"{name}/raw", mode="append")
        tables.append((int(name[2:]), list(zip(t.tolist(), run.tolist()))))
        inputs.append((path, f"{name}/raw"))
    for cols, windows in ((["t"], [2.0]), (["t", "run"], [0.0, 0.0])):
        tcm = build_tcm(inputs, cols, coin_windows=windows)
        got = [list(zip(k, r)) for k, r in zip(ak.to_list(tcm.to_awkward().table_key),
                                               ak.to_list(tcm.to_awkward().row_in_table))]
        order = {"t": 0, "run": 1}
        picked = [(k, [tuple(v[order[c]] for c in cols) for v in rows]) for k, rows in tables]
        assert got == _brute_force(picked, windows)
