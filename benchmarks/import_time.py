"""Start-up costs: ``import pygama_ak``, ``pygama-ak --help`` and the first read, vs lgdo.

Each statement runs in a fresh interpreter ``--runs`` times; the best and median wall times
are printed. Run with ``.venv-anchors/bin/python benchmarks/import_time.py`` to include lgdo.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

TESTDATA = Path(os.environ.get("PYGAMA_AK_TESTDATA", Path(__file__).resolve().parents[1] / "../shared/testdata"))
P14 = TESTDATA / "lh5/prod-ref-l200/generated/tier/raw/cal/p14/r005/l200-p14-r004-cal-20250606T010224Z-tier_raw.lh5"

STATEMENTS = {
    "python -c pass": "pass",
    "import pygama_ak": "import pygama_ak",
    "import pygama_ak.cli.app": "import pygama_ak.cli.app",
    "import pygama_ak.lh5 (h5py+awkward)": "import pygama_ak.lh5",
    "ours: first read of p14 raw (decode wf)": f"from pygama_ak.lh5 import read; read({str(P14)!r}, 'ch1105600/raw')",
    "import lgdo, lh5": "import lgdo, lh5",
    "lgdo: first read of p14 raw (decode wf)": f"import lh5; lh5.read('ch1105600/raw', {str(P14)!r})",
}


def run(statement: str, runs: int) -> list[float] | None:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-c", statement], capture_output=True, text=True)
        times.append(time.perf_counter() - t0)
        if proc.returncode != 0:
            return None
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    print(f"{'statement':45s} {'best s':>8s} {'median s':>9s}")
    for label, statement in STATEMENTS.items():
        times = run(statement, args.runs)
        if times is None:
            print(f"{label:45s} {'n/a (not installed here)':>18s}")
            continue
        print(f"{label:45s} {min(times):8.3f} {statistics.median(times):9.3f}")
    cli = Path(sys.executable).with_name("pygama-ak")
    if cli.exists():
        times = []
        for _ in range(args.runs):
            t0 = time.perf_counter()
            subprocess.run([str(cli), "--help"], capture_output=True, check=True)
            times.append(time.perf_counter() - t0)
        print(f"{'pygama-ak --help':45s} {min(times):8.3f} {statistics.median(times):9.3f}")


if __name__ == "__main__":
    main()
