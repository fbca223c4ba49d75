"""``pygama-ak simulate``: a DAQ file the raw tier decodes, never overwritten unasked."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from pygama_ak.cli.app import app
from pygama_ak.daq.simulators import SIMULATORS
from pygama_ak.raw import build_raw

runner = CliRunner()


@pytest.mark.parametrize("fmt", sorted(SIMULATORS))
def test_simulated_file_decodes_with_the_requested_events(tmp_path, fmt):
    out = tmp_path / f"run.{fmt}"
    result = runner.invoke(app, ["simulate", "--format", fmt, "--events", "40", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.stat().st_size > 0
    summary = build_raw(out, tmp_path / "raw.lh5")
    assert sum(summary.decoded.values()) >= 40


def test_existing_file_is_kept_without_overwrite(tmp_path):
    out = tmp_path / "run.fcio"
    out.write_bytes(b"keep me")
    result = runner.invoke(app, ["simulate", "--events", "5", "--out", str(out)])
    assert result.exit_code == 1 and "--overwrite" in result.output
    assert out.read_bytes() == b"keep me"


def test_unknown_format_lists_the_known_ones(tmp_path):
    result = runner.invoke(app, ["simulate", "--format", "nope", "--out", str(tmp_path / "x")])
    assert result.exit_code == 1 and "fcio" in result.output
