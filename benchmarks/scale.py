"""Scaling of the chain over many files: 1 worker, a local process pool, a Dask LocalCluster.

    .venv/bin/python benchmarks/scale.py [--files 8] [--events 8000] [--workers 2] [--reps 3]

Input: ``--files`` simulated FCIO Th-228 runs (``pygama_ak.daq.simulate``, 3 HPGe channels,
2000 samples) in a temporary folder, converted to raw once (untimed: the raw tier's gzip
compression already runs in threads, so one raw worker uses both cores). Each configuration
then runs ``run_chain`` with the dsp tier (the demo HPGe config) in a fresh process, as a
user's ``pygama-ak chain`` would: one process, a local pool (forked in that run after the
parent has built the chain), or the Dask LocalCluster started beforehand (fresh workers,
running idle). Children get the environment this script started with: starting a
LocalCluster adds ``MALLOC_TRIM_THRESHOLD_=65536`` and friends to ``os.environ``, which
would otherwise reach them (``pygama_ak`` undoes that malloc setting itself, see
``run.executors.undo_frozen_malloc``). The wall time
is that of the ``run_chain`` call, workers' start-up and imports included. Runs of the three
configurations are interleaved ``--reps`` times; printed: median wall, waveforms/s, every run,
the speed-up of the pool over one worker, and Dask vs the pool.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DSP_CONFIG = HERE.parent / "pygama_ak" / "dsp" / "configs" / "hpge-demo.json"


def prepare(daq: Path, out: Path) -> Path:
    """The run config; raw outputs made once (untimed), so that only the dsp tier runs later."""
    from pygama_ak.run.chain import run_chain

    run = {"inputs": [str(daq / "*.fcio")], "output": str(out),
           "tiers": {"raw": {}, "dsp": {"config": str(DSP_CONFIG)}}}
    path = out.with_suffix(".json")
    path.write_text(json.dumps(run))
    run_chain(path, jobs=2)
    return path


def child(path: str, kwargs: dict) -> dict:
    """In a fresh process, as a user's ``pygama-ak chain``: time ``run_chain`` (dsp tier only)."""
    from pygama_ak.run.chain import run_chain

    t0 = time.perf_counter()
    summary = run_chain(path, **kwargs)
    wall = time.perf_counter() - t0
    assert summary["raw"].ok == 0 and summary["dsp"].failed == 0 and summary["dsp"].skipped == 0
    return {"wall": wall, "rows": summary["dsp"].rows}


#: this process's environment before distributed's LocalCluster adds its worker settings
#: (``MALLOC_TRIM_THRESHOLD_``, ``OMP_NUM_THREADS``, ...) to it: children get a user's shell
USER_ENV = dict(os.environ)


def run_once(path: Path, **kwargs) -> tuple[float, int]:
    """Remove the dsp outputs, then time one fresh process running the chain."""
    import shutil
    import subprocess
    import sys

    shutil.rmtree(path.with_suffix("") / "tier" / "dsp", ignore_errors=True)
    proc = subprocess.run([sys.executable, __file__, "--child", str(path), json.dumps(kwargs)],
                          capture_output=True, text=True, check=False, env=USER_ENV)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-3000:])
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    return result["wall"], result["rows"]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--files", type=int, default=8)
    p.add_argument("--events", type=int, default=8000, help="events per file (×3 channels)")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--reps", type=int, default=1, help="runs per configuration (median)")
    p.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.child:
        print(json.dumps(child(a.child[0], json.loads(a.child[1]))))
        return 0
    import statistics

    from distributed import LocalCluster

    from pygama_ak.daq.simulate import simulate_fcio
    from pygama_ak.dsp.warmup import warmup

    warmup()
    with tempfile.TemporaryDirectory() as tmp:
        daq = Path(tmp) / "daq"
        daq.mkdir()
        for i in range(a.files):
            simulate_fcio(daq / f"cycle{i:03d}.fcio", a.events, seed=i, start_time_s=1000.0 * i)
        size = sum(f.stat().st_size for f in daq.iterdir()) / 1e6
        print(f"input: {a.files} simulated FCIO files, {size:.0f} MB")
        runs: dict[str, list] = {}
        path = prepare(daq, Path(tmp) / "gen")
        with LocalCluster(n_workers=a.workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                          dashboard_address=None) as cluster:
            for _ in range(a.reps):  # interleaved, so that load changes hit every configuration
                runs.setdefault("1 worker", []).append(run_once(path, jobs=1))
                runs.setdefault(f"pool ×{a.workers}", []).append(run_once(path, jobs=a.workers))
                runs.setdefault(f"dask ×{a.workers}", []).append(
                    run_once(path, scheduler=cluster.scheduler_address))
        results = {k: (statistics.median(w for w, _ in v), v[0][1]) for k, v in runs.items()}
    print(f"{'run':<12}{'wall s':>8}{'wf/s':>9}  all runs")
    for name, (wall, rows) in results.items():
        print(f"{name:<12}{wall:8.2f}{rows / wall:9.0f}  {', '.join(f'{w:.2f}' for w, _ in runs[name])}")
    serial = results["1 worker"][0]
    pool = results[f"pool ×{a.workers}"][0]
    dask = results[f"dask ×{a.workers}"][0]
    print(f"pool ×{a.workers} vs 1 worker: {serial / pool:.2f}× (goal ≥ 1.8×)")
    print(f"dask vs pool: {dask / pool:.2f}× the pool's time (goal ≤ 1.2×)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
