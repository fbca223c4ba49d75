"""dsp tier, ours vs dspeed 2.4.3: the icpc config on ≥ 30 000 real-shaped HPGe waveforms.

Run in the anchors venv (it has dspeed 2.4.3 and pygama_ak)::

    .venv-anchors/bin/python benchmarks/dsp.py [--tile 1000] [--reps 2] [--jobs 2]

Input: the 30 real p03 r001 cal waveforms (3 channels × 10 rows, 8192 uint16 samples at 16 ns)
of ``$PYGAMA_AK_TESTDATA`` tiled ``--tile`` times with ±1 ADC Gaussian jitter (dsp.md §4.1),
written uncompressed to ``bench-output/dsp/raw_x<tile>.lh5`` (cached). Config:
``$PYGAMA_AK_REFERENCE/configs/dsp-icpc.json`` with the flat database dspeed's tests use.

Every timed call runs in a fresh process with a warm numba cache (a warm-up process runs
first). Columns: wall of the whole ``build_dsp`` call (setup + read + process + write, gzip
output like lgdo), waveforms/s, the chain-build time in a fresh process (ours:
``ProcessingChain`` for one table after ``import``; dspeed: ``build_processing_chain``; both
with the empty channel database that ``build_dsp`` passes for this flat database), and
the process's peak RSS. Ratio = dspeed wall / ours. ``--jobs N`` adds our run with N workers
(dspeed has no parallel mode; LEGEND runs one process per file). ``--no-dspeed`` skips
dspeed, for the scaling figure on a larger input (``--tile 4000``: 120 000 waveforms), where
the ~1 s of serial set-up every fresh process pays (numba's own initialisation, imports,
loading the kernels) weighs less.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
TESTDATA = Path(os.environ.get("PYGAMA_AK_TESTDATA", "/work/shared/testdata"))
REFERENCE = Path(os.environ.get("PYGAMA_AK_REFERENCE", TESTDATA.parent / "reference"))
RAW = TESTDATA / "lh5/prod-ref-l200/generated/tier/raw/cal/p03/r001/l200-p03-r001-cal-20230318T012144Z-tier_raw.lh5"
CONFIG = REFERENCE / "configs" / "dsp-icpc.json"
DATABASE = {"pz": {"tau": 27460.5}}


def make_input(tile: int, out: Path) -> Path:
    """The real waveforms tiled ``tile`` times with ±1 ADC jitter, uncompressed (cached)."""
    import awkward as ak
    import numpy as np

    from pygama_ak.lh5 import read, write

    path = out / f"raw_x{tile}.lh5"
    if path.exists():
        return path
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(1)
    tmp = path.with_suffix(".tmp")
    tmp.unlink(missing_ok=True)
    for table in ("ch1084803/raw", "ch1084804/raw", "ch1121600/raw"):
        src = read(RAW, table, fields=["baseline", "waveform", "timestamp"])
        wf = src.waveform
        values = np.tile(ak.to_numpy(wf["values"]), (tile, 1)).astype(np.int32)
        values += np.rint(rng.normal(0, 1, values.shape)).astype(np.int32)
        n = len(values)
        waveform = ak.zip({
            "t0": ak.with_parameter(np.tile(ak.to_numpy(wf.t0), tile), "units", "ns"),
            "dt": ak.with_parameter(np.tile(ak.to_numpy(wf.dt), tile), "units", "ns"),
            "values": np.clip(values, 0, 65535).astype(np.uint16),
        }, depth_limit=1)
        columns = {"baseline": np.tile(ak.to_numpy(src.baseline), tile), "waveform": waveform,
                   "timestamp": ak.with_parameter(np.arange(n, dtype=np.float64), "units", "s")}
        write(ak.zip(columns, depth_limit=1), tmp, table, compression=None)
    tmp.rename(path)
    return path


# -- one timed call in this (fresh) process ------------------------------------------------------
def worker(impl: str, raw: str, out: str, jobs: int) -> dict:
    import resource

    t0 = time.perf_counter()
    if impl == "dspeed":
        import dspeed

        t_import = time.perf_counter() - t0
        t1 = time.perf_counter()
        dspeed.build_dsp(raw, out, dsp_config=str(CONFIG), database=DATABASE, write_mode="r")
    else:
        from pygama_ak.dsp.build_dsp import build_dsp

        t_import = time.perf_counter() - t0
        t1 = time.perf_counter()
        build_dsp(raw, out, config=CONFIG, database=DATABASE, overwrite=True, jobs=jobs)
    wall = time.perf_counter() - t1
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"wall": wall, "import": t_import, "rss": max(peak, children)}


def chain_build(impl: str) -> dict:
    """Seconds to import and build the chain for one table in a fresh process."""
    t0 = time.perf_counter()
    if impl == "dspeed":
        import lh5
        from dspeed import build_processing_chain

        table = lh5.read("ch1084803/raw", str(RAW))
        config = json.loads(CONFIG.read_text())
        t1 = time.perf_counter()
        build_processing_chain(config, table, db_dict={})
    else:
        from pygama_ak.dsp.build_dsp import input_columns
        from pygama_ak.dsp.chain import ProcessingChain
        from pygama_ak.dsp.config import parse_config
        from pygama_ak.lh5 import read

        head = read(RAW, "ch1084803/raw", rows=(0, 1))
        t1 = time.perf_counter()
        ProcessingChain(parse_config(CONFIG), input_columns(head), {})
    now = time.perf_counter()
    return {"build": now - t1, "import_and_build": now - t0}


def run_child(args: list[str]) -> dict:
    proc = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{args}: {proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tile", type=int, default=1000, help="copies of the 30 real waveforms (default 1000)")
    p.add_argument("--reps", type=int, default=2)
    p.add_argument("--jobs", type=int, default=2, help="workers for our parallel run (0: skip)")
    p.add_argument("--no-dspeed", action="store_true",
                   help="only ours ×1 vs ×jobs (scaling on a larger --tile without dspeed's minutes)")
    p.add_argument("--worker", nargs=4, metavar=("IMPL", "RAW", "OUT", "JOBS"), help=argparse.SUPPRESS)
    p.add_argument("--chain", metavar="IMPL", help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.worker:
        impl, raw, out, jobs = a.worker
        print(json.dumps(worker(impl, raw, out, int(jobs))))
        return 0
    if a.chain:
        print(json.dumps(chain_build(a.chain)))
        return 0
    raw = make_input(a.tile, ROOT / "bench-output" / "dsp")
    n = 30 * a.tile
    size = raw.stat().st_size / 1e6
    print(f"input: {raw} ({n} waveforms × 8192 samples, {size:.0f} MB)")
    impls = ("ours",) if a.no_dspeed else ("dspeed", "ours")
    runs = [(impl, 1) for impl in impls] + ([("ours", a.jobs)] if a.jobs > 1 else [])
    with tempfile.TemporaryDirectory() as tmp:
        for impl in impls:  # warm the numba caches
            run_child(["--chain", impl])
        results: dict[tuple[str, int], list[dict]] = {r: [] for r in runs}
        for _ in range(a.reps):
            for impl, jobs in runs:
                out = str(Path(tmp) / f"{impl}{jobs}.lh5")
                results[(impl, jobs)].append(run_child(["--worker", impl, str(raw), out, str(jobs)]))
        chains = {impl: [run_child(["--chain", impl]) for _ in range(a.reps)] for impl in impls}
    base = statistics.median(r["wall"] for r in results[(impls[0], 1)])
    ours1 = statistics.median(r["wall"] for r in results[("ours", 1)])
    print(f"{'run':<16}{'wall s':>9}{'wf/s':>10}{'MB/s':>8}{'peak RSS MB':>13}{'vs ' + impls[0]:>11}")
    for (impl, jobs), rs in results.items():
        wall = statistics.median(r["wall"] for r in rs)
        rss = max(r["rss"] for r in rs)
        print(f"{impl + f' ×{jobs}':<16}{wall:9.2f}{n / wall:10.0f}{size / wall:8.0f}{rss:13.0f}{base / wall:10.2f}×")
    if a.jobs > 1:
        par = statistics.median(r["wall"] for r in results[("ours", a.jobs)])
        print(f"scaling ours ×{a.jobs} vs ×1: {ours1 / par:.2f}×")
    for impl, cs in chains.items():
        print(f"chain build, fresh process ({impl}): {statistics.median(c['build'] for c in cs):.2f} s "
              f"(with imports {statistics.median(c['import_and_build'] for c in cs):.2f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
