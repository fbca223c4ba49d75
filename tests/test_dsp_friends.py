"""Friend tables (config ``inputs``): columns of another table joined row by row to the raw one."""

from __future__ import annotations

import awkward as ak
import numpy as np
import pytest
from test_dsp_chain import raw_table

from pygama_ak.dsp.build_dsp import build_dsp
from pygama_ak.dsp.errors import ChainError
from pygama_ak.lh5 import read, write

AMAX = {"signature": "(n),()->()", "types": ["fi->f", "di->d"]}


@pytest.fixture()
def files(tmp_path):
    raw, friend = tmp_path / "raw.lh5", tmp_path / "friend.lh5"
    for ch, seed in (("ch1", 3), ("ch2", 4)):
        write(raw_table(n=7, seed=seed), raw, f"{ch}/raw")
        energy = np.arange(7, dtype=np.float32) * (10.0 if ch == "ch1" else 100.0)
        write(ak.zip({"energy": ak.with_parameter(energy, "units", "keV"),
                      "baseline": np.full(7, 99, np.int32),
                      "waveform": raw_table(n=7, seed=seed + 10).waveform}, depth_limit=1),
              friend, f"{ch}/dsp")
    return raw, friend


def config(friend, **entry) -> dict:
    return {
        "inputs": [{"file": str(friend), "group": "ch1/dsp", **entry}],
        "outputs": ["scaled", "wf_peak", "baseline", "f_energy_x"],
        "processors": {
            "scaled": "f_energy_x * 2",
            "wf_peak": {"function": "amax", "module": "numpy", "args": ["f_waveform_x", 1, "wf_peak"], "kwargs": AMAX},
        },
    }


def test_friend_columns_join_row_by_row_with_prefix_and_suffix(files):
    raw, friend = files
    out = build_dsp(raw, config=config(friend, prefix="f_", suffix="_x"), tables="ch1/raw")["ch1/dsp"]
    f = read(friend, "ch1/dsp")
    np.testing.assert_array_equal(out.scaled, ak.to_numpy(f.energy) * 2)
    np.testing.assert_array_equal(out.wf_peak, ak.to_numpy(f.waveform["values"]).max(axis=1))
    # copied through from the friend, under the chain name, with its unit
    np.testing.assert_array_equal(out.f_energy_x, f.energy)
    assert ak.parameters(out.f_energy_x).get("units") == "keV"
    # the raw table's own column, not the friend's (which would be f_baseline_x anyway)
    np.testing.assert_array_equal(out.baseline, read(raw, "ch1/raw").baseline)


def test_friend_file_and_group_come_from_the_channel_database(files):
    raw, friend = files
    cfg = config(friend, prefix="f_", suffix="_x")
    cfg["inputs"][0].update(file="db.friend.file", group="db.friend.group")
    db = {ch: {"friend": {"file": str(friend), "group": f"{ch}/dsp"}} for ch in ("ch1", "ch2")}
    out = build_dsp(raw, config=cfg, database=db)
    for ch, scale in (("ch1", 10.0), ("ch2", 100.0)):
        np.testing.assert_array_equal(out[f"{ch}/dsp"].scaled, np.arange(7) * scale * 2)


def test_friend_with_fewer_rows_is_refused(files, tmp_path):
    raw, _ = files
    short = tmp_path / "short.lh5"
    write(ak.zip({"energy_x": np.zeros(3, np.float32)}), short, "ch1/dsp")
    cfg = {"inputs": {"file": str(short), "group": "ch1/dsp"}, "outputs": ["e"], "processors": {"e": "energy_x + 1"}}
    with pytest.raises(ChainError, match=r"short.lh5:ch1/dsp has 3 rows, .*raw.lh5:ch1/raw has 7"):
        build_dsp(raw, config=cfg, tables="ch1/raw")


@pytest.mark.parametrize(("entry", "message"), [
    ({"file": "x.lh5"}, "missing key 'group'"),
    ({"file": "x.lh5", "group": "g", "prefx": "a"}, "unknown key 'prefx'"),
])
def test_bad_friend_entries_name_the_key(files, entry, message):
    raw, _ = files
    cfg = {"inputs": [entry], "outputs": ["e"], "processors": {"e": "baseline + 1"}}
    with pytest.raises(ChainError, match=rf"inputs\[0\]: {message}"):
        build_dsp(raw, config=cfg)


def test_missing_friend_file_names_it(files, tmp_path):
    raw, _ = files
    cfg = {"inputs": [{"file": str(tmp_path / "nope.lh5"), "group": "ch1/dsp"}], "outputs": ["e"],
           "processors": {"e": "baseline + 1"}}
    with pytest.raises(ChainError, match="nope.lh5 .*does not exist"):
        build_dsp(raw, config=cfg, tables="ch1/raw")


def test_friends_work_with_worker_processes(files, tmp_path):
    raw, friend = files
    cfg = config(friend, prefix="f_", suffix="_x")
    one = build_dsp(raw, config=cfg, tables="ch1/raw")["ch1/dsp"]
    build_dsp(raw, tmp_path / "out.lh5", config=cfg, tables="ch1/raw", jobs=2, chunk_rows=3)
    two = read(tmp_path / "out.lh5", "ch1/dsp")
    for field in one.fields:
        np.testing.assert_array_equal(one[field], two[field])
