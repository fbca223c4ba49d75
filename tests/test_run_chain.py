"""run_chain: simulated FCIO files through raw → dsp → hit → tcm → evt, locally and on Dask."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import awkward as ak
import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from pygama_ak.cli.app import app
from pygama_ak.daq.simulate import simulate_fcio
from pygama_ak.lh5 import read
from pygama_ak.run.chain import TIERS, load_run_config, run_chain

DSP_CONFIG = Path(__file__).resolve().parent.parent / "pygama_ak" / "dsp" / "configs" / "hpge-demo.json"
CHANNELS = ["ch1600", "ch1601", "ch1602"]
HIT = {"outputs": ["timestamp", "energy", "is_valid"], "operations": {
    "energy": {"expression": "trapEmax / 4.0", "lgdo_attrs": {"units": "keV"}},
    "is_valid": {"expression": "(tp_0_est > 0) & (energy > 25)"}}}
EVT = {"channels": {"geds": CHANNELS}, "outputs": ["multiplicity", "energy_sum"], "operations": {
    "multiplicity": {"channels": "geds", "aggregation_mode": "sum", "expression": "hit.is_valid", "initial": 0},
    "energy_sum": {"channels": "geds", "aggregation_mode": "sum", "query": "hit.is_valid",
                   "expression": "hit.energy", "initial": 0.0}}}


@pytest.fixture(scope="module")
def daq_files(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("daq")
    for i in range(4):
        simulate_fcio(folder / f"cycle{i}.fcio", 30, seed=10 + i, n_samples=1200, start_time_s=100.0 * i)
    return folder


def write_run(folder: Path, daq: Path, output: str, inputs: str = "*.fcio") -> Path:
    (folder / "hit.json").write_text(json.dumps(HIT))
    (folder / "evt.json").write_text(json.dumps(EVT))
    run = {"inputs": [str(daq / inputs)], "output": output, "tiers": {
        "raw": {}, "dsp": {"config": str(DSP_CONFIG)}, "hit": {"config": "hit.json"},
        "tcm": {"coin_col": "eventnumber"}, "evt": {"config": "evt.json"}}}
    path = folder / "run.yaml"
    path.write_text(yaml.safe_dump(run))
    return path


def outputs_of(root: Path) -> dict[str, ak.Array]:
    out = {}
    for path in sorted(root.rglob("*.lh5")):
        for table in ("evt", *(f"{c}/{t}" for c in CHANNELS for t in ("dsp", "hit"))):
            try:
                out[f"{path.name}:{table}"] = read(path, table)
            except Exception:  # noqa: BLE001 - the table is not in this tier
                continue
    return out


def assert_same_outputs(a: Path, b: Path) -> None:
    ours, theirs = outputs_of(a), outputs_of(b)
    assert sorted(ours) == sorted(theirs) and ours
    for key in ours:
        assert ak.to_list(ours[key]) == ak.to_list(theirs[key]), key


@pytest.fixture(scope="module")
def serial_run(daq_files, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("serial")
    summary = run_chain(write_run(folder, daq_files, "gen"), jobs=1)
    assert {t: (s.ok, s.failed) for t, s in summary.items()} == dict.fromkeys(TIERS, (4, 0))
    return folder / "gen"


def test_every_tier_is_written_for_every_cycle(serial_run):
    for tier in TIERS:
        assert len(list((serial_run / "tier" / tier).glob("cycle*-tier_*.lh5"))) == 4
    evt = read(serial_run / "tier" / "evt" / "cycle0-tier_evt.lh5", "evt")
    assert len(evt) == 30 and (ak.to_numpy(evt.multiplicity) >= 1).all()
    hit = read(serial_run / "tier" / "hit" / "cycle0-tier_hit.lh5", "ch1600/hit")
    assert ak.parameters(hit.energy)["units"] == "keV"


def test_second_run_skips_everything_up_to_date(serial_run):
    summary = run_chain(serial_run.parent / "run.yaml", jobs=1)
    assert {t: (s.ok, s.skipped) for t, s in summary.items()} == dict.fromkeys(TIERS, (0, 4))


def test_changed_config_redoes_that_tier_and_the_tiers_after_it(daq_files, tmp_path):
    run = write_run(tmp_path, daq_files, "gen", inputs="cycle0.fcio")
    run_chain(run, jobs=1)
    (tmp_path / "hit.json").write_text(json.dumps({**HIT, "operations": {
        **HIT["operations"], "energy": {"expression": "trapEmax / 4.01"}}}))
    summary = run_chain(run, jobs=1)
    assert {t: s.ok for t, s in summary.items()} == {"raw": 0, "dsp": 0, "hit": 1, "tcm": 0, "evt": 1}


def test_process_pool_equals_serial(daq_files, serial_run, tmp_path):
    run_chain(write_run(tmp_path, daq_files, "gen"), jobs=2)
    assert_same_outputs(tmp_path / "gen", serial_run)


def test_dask_local_cluster_equals_serial(daq_files, serial_run, tmp_path):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None) as cluster:
        summary = run_chain(write_run(tmp_path, daq_files, "gen"), scheduler=cluster.scheduler_address)
        # the tier commands take the same --scheduler: dsp chunks and hit files on the cluster
        raw = sorted((serial_run / "tier" / "raw").glob("*.lh5"))[0]
        res = CliRunner().invoke(app, ["dsp", "build", str(raw), "-c", str(DSP_CONFIG), "-o",
                                       str(tmp_path / "dsp.lh5"), "--scheduler", cluster.scheduler_address])
        assert res.exit_code == 0, res.output
    assert all(s.ok == 4 for s in summary.values())
    assert_same_outputs(tmp_path / "gen", serial_run)
    expected = serial_run / "tier" / "dsp" / raw.name.replace("tier_raw", "tier_dsp")
    for table in ("ch1600/dsp", "ch1601/dsp"):
        a, b = read(tmp_path / "dsp.lh5", table), read(expected, table)
        assert all(np.array_equal(a[f], b[f], equal_nan=True) for f in b.fields), table


def test_corrupt_file_is_reported_and_skipped(daq_files, tmp_path):
    daq = tmp_path / "daq"
    daq.mkdir()
    for name in ("cycle0.fcio", "cycle1.fcio"):
        (daq / name).write_bytes((daq_files / name).read_bytes())
    data = (daq_files / "cycle2.fcio").read_bytes()
    (daq / "cycle2.fcio").write_bytes(data[: len(data) // 2 + 7])  # cut inside a record
    run = write_run(tmp_path, daq, "gen")
    with pytest.raises(RuntimeError, match=r"raw cycle2: .*cycle2.fcio: truncated file"):
        run_chain(run, jobs=1)
    summary = run_chain(run, jobs=1, skip_bad_files=True)
    assert summary["raw"].failed == 1 and "cycle2" in summary["raw"].errors[0]
    assert summary["evt"].ok + summary["evt"].skipped == 2
    assert not (tmp_path / "gen" / "tier" / "raw" / "cycle2-tier_raw.lh5").exists()


def test_killed_run_resumes_without_redoing_or_leaving_partial_files(daq_files, serial_run, tmp_path):
    run = write_run(tmp_path, daq_files, "gen")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    proc = subprocess.Popen([sys.executable, "-m", "pygama_ak.cli.app", "chain", str(run), "--jobs", "1"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    dsp = tmp_path / "gen" / "tier" / "dsp"
    deadline = time.time() + 120
    while time.time() < deadline and len(list(dsp.glob("*.lh5"))) < 2:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    finished = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "gen").rglob("*.lh5")}
    assert finished, "the run was killed before it wrote anything"
    summary = run_chain(run, jobs=1)
    assert summary["raw"].skipped == 4  # raw had finished before the kill
    assert sum(s.skipped for s in summary.values()) >= len(finished)
    for name, mtime in finished.items():  # completed outputs were not rewritten
        assert next((tmp_path / "gen").rglob(name)).stat().st_mtime_ns == mtime
    leftovers = [p for p in (tmp_path / "gen").rglob(".*")]
    assert leftovers == []
    assert_same_outputs(tmp_path / "gen", serial_run)


def test_run_config_errors_name_the_file(tmp_path, daq_files):
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump({"inputs": [str(daq_files / "*.fcio")], "output": "g",
                                    "tiers": {"hit": {"config": "x"}}}))
    with pytest.raises(ValueError, match=rf"{path}: tier 'hit' needs tier 'dsp'"):
        load_run_config(path)
    path.write_text(yaml.safe_dump({"inputs": ["nothing*.fcio"], "output": "g", "tiers": {}}))
    with pytest.raises(ValueError, match="no input matches 'nothing\\*.fcio'"):
        load_run_config(path)
    assert np.__version__  # numpy imported for the fixtures' waveforms


def test_items_run_largest_inputs_first(tmp_path):
    from pygama_ak.run.chain import Item, largest_first

    sizes = [10, 3000, 0, 700]
    items = []
    for i, n in enumerate(sizes):
        path = tmp_path / f"c{i}.fcio"
        path.write_bytes(b"x" * n)
        items.append(Item("raw", f"c{i}", {"daq": str(path)}, str(tmp_path / f"o{i}.lh5"), {}, ("", "")))
    items.append(Item("raw", "gone", {"daq": str(tmp_path / "missing.fcio")}, str(tmp_path / "o.lh5"), {}, ("", "")))
    assert largest_first(items) == [1, 3, 0, 2, 4]
