"""pygama-ak hit/tcm/evt build on the real p03 cal tiers, and their error messages."""

from __future__ import annotations

import awkward as ak
from conftest import TESTDATA
from typer.testing import CliRunner

from pygama_ak.cli.app import app
from pygama_ak.lh5 import read

TIER = TESTDATA / "lh5/prod-ref-l200/generated/tier"
STAMP = "20230318T012144Z"
runner = CliRunner()


def test_hit_tcm_evt_commands(tmp_path, testdata_dir, reference_dir):
    dsp = TIER / f"dsp/cal/p03/r001/l200-p03-r001-cal-{STAMP}-tier_dsp.lh5"
    raw = TIER / f"raw/cal/p03/r001/l200-p03-r001-cal-{STAMP}-tier_raw.lh5"
    hit = TIER / f"hit/cal/p03/r001/l200-p03-r001-cal-{STAMP}-tier_hit.lh5"
    res = runner.invoke(app, ["hit", "build", str(dsp), "-c", str(reference_dir / "configs/hit-basic.json"),
                              "--outdir", str(tmp_path)])
    assert res.exit_code == 0, res.output
    ours = tmp_path / f"l200-p03-r001-cal-{STAMP}-tier_hit.lh5"
    assert "3 tables, 30 rows" in res.output and ours.exists()
    res = runner.invoke(app, ["tcm", "build", str(raw), "--coin-col", "eventnumber", "--outdir", str(tmp_path),
                              "--compression", "zstd"])
    assert res.exit_code == 0, res.output
    tcm = tmp_path / f"l200-p03-r001-cal-{STAMP}-tier_tcm.lh5"
    ref = read(reference_dir / f"tcm/l200-p03-r001-cal-{STAMP}-eventnumber_tcm.lh5", "hardware_tcm_1")
    assert ak.to_list(read(tcm, "hardware_tcm_1").table_key) == ak.to_list(ref.table_key)
    out = tmp_path / "evt.lh5"
    args = ["evt", "build", "--tcm", str(tcm), "--hit", str(hit), "--dsp", str(dsp),
            "-c", str(reference_dir / "configs/evt-basic.yaml"), "-o", str(out)]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    assert "22 events" in res.output and len(read(out, "evt")) == 22
    again = runner.invoke(app, args)  # refuses to replace the output
    assert again.exit_code == 1 and "output exists" in again.output


def test_bad_config_is_one_clear_line(tmp_path, testdata_dir):
    dsp = TIER / f"dsp/cal/p03/r001/l200-p03-r001-cal-{STAMP}-tier_dsp.lh5"
    cfg = tmp_path / "bad.json"
    cfg.write_text('{"operations": {"x": {"expression": "__import__(\\"os\\")"}}}')
    res = runner.invoke(app, ["hit", "build", str(dsp), "-c", str(cfg), "--outdir", str(tmp_path)])
    assert res.exit_code == 1
    assert "error:" in res.output and "bad.json" in res.output and "Traceback" not in res.output


def test_hit_build_jobs_equals_one_by_one(tmp_path, testdata_dir, reference_dir):
    dsp = sorted((TIER / "dsp/cal/p03/r001").glob("*.lh5"))
    assert len(dsp) >= 2
    for folder, jobs in (("serial", "1"), ("pool", "2")):
        (tmp_path / folder).mkdir()
        res = runner.invoke(app, ["hit", "build", *map(str, dsp), "-c", str(reference_dir / "configs/hit-basic.json"),
                                  "--outdir", str(tmp_path / folder), "--jobs", jobs])
        assert res.exit_code == 0, res.output
    for path in dsp:
        name = path.name.replace("tier_dsp", "tier_hit")
        for ch in ("ch1084803/hit", "ch1121600/hit"):
            a, b = read(tmp_path / "serial" / name, ch), read(tmp_path / "pool" / name, ch)
            assert a.fields == b.fields and all(ak.to_list(a[f]) == ak.to_list(b[f]) for f in a.fields)
