"""Queries over a production tree, ours vs pygama 2.6.2 (DataLoader, query_evt) vs hand-written.

Run in the anchors venv (pygama 2.6.2, legend-pydataobj, legend-lh5io and pygama_ak)::

    .venv-anchors/bin/python benchmarks/query.py [--cycles 8] [--tiles 600] [--reps 3]

Input (made once, cached under ``bench-output/query/``): the real p03 r001 cal cycle
``20230318T012144Z`` of ``$PYGAMA_AK_TESTDATA`` (3 channels × 10 hits) tiled ``--tiles``
times per cycle into ``--cycles`` cycles of a production tree
``tier/<tier>/cal/p03/<run>/l200-p03-<run>-cal-<timestamp>-tier_<tier>.lh5``: raw (all 32
columns, waveforms of 8192 samples radware-encoded as in LEGEND raw files), dsp and hit
(floats jittered by 1e-4 relative, timestamps shifted per tile), the TCM (tiled), and an evt
tier built from them with our ``build_evt`` and ``evt-basic.yaml``.

Three comparisons, each the same selection by every implementation (rows and a checksum are
compared):

* **hits** — ``hit.cuspEmax_ctc_cal``, ``hit.AoE_Classifier``, ``dsp.tp_0_est``,
  ``dsp.trapEmax`` where ``cuspEmax_ctc_cal > 25 and is_valid_cal``: ours
  (``Dataset.hits``), a hand-written loop (``pygama_ak.lh5.read`` of each tier's channel
  table, joined on the row by position, filtered, concatenated) and pygama's ``DataLoader``
  (FileDB scanned before the timer; timed: set_files/datastreams/cuts/output,
  build_entry_list, load → pandas). Goals: ≥ 50× DataLoader, ≤ 1.2× hand-written.
* **events** — evt ``multiplicity``, ``energy_sum``, ``energy_id``, ``timestamp`` where
  ``multiplicity > 0``: ours (``Dataset.events``) vs ``pygama.flow.query_evt`` (pandas).
* **waveforms** — ``raw.waveform.values`` of hits in the 208Tl line
  (``abs(cuspEmax_ctc_cal - 2614.5) < 1.5``): ours (filter pushed into the reads, waveforms
  read and decoded for the passing hits only) vs read-all-then-filter (hand-written: read
  every waveform and energy, then filter). Goal: ≥ 10×.

Before each comparison its input files are read once (page cache: no implementation pays
the disk for another). Every timed call runs in a fresh spawned process: it imports what the
implementation uses (and loads the numba waveform decoder from its cache: a once-per-process
cost, in the ``import`` column), then times the call alone: wall, CPU (user+sys, all
threads), peak RSS (``ru_maxrss`` after the call, imports included). Medians over ``--reps``
processes (implementations alternate; the slow baselines run ``--slow-reps`` times);
rows/s = input rows / wall.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import math
import multiprocessing
import os
import platform
import resource
import statistics
import sys
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
TESTDATA = Path(os.environ.get("PYGAMA_AK_TESTDATA", "/work/shared/testdata"))
REFERENCE = Path(os.environ.get("PYGAMA_AK_REFERENCE", TESTDATA.parent / "reference"))
SOURCE = TESTDATA / "lh5/prod-ref-l200/generated/tier"
CYCLE = "l200-p03-r001-cal-20230318T012144Z"
CHANNELS = (1084803, 1084804, 1121600)
JITTER = 1e-4
FORMAT_VERSION = 2

HIT_FIELDS = ["cuspEmax_ctc_cal", "AoE_Classifier", "is_valid_cal"]
DSP_FIELDS = ["tp_0_est", "trapEmax"]
HIT_CUT = "cuspEmax_ctc_cal > 25 and is_valid_cal"  # pandas query for DataLoader
OUR_CUT = "hit.cuspEmax_ctc_cal > 25 and hit.is_valid_cal"
EVT_FIELDS = ["multiplicity", "energy_sum", "energy_id", "timestamp"]
EVT_CUT = "multiplicity > 0"
LINE, HALF_WIDTH = 2614.5, 1.5

CASES = {
    "hits": {"impls": ("ours", "hand", "dataloader"), "unit": "hits", "tiers": ("dsp", "hit"),
             "title": "hits: 2 hit + 2 dsp columns where cuspEmax_ctc_cal > 25 and is_valid_cal"},
    "tcm": {"impls": ("ours", "hand", "dataloader"), "unit": "hits", "tiers": ("dsp", "hit", "tcm"),
            "title": "hits of events (TCM): the same columns and cut, one row per TCM hit"},
    "events": {"impls": ("ours", "query_evt"), "unit": "events", "tiers": ("evt",),
               "title": "events: 4 evt columns where multiplicity > 0"},
    "waveforms": {"impls": ("ours", "readall"), "unit": "hits", "tiers": ("raw", "hit"),
                  "title": f"waveforms: raw.waveform.values where |cuspEmax_ctc_cal - {LINE}| < {HALF_WIDTH}"},
}
SLOW = ("dataloader", "query_evt", "readall")  # run --slow-reps times
GOALS = {("hits", "hand"): ("≤", 1.2), ("tcm", "hand"): ("≤", 1.2),
         ("tcm", "dataloader"): ("≥", 50.0), ("waveforms", "readall"): ("≥", 10.0)}


# ----------------------------------------------------------------------------- input
def cycle_fields(k: int) -> dict[str, str]:
    """Template fields of the k-th generated cycle (four cycles per run, one per hour)."""
    start = datetime(2023, 3, 18, 1, 21, 44) + timedelta(hours=k)
    return {"exp": "l200", "period": "p03", "run": f"r{1 + k // 4:03d}", "type": "cal",
            "timestamp": start.strftime("%Y%m%dT%H%M%SZ")}


def tier_file(root: Path, tier: str, k: int) -> Path:
    f = cycle_fields(k)
    name = f"{f['exp']}-{f['period']}-{f['run']}-{f['type']}-{f['timestamp']}-tier_{tier}.lh5"
    return root / tier / f["type"] / f["period"] / f["run"] / name


def _tiled(data, tiles: int, shift: float, offset: float, rng, jitter: bool):
    """``data`` repeated ``tiles`` times; timestamps shifted per tile, floats jittered."""
    import awkward as ak
    import numpy as np

    out = ak.concatenate([data] * tiles)
    n = len(data)
    tile = np.repeat(np.arange(tiles, dtype=np.float64), n)
    for name in out.fields:
        layout = ak.to_layout(out[name])
        if not isinstance(layout, ak.contents.NumpyArray) or layout.data.ndim != 1:
            continue
        values = layout.data
        if name == "timestamp":
            values = values + offset + tile * shift
        elif jitter and values.dtype.kind == "f":
            values = (values * (1 + JITTER * rng.standard_normal(len(values)))).astype(values.dtype)
        else:
            continue
        out = ak.with_field(out, ak.Array(ak.contents.NumpyArray(values, parameters=layout.parameters)),
                            name)
    return out


def make_tree(cycles: int, tiles: int, out: Path) -> Path:
    """Write (or reuse) the production tree; returns its ``tier`` folder."""
    import awkward as ak
    import numpy as np

    from pygama_ak.evt.build_evt import build_evt
    from pygama_ak.evt.tcm import Coincidences, write_tcm
    from pygama_ak.lh5 import read, write

    directory = out / f"C{cycles}-T{tiles}"
    root = directory / "tier"
    meta = {"cycles": cycles, "tiles": tiles, "version": FORMAT_VERSION, "source": CYCLE}
    marker = directory / "done.json"
    if marker.exists() and json.loads(marker.read_text()).get("meta") == meta:
        return root
    import shutil

    if directory.exists():
        shutil.rmtree(directory)
    rng = np.random.default_rng(1)
    src = {t: SOURCE / f"{t}/cal/p03/r001/{CYCLE}-tier_{t}.lh5" for t in ("raw", "dsp", "hit", "tcm")}
    tables = {(t, ch): read(src[t], f"ch{ch}/{t}") for t in ("raw", "dsp", "hit") for ch in CHANNELS}
    times = np.concatenate([np.asarray(tables["raw", ch].timestamp) for ch in CHANNELS])
    shift = float(math.ceil(times.max() - times.min()) + 1)
    tcm = read(src["tcm"], "hardware_tcm_1")
    attrs = (tcm.layout.parameters or {}).get("attrs", {})
    keys = np.asarray(ak.flatten(tcm.table_key)).astype(np.int64)
    rows = np.asarray(ak.flatten(tcm.row_in_table)).astype(np.int64)
    counts = np.asarray(ak.num(tcm.table_key))
    per_tile = {ch: len(tables["hit", ch]) for ch in CHANNELS}
    config = REFERENCE / "configs/evt-basic.yaml"
    for k in range(cycles):
        files = {t: tier_file(root, t, k) for t in ("raw", "dsp", "hit", "tcm", "evt")}
        for f in files.values():
            f.parent.mkdir(parents=True, exist_ok=True)
        for tier in ("raw", "dsp", "hit"):
            for ch in CHANNELS:
                data = _tiled(tables[tier, ch], tiles, shift, k * tiles * shift, rng, tier != "raw")
                compression = {"waveform/values": "radware_sigcompress"} if tier == "raw" else None
                write(data, files[tier], f"ch{ch}/{tier}", compression=compression)
        tile = np.repeat(np.arange(tiles, dtype=np.int64), len(keys))
        step = np.array([per_tile[int(key)] for key in keys], dtype=np.int64)
        offsets = np.zeros(len(counts) * tiles + 1, dtype=np.int64)
        np.cumsum(np.tile(counts, tiles), out=offsets[1:])
        write_tcm(Coincidences(np.tile(keys, tiles), np.tile(rows, tiles) + tile * np.tile(step, tiles),
                               offsets, list(eval_tables(attrs)), attrs.get("hash_func")),
                  files["tcm"])
        build_evt((files["tcm"], "hardware_tcm_1"),
                  {"hit": (files["hit"], "hit", "ch{}"), "dsp": (files["dsp"], "dsp", "ch{}")},
                  config, files["evt"])
    sizes = {t: sum(f.stat().st_size for f in (root / t).rglob("*.lh5")) for t in
             ("raw", "dsp", "hit", "tcm", "evt")}
    n = {"hits": cycles * tiles * sum(per_tile.values()),
         "events": cycles * tiles * len(counts)}
    marker.write_text(json.dumps({"meta": meta, "bytes": sizes, "rows": n}, indent=1))
    return root


def eval_tables(attrs: dict) -> list[str]:
    """The TCM's ``tables`` attribute (a Python list literal) as a list."""
    import ast

    value = attrs.get("tables", "[]")
    return list(ast.literal_eval(value)) if isinstance(value, str) else list(value)


# ----------------------------------------------------------------------------- the calls
def _warm_decoder() -> None:
    """Load the numba radware decoder (compiled once, cached on disk) outside the timer."""
    import numpy as np

    from pygama_ak.lh5.codecs import decode, encode

    enc, offsets = encode("radware_sigcompress", np.zeros((1, 16), np.uint16), codec_shift=-32768)
    decode("radware_sigcompress", enc, offsets, 16, dtype=np.uint16, codec_shift=-32768)


def _ours_imports() -> None:
    """Libraries the calls load lazily, imported before the timer (as benchmarks/tiers.py)."""
    import awkward  # noqa: F401
    import h5py  # noqa: F401
    import numpy  # noqa: F401
    import numpy.ma  # noqa: F401  (Polars imports it on the first Series built from numpy)
    import polars  # noqa: F401
    import pyarrow  # noqa: F401

    import pygama_ak.lh5.read  # noqa: F401
    import pygama_ak.query.dataset  # noqa: F401
    import pygama_ak.query.sparse  # noqa: F401


def hand_hits(root: Path):
    """Hand-written: read each tier's channel table, join on the row, filter, concatenate."""
    import polars as pl

    from pygama_ak.lh5 import read
    from pygama_ak.lh5.arrow import to_polars
    from pygama_ak.lh5.read import ls

    parts = []
    for hit_file in sorted(root.glob("hit/cal/p03/*/*-tier_hit.lh5")):
        cycle = hit_file.name[: -len("-tier_hit.lh5")]
        dsp_file = root / "dsp" / hit_file.parent.relative_to(root / "hit") / f"{cycle}-tier_dsp.lh5"
        for ch in ls(hit_file):
            hit = to_polars(read(hit_file, f"{ch}/hit", fields=HIT_FIELDS))
            dsp = to_polars(read(dsp_file, f"{ch}/dsp", fields=DSP_FIELDS))
            frame = pl.concat([hit, dsp], how="horizontal").with_row_index("row")  # join on row
            frame = frame.filter((pl.col("cuspEmax_ctc_cal") > 25) & pl.col("is_valid_cal"))
            parts.append(frame.with_columns(cycle=pl.lit(cycle), channel=pl.lit(int(ch[2:]))))
    return pl.concat(parts)


def hand_tcm(root: Path):
    """Hand-written: explode each TCM, read each tier's channel table, join on (channel, row)."""
    import awkward as ak
    import numpy as np
    import polars as pl

    from pygama_ak.lh5 import read
    from pygama_ak.lh5.arrow import to_polars
    from pygama_ak.lh5.read import ls

    parts = []
    for tcm_file in sorted(root.glob("tcm/cal/p03/*/*-tier_tcm.lh5")):
        cycle = tcm_file.name[: -len("-tier_tcm.lh5")]
        folder = tcm_file.parent.relative_to(root / "tcm")
        hit_file = root / "hit" / folder / f"{cycle}-tier_hit.lh5"
        dsp_file = root / "dsp" / folder / f"{cycle}-tier_dsp.lh5"
        tcm = read(tcm_file, "hardware_tcm_1")
        counts = ak.to_numpy(ak.num(tcm.table_key))
        hits = pl.DataFrame({"event": np.repeat(np.arange(len(counts)), counts),
                             "channel": ak.to_numpy(ak.flatten(tcm.table_key)).astype(np.int64),
                             "row": ak.to_numpy(ak.flatten(tcm.row_in_table)).astype(np.int64)})
        tables = []
        for ch in ls(hit_file):
            hit = to_polars(read(hit_file, f"{ch}/hit", fields=HIT_FIELDS))
            dsp = to_polars(read(dsp_file, f"{ch}/dsp", fields=DSP_FIELDS))
            frame = pl.concat([hit, dsp], how="horizontal").with_row_index("row")
            tables.append(frame.with_columns(pl.col("row").cast(pl.Int64),
                                             channel=pl.lit(int(ch[2:]), dtype=pl.Int64)))
        joined = hits.join(pl.concat(tables), on=["channel", "row"], maintain_order="left")
        parts.append(joined.filter((pl.col("cuspEmax_ctc_cal") > 25) & pl.col("is_valid_cal"))
                     .with_columns(cycle=pl.lit(cycle)))
    return pl.concat(parts)


def readall_waveforms(root: Path):
    """Read-all-then-filter: every waveform and energy read, then the line selected."""
    import polars as pl

    from pygama_ak.lh5 import read
    from pygama_ak.lh5.arrow import to_polars
    from pygama_ak.lh5.read import ls

    parts = []
    for hit_file in sorted(root.glob("hit/cal/p03/*/*-tier_hit.lh5")):
        cycle = hit_file.name[: -len("-tier_hit.lh5")]
        raw_file = root / "raw" / hit_file.parent.relative_to(root / "hit") / f"{cycle}-tier_raw.lh5"
        for ch in ls(hit_file):
            hit = to_polars(read(hit_file, f"{ch}/hit", fields=["cuspEmax_ctc_cal"]))
            raw = to_polars(read(raw_file, f"{ch}/raw", fields=["waveform/values"]))
            frame = pl.concat([hit, raw.unnest("waveform")], how="horizontal").with_row_index("row")
            parts.append(frame.filter((pl.col("cuspEmax_ctc_cal") - LINE).abs() < HALF_WIDTH))
    return pl.concat(parts)


def _dataloader(root: Path, tcm: bool) -> Callable[[], Any]:
    """pygama's DataLoader: FileDB scanned here (not timed); the call builds the entry list
    (``tcm_level="tcm"`` for hits of events, as measured in specs/pygama.md §7) and loads."""
    import logging

    from pygama.flow import DataLoader, FileDB

    logging.disable(logging.CRITICAL)
    tiers = ["dsp", "hit", "tcm", "evt"] if tcm else ["dsp", "hit"]
    fmt = "/{type}/{period}/{run}/{exp}-{period}-{run}-{type}-{timestamp}-tier_%s.lh5"
    tables = {"dsp": "ch{ch:07d}/dsp", "hit": "ch{ch:07d}/hit", "tcm": "hardware_tcm_1", "evt": "evt"}
    db = FileDB({"data_dir": str(root), "tier_dirs": {t: f"/{t}" for t in tiers},
                 "file_format": {t: fmt % t for t in tiers},
                 "table_format": {t: tables[t] for t in tiers}})
    db.scan_tables_columns()
    levels: dict[str, Any] = {"hit": {"tiers": ["dsp", "hit"]}}
    if tcm:
        levels["tcm"] = {"tiers": ["tcm"], "parent": "hit", "child": "evt",
                         "tcm_cols": {"child_idx": "coin_idx", "parent_tb": "table_key",
                                      "parent_idx": "row_in_table"}}
        levels["evt"] = {"tiers": ["evt"]}
    config = {"levels": levels, "channel_map": {}}
    level = "tcm" if tcm else None

    def call():
        dl = DataLoader(config, filedb=db)
        dl.set_files("type == 'cal'")
        dl.set_datastreams(list(CHANNELS), "ch")
        dl.set_cuts({"hit": HIT_CUT})
        dl.set_output(fmt="pd.DataFrame", columns=HIT_FIELDS[:2] + DSP_FIELDS)
        return dl.load(dl.build_entry_list(tcm_level=level), tcm_level=level)

    return call


def _query_evt(root: Path) -> Callable[[], Any]:
    from pygama.flow import query_evt

    config = {"paths": {"tier_evt": str(root / "evt")},
              "query": {"cycle_def": "experiment-period-run-datatype-starttime", "tiers": ["evt"],
                        "evt_tiers": ["evt"], "tables": {"evt": "evt"}, "evt_tables": {"evt": "evt"}}}
    return lambda: query_evt(EVT_FIELDS, "datatype == 'cal'", EVT_CUT, dataflow_config=config,
                             library="pd", progress=False)


def _prepare(case: str, impl: str, root: Path) -> Callable[[], Any]:
    """Import what ``impl`` needs (outside the timer) and return the call to time."""
    if impl in ("ours", "hand", "readall"):
        _ours_imports()
    if case == "waveforms":
        _warm_decoder()
    if impl == "ours":
        from pygama_ak.query.dataset import Dataset

        columns = [f"hit.{c}" for c in HIT_FIELDS[:2]] + [f"dsp.{c}" for c in DSP_FIELDS]
        if case == "hits":
            return lambda: Dataset(root).hits(columns, runs="period == 'p03' and type == 'cal'",
                                              where=OUR_CUT).collect()
        if case == "tcm":
            return lambda: Dataset(root).events(columns, runs="period == 'p03' and type == 'cal'",
                                                where=OUR_CUT).collect()
        if case == "events":
            return lambda: Dataset(root).events([f"evt.{c}" for c in EVT_FIELDS],
                                                runs="type == 'cal'", where=f"evt.{EVT_CUT}").collect()
        return lambda: Dataset(root).hits(
            ["raw.waveform.values", "hit.cuspEmax_ctc_cal"], runs="type == 'cal'",
            where=f"abs(hit.cuspEmax_ctc_cal - {LINE}) < {HALF_WIDTH}").collect()
    if impl == "hand":
        return (lambda: hand_hits(root)) if case == "hits" else (lambda: hand_tcm(root))
    if impl == "readall":
        return lambda: readall_waveforms(root)
    if impl == "dataloader":
        return _dataloader(root, tcm=case == "tcm")
    return _query_evt(root)


def _summary(case: str, result: Any) -> tuple[int, float]:
    """(rows, checksum) of any implementation's result."""
    import numpy as np

    column = "energy_sum" if case == "events" else "cuspEmax_ctc_cal"
    names = list(result.columns)
    name = next(c for c in names if c == column or c.endswith("." + column))
    values = np.asarray(result[name], dtype=np.float64)
    return len(values), float(np.nansum(values))


def _cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed_call(case: str, impl: str, root: str) -> dict:
    """Child process: import, then time one call."""
    import warnings

    os.environ["TQDM_DISABLE"] = "1"  # DataLoader's progress bars
    warnings.simplefilter("ignore")
    rss_start = _rss_mb()
    w0 = time.perf_counter()
    call = _prepare(case, impl, Path(root))
    w1, c1 = time.perf_counter(), _cpu()
    rss_import = _rss_mb()
    result = call()
    w2, c2 = time.perf_counter(), _cpu()
    rss_peak = _rss_mb()
    rows, checksum = _summary(case, result)
    return {"import_wall": w1 - w0, "wall": w2 - w1, "cpu": c2 - c1, "rss_start": rss_start,
            "rss_import": rss_import, "rss_peak": rss_peak, "rows": rows, "checksum": checksum}


def warm_cache(root: Path, tiers: tuple[str, ...]) -> float:
    """Read the case's input files once (page cache), so that no implementation pays the
    disk for the others; returns the seconds it took."""
    t0 = time.perf_counter()
    for tier in tiers:
        for path in sorted((root / tier).rglob("*.lh5")):
            with open(path, "rb") as f:
                while f.read(16 << 20):
                    pass
    return time.perf_counter() - t0


def in_fresh_process(func: Callable[..., Any], *args: Any) -> Any:
    """``func(*args)`` in a fresh spawned process (ru_maxrss is the child's own peak)."""
    ctx = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(1, mp_context=ctx) as pool:
        return pool.submit(func, *args).result()


# ----------------------------------------------------------------------------- report
def _med(runs: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def report(results: dict[str, dict[str, list[dict]]], n: dict[str, int]) -> bool:
    ok = True
    met_goals: list[str] = []
    missed: list[str] = []
    for case, runs in results.items():
        spec = CASES[case]
        total = n[spec["unit"]]
        print(f"\n== {spec['title']}  ({total:,} {spec['unit']} in)")
        print(f"   {'impl':<11} {'rows out':>9} {'import s':>8} {'wall s [min-max]':>22} "
              f"{'CPU s':>7} {spec['unit'] + '/s':>10} {'peak RSS':>9}")
        for impl, rs in runs.items():
            wall = _med(rs, "wall")
            lo, hi = min(r["wall"] for r in rs), max(r["wall"] for r in rs)
            print(f"   {impl:<11} {rs[0]['rows']:>9,} {_med(rs, 'import_wall'):>8.2f} "
                  f"{wall:>8.3f} [{lo:.3f}-{hi:.3f}] {_med(rs, 'cpu'):>7.3f} "
                  f"{total / wall:>10.2e} {_med(rs, 'rss_peak'):>7.0f}MB")
        ours = runs["ours"]
        share = ours[0]["rows"] / total if total else 0
        print(f"   selected: {share:.2%} of the input")
        for impl, rs in runs.items():
            if impl == "ours":
                continue
            ratio = _med(rs, "wall") / _med(ours, "wall")
            same = rs[0]["rows"] == ours[0]["rows"] and math.isclose(
                rs[0]["checksum"], ours[0]["checksum"], rel_tol=1e-9)
            line = f"   {impl}/ours wall ratio {ratio:.2f}x"
            if (case, impl) in GOALS:
                op, goal = GOALS[case, impl]
                met = ratio >= goal if op == "≥" else (1 / ratio) <= goal
                shown = f"ours/{impl} {1 / ratio:.2f}x" if op == "≤" else f"{ratio:.1f}x"
                line += f"   goal {shown} {op} {goal:g}x: {'MET' if met else 'NOT MET'}"
                (met_goals if met else missed).append(f"{case} vs {impl}")
                ok &= met
            line += f"   output {'same' if same else 'DIFFERS'} ({rs[0]['rows']:,} rows)"
            ok &= same
            print(line)
    print(f"\ngoals met: {', '.join(met_goals) or 'none'}; not met: {', '.join(missed) or 'none'}")
    return ok


def _versions() -> str:
    from importlib.metadata import PackageNotFoundError, version

    out = []
    for dist in ("pygama", "legend-pydataobj", "legend-lh5io", "polars", "awkward", "h5py", "numpy"):
        try:
            out.append(f"{dist} {version(dist)}")
        except PackageNotFoundError:
            out.append(f"{dist} -")
    return ", ".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cycles", type=int, default=4, help="cycles in the tree (default 4)")
    parser.add_argument("--tiles", type=int, default=5000,
                        help="tiles of the real cycle per cycle (default 5000: 50 000 hits per "
                             "channel, 150 000 hits and 110 000 events per cycle)")
    parser.add_argument("--reps", type=int, default=3, help="processes per implementation")
    parser.add_argument("--slow-reps", type=int, default=1,
                        help=f"processes for the slow baselines ({', '.join(SLOW)})")
    parser.add_argument("--cases", default=",".join(CASES), help=f"from {','.join(CASES)}")
    parser.add_argument("--out", type=Path, default=ROOT / "bench-output" / "query")
    parser.add_argument("--json", type=Path, help="also write the raw results there")
    args = parser.parse_args(argv)
    cases = [c.strip() for c in args.cases.split(",") if c.strip()]
    if any(c not in CASES for c in cases):
        parser.error(f"cases must be from {list(CASES)}")
    t0 = time.perf_counter()
    root = in_fresh_process(make_tree, args.cycles, args.tiles, args.out)
    made = json.loads((root.parent / "done.json").read_text())
    load = os.getloadavg()
    print(f"query benchmark: {args.cycles} cycles × {args.tiles} tiles of {CYCLE}, reps={args.reps}")
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, load avg {load[0]:.2f} "
          f"{load[1]:.2f} {load[2]:.2f}; Python {platform.python_version()}")
    print(f"versions: {_versions()}")
    sizes = ", ".join(f"{t} {b / 1e6:.0f} MB" for t, b in made["bytes"].items())
    print(f"input: {root} ({sizes}; ready in {time.perf_counter() - t0:.1f} s)")
    results: dict[str, dict[str, list[dict]]] = {}
    for case in cases:
        results[case] = {impl: [] for impl in CASES[case]["impls"]}
        seconds = warm_cache(root, CASES[case]["tiers"])
        print(f"  {case:<9} input files read once into the page cache ({seconds:.1f} s)", flush=True)
        for rep in range(args.reps):
            for impl in CASES[case]["impls"]:
                if impl in SLOW and rep >= args.slow_reps:
                    continue
                run = in_fresh_process(timed_call, case, impl, str(root))
                results[case][impl].append(run)
                print(f"  {case:<9} {impl:<10} rep {rep + 1}/{args.reps}: wall {run['wall']:.3f} s, "
                      f"CPU {run['cpu']:.3f} s, peak RSS {run['rss_peak']:.0f} MB, "
                      f"{run['rows']:,} rows", flush=True)
    ok = report(results, made["rows"])
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"args": vars(args) | {"out": str(args.out), "json": str(args.json)},
                                         "input": made, "results": results}, indent=1))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
