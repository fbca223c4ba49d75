"""Whole-file LH5 reads: pygama_ak vs legend-lh5io (lgdo) vs plain h5py, same files, one run.

Run in the anchors venv (it has all three): ``make bench`` or
``.venv-anchors/bin/python benchmarks/lh5_read.py [--reps 20]``.

* h5py: open the file, visit every dataset, ``ds[...]`` into numpy (no decoding, no types)
* lgdo: ``lh5.read(name, file)`` for every top-level object (what users call today)
* ours: ``pygama_ak.lh5.read(file, "/")`` (the whole file as one Awkward record)

Inputs: five files written by lgdo (``$PYGAMA_AK_TESTDATA``) and two written by pygama_ak
(made in a temporary folder: a simulated FCIO run of 8000 events, 3 HPGe channels × 2000
samples, through ``build_raw`` and ``build_dsp`` with the demo HPGe config; gzip), whose
large shuffle+deflate chunks our reader inflates itself (``pygama_ak.lh5.inflate``).

Times are medians over ``--reps`` warm repetitions; "first" is the first call in this process.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import h5py
import numpy as np
from lh5_objects import lgdo_objects

TESTDATA = Path(os.environ.get("PYGAMA_AK_TESTDATA", Path(__file__).resolve().parents[1] / "../shared/testdata"))
TIER = TESTDATA / "lh5/prod-ref-l200/generated/tier"
FILES = {
    "raw p03 (3 ch x 10 wf, 105 datasets)": TIER / "raw/cal/p03/r001/l200-p03-r001-cal-20230318T012144Z-tier_raw.lh5",
    "raw p14 (zstd + radware/uleb128 wf)": TIER / "raw/cal/p14/r005/l200-p14-r004-cal-20250606T010224Z-tier_raw.lh5",
    "dsp p03 r000 (38343 rows, gzip)": TIER / "dsp/cal/p03/r000/l200-p03-r000-cal-20230311T235840Z-tier_dsp.lh5",
    "hit p03 (3 ch)": TIER / "hit/cal/p03/r001/l200-p03-r001-cal-20230318T012144Z-tier_hit.lh5",
    "raw LDQTA (100 x 5592 wf)": TESTDATA / "lh5/LDQTA_r117_20200110T105115Z_cal_geds_raw.lh5",
}


def make_ours(folder: Path) -> dict[str, Path]:
    """A raw and a dsp file written by pygama_ak (simulated FCIO, 8000 events)."""
    from pygama_ak.daq.simulate import simulate_fcio
    from pygama_ak.dsp.build_dsp import build_dsp
    from pygama_ak.raw.build_raw import build_raw

    daq = simulate_fcio(folder / "sim.fcio", 8000, seed=1)
    raw, dsp = folder / "sim-tier_raw.lh5", folder / "sim-tier_dsp.lh5"
    build_raw(daq, raw, out_spec={"FCEventDecoder": {"ch{key}/raw": {"key_list": ["*"]}}})
    config = Path(__file__).resolve().parents[1] / "pygama_ak/dsp/configs/hpge-demo.json"
    build_dsp(raw, dsp, config=config)
    return {"raw, ours (3 ch x 2000 samples, gzip)": raw, "dsp, ours (gzip)": dsp}


def read_h5py(path: Path) -> int:
    nbytes = 0
    with h5py.File(path, "r", locking=False) as f:
        datasets: list[h5py.Dataset] = []
        f.visititems(lambda _, o: datasets.append(o) if isinstance(o, h5py.Dataset) else None)
        for ds in datasets:
            value = ds[...]
            nbytes += value.nbytes if isinstance(value, np.ndarray) else 8
    return nbytes


def read_lgdo(path: Path, names: list[str]) -> None:
    import lh5

    for name in names:
        lh5.read(name, str(path))


def read_ours(path: Path) -> None:
    from pygama_ak.lh5 import read

    read(path, "/")


def timed(fn, path: Path, reps: int) -> tuple[float, float]:
    t0 = time.perf_counter()
    fn(path)
    first = time.perf_counter() - t0
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn(path)
        times.append(time.perf_counter() - t0)
    return first, statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=20)
    args = parser.parse_args()
    try:
        import lh5  # noqa: F401

        have_lgdo = True
    except ImportError:
        have_lgdo = False
        print("legend-lh5io not installed here: run in .venv-anchors (make anchors) for the lgdo column")
    print(f"python {sys.version.split()[0]}, h5py {h5py.__version__}, reps={args.reps}")
    header = f"{'file':40s} {'MB':>6s} {'h5py ms':>8s} {'lgdo ms':>8s} {'ours ms':>8s} {'ours 1st':>8s} " \
             f"{'ours/h5py':>9s} {'lgdo/h5py':>9s} {'lgdo/ours':>9s}"
    print(header)
    print("-" * len(header))
    tmp = tempfile.TemporaryDirectory()
    files = {**FILES, **make_ours(Path(tmp.name))}
    for label, path in files.items():
        if not path.exists():
            print(f"{label:40s} missing: {path}")
            continue
        mb = read_h5py(path) / 1e6
        ours_first, ours = timed(read_ours, path, args.reps)
        _, h5 = timed(read_h5py, path, args.reps)
        names = lgdo_objects(path)
        lg = timed(lambda p, n=names: read_lgdo(p, n), path, args.reps)[1] if have_lgdo else float("nan")
        print(f"{label:40s} {mb:6.2f} {h5 * 1e3:8.2f} {lg * 1e3:8.2f} {ours * 1e3:8.2f} "
              f"{ours_first * 1e3:8.1f} {ours / h5:9.2f} {lg / h5:9.2f} {lg / ours:9.2f}")
    tmp.cleanup()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of this process: {rss:.0f} MB")


if __name__ == "__main__":
    main()
