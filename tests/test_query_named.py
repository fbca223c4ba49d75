"""Named queries (files of literal data, never executed) and ``pygama-ak query list/run``."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest
from test_query_synthetic import make_tree
from typer.testing import CliRunner

from pygama_ak.cli.query import app
from pygama_ak.query.dataset import Dataset
from pygama_ak.query.named import QueryError, list_queries, load_file, load_query

REPO_QUERIES = ("calibration_peaks", "physics_candidates", "tl208_waveforms")
TIER = "lh5/prod-ref-l200/generated/tier"

GOOD = '''"""High-energy valid hits.

A test query.
"""

QUERY = {
    "level": "hits",
    "runs": "type == 'cal'",
    "params": {"emin": 2500.0},
    "cuts": {
        "valid": {"expr": "hit.is_valid", "description": "quality"},
        "high": "hit.energy_cal > emin",
    },
    "columns": ["hit.energy_cal", "dsp.tp_0_est", "raw.tracelist"],
}
'''


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    root = tmp_path_factory.mktemp("named") / "tier"
    make_tree(root, n=100)
    return root


def test_repository_queries_load_as_data():
    queries, problems = list_queries()
    assert problems == []
    assert [q.name for q in queries][:3] == list(REPO_QUERIES)
    q = load_query("calibration_peaks")
    assert q.description.startswith("Germanium hits in the strong 228Th-chain lines")
    assert [c.name for c in q.cuts] == ["valid_cal", "not_saturated", "above_threshold", "in_peak"]
    assert q.params == {"half_width": 10.0} and q.level == "hits"


def test_query_file_is_never_executed(tmp_path):
    marker = tmp_path / "executed"
    bad = tmp_path / "evil.py"
    bad.write_text(f"QUERY = {{'cuts': {{'a': 'x > 1'}}, 'columns': ['x']}}\n"
                   f"open({str(marker)!r}, 'w').write('ran')\n")
    with pytest.raises(QueryError, match="may only hold a docstring and one assignment"):
        load_file(bad)
    assert not marker.exists()
    bad.write_text("import os\nQUERY = {}\n")
    with pytest.raises(QueryError, match=r"evil.py:1: a query file may only hold"):
        load_file(bad)
    bad.write_text("QUERY = dict(cuts={'a': 'x > 1'}, columns=['x'])\n")
    with pytest.raises(QueryError, match="literals only"):
        load_file(bad)
    bad.write_text("QUERY = {'cuts': {'a': \"__import__('os').system('ls')\"}, 'columns': ['x']}\n")
    with pytest.raises(QueryError, match="cut 'a': only calls of named functions"):
        load_file(bad)


def test_query_validation(tmp_path):
    def check(text: str, match: str, name: str = "q") -> None:
        path = tmp_path / f"{name}.py"
        path.write_text(text)
        with pytest.raises(QueryError, match=match):
            load_file(path)

    check("QUERY = {'cuts': {'a': 'x > 1'}}", "missing key 'columns'")
    check("QUERY = {'cuts': {}, 'columns': ['x']}", "at least one cut")
    check("QUERY = {'cuts': {'a': 'x >'}, 'columns': ['x']}", "syntax error")
    check("QUERY = {'cuts': {'a': 'x'}, 'columns': ['x'], 'colums': 1}", "unknown key 'colums'")
    check("QUERY = {'name': 'other', 'cuts': {'a': 'x'}, 'columns': ['x']}", "differs from the file")
    check("QUERY = {'level': 'runs', 'cuts': {'a': 'x'}, 'columns': ['x']}", "level must be")
    check("QUERY = {'cuts': {'a': 'x'}, 'columns': ['x'], 'params': {'p': [1]}}", "params must map")
    yaml_query = tmp_path / "from_yaml.yaml"
    yaml_query.write_text("description: a YAML query\ncuts:\n  high: hit.energy_cal > 100\n"
                          "columns: [hit.energy_cal]\n")
    q = load_query(yaml_query)
    assert q.name == "from_yaml" and q.cuts[0].expr == "hit.energy_cal > 100"
    with pytest.raises(QueryError, match="no query named 'nope'"):
        load_query("nope", [tmp_path])


def test_named_query_selection(tree, tmp_path):
    (tmp_path / "high_energy.py").write_text(GOOD)
    q = load_query("high_energy", [tmp_path])
    assert q.description == "High-energy valid hits."
    sel = q.selection(Dataset(tree))
    flow = sel.cutflow()
    assert flow.total == 2 * 3 * 100  # two cal cycles, three channels
    frame = sel.frame.collect()
    assert frame.height == flow.selected > 0
    assert (frame["hit.energy_cal"] > 2500).all()
    lower = q.selection(Dataset(tree), params={"emin": 1000.0}, runs="period == 'p01'")
    assert lower.cutflow().total == 2 * 3 * 100 and lower.cutflow().selected > flow.selected / 2


def test_cli_list_and_run(tree, tmp_path):
    folder = tmp_path / "queries"
    folder.mkdir()
    (folder / "high_energy.py").write_text(GOOD)
    (folder / "broken.py").write_text("import os\n")
    runner = CliRunner()
    res = runner.invoke(app, ["list", "--dir", str(folder)])
    assert res.exit_code == 0, res.output
    assert "high_energy" in res.output and "High-energy valid hits." in res.output
    for name in REPO_QUERIES:
        assert name in res.output
    assert "unusable query" in res.output and "broken.py" in res.output
    out = tmp_path / "sel.parquet"
    args = ["run", "high_energy", "--dir", str(folder), "--data", str(tree), "--out", str(out)]
    res = runner.invoke(app, [*args, "--cutflow"], env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    flow = Dataset(tree).selection("hits", ["hit.energy_cal"],
                                   [("valid", "hit.is_valid"), ("high", "hit.energy_cal > 2500")],
                                   runs="type == 'cal'").cutflow()
    for step in flow.steps:
        assert step.name in res.output and f"{step.cumulative:,}" in res.output
    assert f"wrote {flow.selected:,} rows of high_energy" in res.output
    table = pq.read_table(out)
    assert table.num_rows == flow.selected
    assert table.schema.names == ["cycle", "channel", "row", "hit.energy_cal", "dsp.tp_0_est",
                                  "raw.tracelist"]
    assert table.schema.field("hit.energy_cal").metadata == {b"units": b"keV"}
    meta = json.loads(table.schema.metadata[b"pygama_ak"])
    assert meta["query"] == "high_energy" and meta["cuts"]["high"] == "hit.energy_cal > emin"
    before = out.read_bytes()
    res = runner.invoke(app, args)
    assert res.exit_code == 1 and "exists; pass --overwrite" in res.output
    assert out.read_bytes() == before
    res = runner.invoke(app, [*args, "--overwrite", "--param", "emin=2900", "--runs", "run == 'r000'"])
    assert res.exit_code == 0, res.output
    assert 0 < pq.read_table(out).num_rows < flow.selected
    res = runner.invoke(app, ["show", "high_energy", "--dir", str(folder)])
    assert res.exit_code == 0 and "hit.energy_cal > emin" in res.output


def test_cli_run_on_real_data(testdata_dir, tmp_path):
    out = tmp_path / "peaks.parquet"
    res = CliRunner().invoke(app, ["run", "calibration_peaks", "--data", str(testdata_dir / TIER),
                                   "--out", str(out), "--cutflow"], env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    assert "in_peak" in res.output and "wrote 5 rows of calibration_peaks" in res.output
    energies = sorted(pq.read_table(out).column("hit.cuspEmax_ctc_cal").to_pylist())
    assert [round(e) for e in energies] == [582, 583, 583, 585, 2614]
