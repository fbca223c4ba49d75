"""Shared fixtures: where the real LEGEND test files and the reference outputs are.

``PYGAMA_AK_TESTDATA`` (default ``../shared/testdata`` beside the repository) points at a copy
of legend-testdata's ``data/`` folder; ``PYGAMA_AK_REFERENCE`` (default: ``reference`` beside
it) at the established tools' outputs. Tests that need them skip with the reason when absent.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def _env_dir(var: str, default: Path) -> Path:
    value = os.environ.get(var)
    path = Path(value) if value else default
    return path if path.is_absolute() else (REPO / path)


TESTDATA = _env_dir("PYGAMA_AK_TESTDATA", Path("../shared/testdata")).resolve()
REFERENCE = _env_dir("PYGAMA_AK_REFERENCE", TESTDATA.parent / "reference").resolve()


@pytest.fixture(scope="session")
def testdata_dir() -> Path:
    """The real LEGEND test files (skips when absent)."""
    if not TESTDATA.is_dir():
        pytest.skip(f"real test data not found at {TESTDATA} (set PYGAMA_AK_TESTDATA)")
    return TESTDATA


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    """Outputs of the established tools on the test files (skips when absent)."""
    if not REFERENCE.is_dir():
        pytest.skip(f"reference outputs not found at {REFERENCE} (set PYGAMA_AK_REFERENCE)")
    return REFERENCE


def lh5_files() -> list[Path]:
    """Every LH5 file of the test data and reference folders (empty when absent)."""
    files: list[Path] = []
    for root in (TESTDATA, REFERENCE):
        if root.is_dir():
            files += sorted(root.rglob("*.lh5"))
    return files


P03_RAW = "lh5/prod-ref-l200/generated/tier/raw/cal/p03/r001"
P03_CHANNELS = ("ch1084803", "ch1084804", "ch1121600")


@pytest.fixture(scope="session")
def p03_waveforms(testdata_dir) -> tuple:
    """The 30 real p03 cal waveforms (uint16, 8192 samples at 16 ns) and their DAQ baselines."""
    import awkward as ak
    import numpy as np

    from pygama_ak.lh5 import read

    files = sorted((testdata_dir / P03_RAW).glob("*.lh5"))
    if not files:
        pytest.skip("p03 raw files not in the test data")
    tables = [read(path, f"{ch}/raw", fields=["waveform/values", "baseline"])
              for path in files for ch in P03_CHANNELS]
    waves = np.concatenate([ak.to_numpy(t.waveform["values"]) for t in tables])
    return waves, np.concatenate([ak.to_numpy(t.baseline) for t in tables])
