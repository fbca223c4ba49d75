"""Tier builders, ours vs pygama 2.6.2: build_hit, build_tcm, build_evt on the same scaled input.

Run in the anchors venv (it has pygama 2.6.2, legend-pydataobj 2.0.3, legend-lh5io 0.3.0 and
pygama_ak)::

    .venv-anchors/bin/python benchmarks/tiers.py [--scale K] [--reps 3] [--steps hit,tcm,evt]

Input (``benchmarks/scaled_data.py``, cached under ``bench-output/scaled/``): the real p03 r001
cal cycle ``20230318T012144Z`` of ``$PYGAMA_AK_TESTDATA`` tiled K times — dsp (3 tables ×
10 rows × 59 columns, floats jittered by 1e-4), hit, raw-like ``ch*/raw`` (``timestamp``,
``eventnumber``) and the hardware TCM (22 events/30 hits per tile) — written by our LH5 writer
and read back once with lgdo. Configs from ``$PYGAMA_AK_REFERENCE/configs``
(default ``/work/shared/reference/configs``). Steps:

* ``hit``, ``hit-agg``: build_hit with ``hit-basic.json`` / ``hit-aggregations.json``
  (ours: ``chunk_rows=1_000_000``; pygama: its default ``buffer_len=3200``) — unit: dsp rows
* ``tcm``: build_tcm of ``ch*/raw`` on ``timestamp``, window 0, written as ``hardware_tcm_1``
  (pygama: its default automatic buffer) — unit: hits
* ``evt``: build_evt with ``evt-basic.yaml`` from the tiled TCM, hit and dsp (pygama: its default
  ``buffer_len=1e4``) — unit: events

What is measured: every timed call runs in a fresh process (multiprocessing, "spawn"). The
child first imports the implementation and the libraries it loads lazily (``import`` column,
wall), then times the call alone: wall (``perf_counter``) and CPU = user+sys of the process
(all threads, ``getrusage``). ``RSS imp`` is ``ru_maxrss`` after the imports, ``peak RSS`` is
``ru_maxrss`` after the call (the process's peak, imports included). Figures are medians over
``--reps`` processes per implementation (ours and pygama alternate), [min–max] for wall.
Throughput = n / median time; ratio = pygama time / our time (wall and CPU). The goal checks
use the wall ratio. Afterwards the outputs of the last repetition are compared (hit: every
column within 1e-12 relative; tcm: identical; evt: multiplicity, energy_sum,
energy_any_above1MeV, energy) and OK/DIFF is printed; ``--json`` keeps the raw numbers.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import multiprocessing
import os
import platform
import resource
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
TESTDATA = Path(os.environ.get("PYGAMA_AK_TESTDATA", "/work/shared/testdata"))
REFERENCE = Path(os.environ.get("PYGAMA_AK_REFERENCE", TESTDATA.parent / "reference"))
CONFIGS = REFERENCE / "configs"
IMPLS = ("ours", "pygama")
DEFAULT_SCALE = 30_000  # pygama: ~8 s build_hit, ~20 s build_evt on a 2-core machine


@dataclass(frozen=True)
class Step:
    """One benchmarked builder."""

    name: str
    title: str
    unit: str
    goal: float  # required pygama_time / our_time
    n_key: str  # key of the row count in the scaled data's done.json
    config: str | None = None


STEPS = {
    "hit": Step("hit", "build_hit  hit-basic.json", "rows", 20, "dsp", "hit-basic.json"),
    "hit-agg": Step("hit-agg", "build_hit  hit-aggregations.json", "rows", 20, "dsp",
                    "hit-aggregations.json"),
    "tcm": Step("tcm", "build_tcm  ch*/raw timestamp, window 0", "hits", 2, "raw"),
    "evt": Step("evt", "build_evt  evt-basic.yaml", "events", 50, "tcm_events", "evt-basic.yaml"),
}
PYGAMA_SPEC = {  # pygama 2.6.2 throughput measured in specs/pygama.md §7 (CPU, busy machine)
    "hit": "≈6e4-1e5 rows/s", "hit-agg": "≈6e4-1e5 rows/s", "tcm": "≈2e6 hits/s",
    "evt": "≈2.4e4 events/s",
}


# ----------------------------------------------------------------------------- the calls
def _prepare(step: str, impl: str, data: Path, out: Path) -> Callable[[], object]:
    """Import what ``impl`` needs for ``step`` and return the call to time."""
    config = str(CONFIGS / STEPS[step].config) if STEPS[step].config else ""
    dsp, hit, raw, tcm = (str(data / f"tier_{t}.lh5") for t in ("dsp", "hit", "raw", "tcm"))
    if impl == "ours":
        # libraries our builders import lazily inside the call: import them here
        import awkward  # noqa: F401
        import h5py  # noqa: F401
        import numpy  # noqa: F401
        import polars  # noqa: F401
        import yaml  # noqa: F401

        import pygama_ak.configs  # noqa: F401
        import pygama_ak.lh5.output  # noqa: F401
        import pygama_ak.lh5.read  # noqa: F401
        import pygama_ak.lh5.write  # noqa: F401

        if step in ("hit", "hit-agg"):
            from pygama_ak.hit.build_hit import build_hit

            return lambda: build_hit(dsp, out, config=config, overwrite=True,
                                     chunk_rows=1_000_000)
        if step == "tcm":
            from pygama_ak.evt.tcm import build_tcm, write_tcm

            return lambda: write_tcm(build_tcm([(raw, "ch*/raw")], "timestamp", coin_windows=0),
                                     out, "hardware_tcm_1", overwrite=True)
        from pygama_ak.evt.build_evt import build_evt

        tiers = {"hit": (hit, "hit", "ch{}"), "dsp": (dsp, "dsp", "ch{}")}
        return lambda: build_evt((tcm, "hardware_tcm_1"), tiers, config, out, overwrite=True)

    if step in ("hit", "hit-agg"):
        from pygama.hit import build_hit

        return lambda: build_hit(dsp, outfile=str(out), hit_config=config, wo_mode="of")
    from pygama.evt import build_evt, build_tcm

    if step == "tcm":
        return lambda: build_tcm([(raw, "ch*/raw")], "timestamp", coin_windows=0,
                                 out_file=str(out), out_name="hardware_tcm_1", wo_mode="of")
    info = {"tcm": (tcm, "hardware_tcm_1"), "dsp": (dsp, "dsp", "ch{}"),
            "hit": (hit, "hit", "ch{}"), "evt": (str(out), "evt")}
    return lambda: build_evt(info, config=config, wo_mode="of")


def _cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def timed_call(step: str, impl: str, data: str, out: str, profile: str | None = None) -> dict:
    """Child process: import, then time one call. With ``profile``, dump cProfile stats there."""
    import logging
    import warnings

    warnings.simplefilter("ignore")
    logging.disable(logging.WARNING)
    Path(out).unlink(missing_ok=True)
    rss_start = _rss_mb()
    w0, c0 = time.perf_counter(), _cpu()
    call = _prepare(step, impl, Path(data), Path(out))
    w1, c1 = time.perf_counter(), _cpu()
    rss_import = _rss_mb()
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        w1, c1 = time.perf_counter(), _cpu()
        profiler.runcall(call)
        w2, c2 = time.perf_counter(), _cpu()
        profiler.dump_stats(profile)
    else:
        call()
        w2, c2 = time.perf_counter(), _cpu()
    return {"import_wall": w1 - w0, "import_cpu": c1 - c0, "wall": w2 - w1, "cpu": c2 - c1,
            "rss_start": rss_start, "rss_import": rss_import, "rss_peak": _rss_mb()}


def in_fresh_process(func: Callable[..., Any], *args: Any) -> Any:
    """``func(*args)`` in a fresh spawned process.

    Linux keeps ``ru_maxrss`` across ``execve``: a spawned child starts with the parent's
    current RSS as its peak. So this process stays lean (stdlib only) and everything heavy —
    data generation, lgdo read-back, output checks — also runs in children.
    """
    ctx = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(1, mp_context=ctx) as pool:
        return pool.submit(func, *args).result()


def run_isolated(step: str, impl: str, data: Path, out: Path, profile: str | None = None) -> dict:
    """``timed_call`` in a fresh spawned process."""
    return in_fresh_process(timed_call, step, impl, str(data), str(out), profile)


# ----------------------------------------------------------------------------- input, checks
def prepare_input(scale: int, out: str, compression: str | None) -> tuple[Path, list[str]]:
    """Child process: make (or reuse) the scaled input; read it back once with lgdo."""
    sys.path.insert(0, str(HERE))
    from scaled_data import check_lgdo, make_scaled

    data = make_scaled(scale, out, compression=compression, verbose=False)
    marker = data / "done.json"
    made = json.loads(marker.read_text())
    if "lgdo_problems" not in made:  # checked once per generated directory
        made["lgdo_problems"] = check_lgdo(data)
        marker.write_text(json.dumps(made, indent=1))
    return data, made["lgdo_problems"]


def _h5_columns(path: Path, group: str) -> dict[str, Any]:
    """Datasets under ``group`` (VoVs as ``name/cumulative_length`` etc.) as numpy arrays."""
    import h5py

    out: dict[str, Any] = {}
    with h5py.File(path, "r", locking=False) as f:
        f[group].visititems(lambda n, o: out.__setitem__(n, o[...])
                            if isinstance(o, h5py.Dataset) else None)
    return out


def _close(a, b, rtol: float) -> bool:
    import numpy as np

    if a.shape != b.shape:
        return False
    if a.dtype.kind in "fc" or b.dtype.kind in "fc":
        return bool(np.allclose(a.astype(np.float64), b.astype(np.float64), rtol=rtol, atol=0,
                                equal_nan=True))
    return bool(np.array_equal(a, b))


def check_outputs(step: str, ours: Path, theirs: Path) -> tuple[bool, str]:
    """Compare ours and pygama's outputs: (agree, one-line detail)."""
    import h5py

    if step in ("hit", "hit-agg"):
        with h5py.File(theirs, "r", locking=False) as f:
            tables = sorted(f"{k}/hit" for k in f if "hit" in f[k])
        bad, notes, n_cols = [], [], 0
        for table in tables:
            a, b = _h5_columns(ours, table), _h5_columns(theirs, table)
            if set(a) != set(b):
                bad.append(f"{table}: columns {sorted(set(a) ^ set(b))} in one output only")
            for col in sorted(set(a) & set(b)):
                n_cols += 1
                if not _close(a[col], b[col], 1e-12):
                    bad.append(f"{table}/{col}")
                elif a[col].dtype != b[col].dtype:
                    notes.append(f"{col} {a[col].dtype} vs {b[col].dtype}")
        note = f"; dtypes ours vs pygama: {', '.join(sorted(set(notes)))}" if notes else ""
        if bad:
            return False, "differ: " + ", ".join(bad[:8]) + note
        return True, f"{len(tables)} tables, {n_cols} columns within 1e-12{note}"
    if step == "tcm":
        a, b = _h5_columns(ours, "hardware_tcm_1"), _h5_columns(theirs, "hardware_tcm_1")
        bad = [k for k in sorted(set(a) | set(b))
               if k not in a or k not in b or not _close(a[k], b[k], 0)]
        n = len(a.get("table_key/cumulative_length", []))
        return (not bad, f"{n} events, table_key/row_in_table identical" if not bad
                else "differ: " + ", ".join(bad))
    a, b = _h5_columns(ours, "evt"), _h5_columns(theirs, "evt")
    gated = ("multiplicity", "energy_sum", "energy_any_above1MeV", "energy")
    bad = []
    for name in gated:
        keys = [k for k in b if k == name or k.startswith(name + "/")]
        if not keys or any(k not in a or not _close(a[k], b[k], 1e-12) for k in keys):
            bad.append(name)
    others = sorted({k.split("/")[0] for k in b} - set(gated))
    other_bad = sorted({k.split("/")[0] for k in b if k.split("/")[0] in others
                        and (k not in a or not _close(a[k], b[k], 1e-12))})
    info = (f"; other fields (not gated): {len(others) - len(other_bad)} agree"
            + (f", differ: {', '.join(other_bad)}" if other_bad else ""))
    return (not bad, (f"{', '.join(gated)} agree" if not bad else "differ: " + ", ".join(bad))
            + info)


# ----------------------------------------------------------------------------- reporting
@dataclass
class Result:
    step: Step
    n: int
    runs: dict[str, list[dict]] = field(default_factory=lambda: {i: [] for i in IMPLS})
    check: tuple[bool, str] | None = None

    def median(self, impl: str, key: str) -> float:
        return statistics.median(r[key] for r in self.runs[impl])

    def span(self, impl: str, key: str) -> tuple[float, float]:
        values = [r[key] for r in self.runs[impl]]
        return min(values), max(values)


def _si(x: float) -> str:
    return f"{x:.2e}" if x else "-"


def report(results: list[Result]) -> None:
    head = (f"{'impl':<7} {'n':>9} {'import s':>8} {'wall s [min-max]':>22} {'CPU s':>7} "
            f"{'n/s wall':>9} {'n/s CPU':>9} {'RSS imp':>8} {'peak RSS':>9}")
    for res in results:
        print(f"\n== {res.step.title}  ({res.step.unit})")
        print("   " + head)
        for impl in IMPLS:
            if not res.runs[impl]:
                continue
            wall, cpu = res.median(impl, "wall"), res.median(impl, "cpu")
            lo, hi = res.span(impl, "wall")
            print(f"   {impl:<7} {res.n:>9} {res.median(impl, 'import_wall'):>8.2f} "
                  f"{wall:>8.3f} [{lo:.3f}-{hi:.3f}] {cpu:>7.3f} {_si(res.n / wall):>9} "
                  f"{_si(res.n / cpu):>9} {res.median(impl, 'rss_import'):>6.0f}MB "
                  f"{res.median(impl, 'rss_peak'):>7.0f}MB")
        if all(res.runs[i] for i in IMPLS):
            rw = res.median("pygama", "wall") / res.median("ours", "wall")
            rc = res.median("pygama", "cpu") / res.median("ours", "cpu")
            verdict = "MET" if rw >= res.step.goal else "NOT MET"
            print(f"   ratio pygama/ours: wall {rw:.1f}x, CPU {rc:.1f}x   goal >= {res.step.goal:g}x: "
                  f"{verdict}   (pygama in spec §7: {PYGAMA_SPEC[res.step.name]})")
            extra = {i: res.median(i, "rss_peak") - res.median(i, "rss_import") for i in IMPLS}
            print(f"   memory above imports: ours {extra['ours']:.0f} MB, pygama "
                  f"{extra['pygama']:.0f} MB")
        start = max(r["rss_start"] for i in IMPLS for r in res.runs[i])
        if start > 60:
            print(f"   WARNING: a child started with ru_maxrss {start:.0f} MB (inherited across exec)")
        if res.check is not None:
            print(f"   output check: {'OK' if res.check[0] else 'DIFF'} ({res.check[1]})")


def summary(results: list[Result]) -> None:
    """One line per step: throughputs, ratios, goal, memory, output check."""
    print("\n== summary (medians; ratio = pygama time / our time)")
    print(f"   {'step':<8} {'n':>9} {'ours n/s':>9} {'pygama n/s':>10} {'wall x':>7} {'CPU x':>6} "
          f"{'goal':>5} {'verdict':<8} {'peak RSS ours/pygama':>21}  check")
    for res in results:
        if not all(res.runs[i] for i in IMPLS):
            continue
        rw = res.median("pygama", "wall") / res.median("ours", "wall")
        rc = res.median("pygama", "cpu") / res.median("ours", "cpu")
        rss = f"{res.median('ours', 'rss_peak'):.0f}/{res.median('pygama', 'rss_peak'):.0f} MB"
        check = "-" if res.check is None else "OK" if res.check[0] else "DIFF"
        print(f"   {res.step.name:<8} {res.n:>9} {_si(res.n / res.median('ours', 'wall')):>9} "
              f"{_si(res.n / res.median('pygama', 'wall')):>10} {rw:>7.1f} {rc:>6.1f} "
              f"{res.step.goal:>4g}x {'MET' if rw >= res.step.goal else 'NOT MET':<8} "
              f"{rss:>21}  {check}")


def _versions() -> str:
    from importlib.metadata import PackageNotFoundError, version

    parts = []
    for dist in ("pygama", "legend-pydataobj", "legend-lh5io", "polars", "awkward", "numpy",
                 "h5py", "numba"):
        try:
            parts.append(f"{dist} {version(dist)}")
        except PackageNotFoundError:
            parts.append(f"{dist} -")
    return ", ".join(parts)


# ----------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=int, default=DEFAULT_SCALE,
                        help=f"tiles K of the real cycle (default {DEFAULT_SCALE}: "
                             "30·K dsp rows, 30·K raw hits, 22·K events)")
    parser.add_argument("--reps", type=int, default=3, help="processes per implementation")
    parser.add_argument("--steps", default="hit,hit-agg,tcm,evt",
                        help=f"comma-separated, from {','.join(STEPS)}")
    parser.add_argument("--only", choices=IMPLS, help="run one implementation only")
    parser.add_argument("--compression", default="none",
                        help="compression of the scaled input files (none, gzip, lzf, ...)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench-output",
                        help="where scaled inputs and outputs go (default bench-output/)")
    parser.add_argument("--json", type=Path, help="also write the raw results there")
    parser.add_argument("--profile", action="store_true",
                        help="one extra cProfile run of ours per step; print the top functions")
    args = parser.parse_args(argv)
    steps = [s.strip() for s in args.steps.split(",") if s.strip()]
    unknown = [s for s in steps if s not in STEPS]
    if unknown:
        parser.error(f"unknown step(s) {unknown}; choose from {list(STEPS)}")

    compression = None if args.compression == "none" else args.compression
    t0 = time.perf_counter()
    data, problems = in_fresh_process(prepare_input, args.scale, str(args.out / "scaled"),
                                      compression)
    made = json.loads((data / "done.json").read_text())
    gen_s = time.perf_counter() - t0
    load = os.getloadavg()
    print(f"tiers benchmark: K={args.scale} tiles of {TESTDATA.name}/.../p03/r001 "
          f"cal 20230318T012144Z, reps={args.reps}")
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"load avg {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; Python {platform.python_version()}")
    print(f"versions: {_versions()}")
    sizes = ", ".join(f"{k} {v / 1e6:.1f} MB" for k, v in made["bytes"].items())
    print(f"input: {data} ({sizes}; compression {args.compression}; ready in {gen_s:.1f} s)")
    print(f"lgdo reads the scaled input: {'OK' if not problems else 'DIFF ' + '; '.join(problems)}")

    outdir = args.out / "tiers" / f"K{args.scale}"
    outdir.mkdir(parents=True, exist_ok=True)
    impls = [args.only] if args.only else list(IMPLS)
    results = []
    for name in steps:
        step = STEPS[name]
        res = Result(step, int(made["rows"][step.n_key]))
        for rep in range(args.reps):
            for impl in impls:
                run = run_isolated(name, impl, data, outdir / f"{name}-{impl}.lh5")
                res.runs[impl].append(run)
                print(f"  {name:<8} {impl:<7} rep {rep + 1}/{args.reps}: wall {run['wall']:.3f} s, "
                      f"CPU {run['cpu']:.3f} s, peak RSS {run['rss_peak']:.0f} MB", flush=True)
        if len(impls) == 2:
            res.check = in_fresh_process(check_outputs, name, outdir / f"{name}-ours.lh5",
                                         outdir / f"{name}-pygama.lh5")
        results.append(res)
    report(results)
    summary(results)
    if args.profile:
        profile_ours(steps, data, outdir)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({
            "scale": args.scale, "reps": args.reps, "input": made,
            "results": {r.step.name: {"n": r.n, "runs": r.runs,
                                      "check": r.check and {"ok": r.check[0], "detail": r.check[1]}}
                        for r in results}}, indent=1))
    ok = all(r.check is None or r.check[0] for r in results) and not problems
    return 0 if ok else 1


def profile_ours(steps: list[str], data: Path, outdir: Path, top: int = 25) -> None:
    """cProfile one run of ours per step (in a fresh process) and print the top functions."""
    import pstats

    for name in steps:
        stats_path = outdir / f"{name}-ours.prof"
        run = run_isolated(name, "ours", data, outdir / f"{name}-ours-prof.lh5", str(stats_path))
        print(f"\n== cProfile, ours, {STEPS[name].title} (wall {run['wall']:.3f} s under the "
              f"profiler), top {top} by cumulative time")
        stats = pstats.Stats(str(stats_path))
        stats.sort_stats("cumulative").print_stats(top)


if __name__ == "__main__":
    sys.exit(main())
