"""Scaling of the chain over many files: 1 worker, a local process pool, a Dask LocalCluster.

    .venv/bin/python benchmarks/scale.py [--files 8] [--events 600] [--workers 2]

Input: ``--files`` simulated FCIO Th-228 runs (``pygama_ak.daq.simulate``, 3 HPGe channels,
2000 samples) in a temporary folder, converted to raw once (untimed: the raw tier's gzip
compression already runs in threads, so one raw worker uses both cores). Each configuration
then runs ``run_chain`` with the dsp tier (the demo HPGe config) from scratch; the wall time
includes the workers' start-up. Printed: wall, waveforms/s, the speed-up of the pool over one
worker, and Dask vs the pool.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DSP_CONFIG = HERE.parent / "pygama_ak" / "dsp" / "configs" / "hpge-demo.json"


def run_once(daq: Path, out: Path, **kwargs) -> tuple[float, int]:
    """Time the dsp tier of ``run_chain`` (raw outputs in ``out`` are up to date)."""
    import shutil

    from pygama_ak.run.chain import run_chain

    run = {"inputs": [str(daq / "*.fcio")], "output": str(out),
           "tiers": {"raw": {}, "dsp": {"config": str(DSP_CONFIG)}}}
    path = out.with_suffix(".json")
    path.write_text(json.dumps(run))
    run_chain(path, jobs=2)  # raw (and dsp) once; then only dsp is timed
    shutil.rmtree(out / "tier" / "dsp")
    t0 = time.perf_counter()
    summary = run_chain(path, **kwargs)
    wall = time.perf_counter() - t0
    assert summary["raw"].skipped == summary["raw"].ok + summary["raw"].skipped
    assert summary["dsp"].failed == 0 and summary["dsp"].skipped == 0
    return wall, summary["dsp"].rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--files", type=int, default=8)
    p.add_argument("--events", type=int, default=600)
    p.add_argument("--workers", type=int, default=2)
    a = p.parse_args(argv)
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
        results = {}
        out = Path(tmp) / "gen"
        results["1 worker"] = run_once(daq, out, jobs=1)
        results[f"pool ×{a.workers}"] = run_once(daq, out, jobs=a.workers)
        with LocalCluster(n_workers=a.workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                          dashboard_address=None) as cluster:
            results[f"dask ×{a.workers}"] = run_once(daq, out, scheduler=cluster.scheduler_address)
    print(f"{'run':<12}{'wall s':>8}{'wf/s':>9}")
    for name, (wall, rows) in results.items():
        print(f"{name:<12}{wall:8.2f}{rows / wall:9.0f}")
    serial = results["1 worker"][0]
    pool = results[f"pool ×{a.workers}"][0]
    dask = results[f"dask ×{a.workers}"][0]
    print(f"pool ×{a.workers} vs 1 worker: {serial / pool:.2f}× (goal ≥ 1.8×)")
    print(f"dask vs pool: {dask / pool:.2f}× the pool's time (goal ≤ 1.2×)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
