"""Raw tier on simulated files of distinct events, ours vs legend-daq2lh5 1.7.1, one run.

Run in the anchors venv (it has daq2lh5 1.7.1 and pygama_ak)::

    .venv-anchors/bin/python benchmarks/raw_distinct.py [--reps 2] [--events 40000]

``benchmarks/raw.py`` scales the real files by repeating their records, so every waveform recurs
a few dozen rows later; lgdo's 2-D chunks let deflate find those repeats, which real data does
not have. Here the inputs come from ``pygama_ak.daq`` (every event drawn anew): a CoMPASS file
(DT5730, 1000 samples, with its settings XML) and a llamaDAQ file (2 channels, 2000 raw + 10000
averaged samples). Each call (end to end, default routing, gzip like daq2lh5) runs in a fresh
process; printed: median wall, MB/s, peak RSS and the ratio daq2lh5 / ours.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def make_inputs(folder: Path, events: int) -> dict[str, Path]:
    """The simulated DAQ files (CoMPASS with its settings XML beside it)."""
    from pygama_ak.daq.simulate_compass import simulate_compass
    from pygama_ak.daq.simulate_llama import LlamaChannel, simulate_llama

    channels = [LlamaChannel(fadc=0, channel=c, format_bits=0b0001, sample_length=2000,
                             avg_sample_length=10000, avg_mode=2) for c in range(2)]
    llama = simulate_llama(folder / "sim-20241218-150158.bin", events // 10, channels, seed=5).path
    compass = simulate_compass(folder / "sim_compass.BIN", events, n_samples=1000, seed=3).path
    return {"compass": compass, "llama": llama}


def child(impl: str, kind: str, src: str, out: str) -> dict:
    """One end-to-end conversion in this (fresh) process."""
    settings = {"compass_config_file": src.replace(".BIN", "_settings.xml")} if kind == "compass" else {}
    if impl == "ours":
        from pygama_ak.raw import build_raw

        t0 = time.perf_counter()
        build_raw(src, out, overwrite=True, **settings)
    else:
        from daq2lh5 import build_raw

        stream = {"compass": "Compass", "llama": "LlamaDaq"}[kind]
        t0 = time.perf_counter()
        build_raw(src, in_stream_type=stream, out_spec=out, overwrite=True, **settings)
    wall = time.perf_counter() - t0
    return {"wall": wall, "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=2, help="processes per implementation and file")
    ap.add_argument("--events", type=int, default=40000, help="CoMPASS events (llamaDAQ: a tenth)")
    ap.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    ap.add_argument("--make", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(*args.child)))
        return
    if args.make:
        print(json.dumps({k: str(v) for k, v in make_inputs(Path(args.make), args.events).items()}))
        return
    with tempfile.TemporaryDirectory(prefix="raw-distinct-") as tmp:
        folder = Path(tmp)
        # simulated in a child: a process's peak RSS survives fork + exec into its children
        made = subprocess.run([sys.executable, __file__, "--make", tmp, "--events", str(args.events)],
                              capture_output=True, text=True, check=True)
        inputs = {k: Path(v) for k, v in json.loads(made.stdout.strip().splitlines()[-1]).items()}
        print(f"{'file':<10}{'MB':>7}  {'impl':<8}{'wall s':>8}{'MB/s':>8}{'peak RSS MB':>13}")
        for kind, src in inputs.items():
            size = src.stat().st_size / 1e6
            walls = {}
            for impl in ("ours", "daq2lh5"):
                runs = []
                for _ in range(args.reps):
                    proc = subprocess.run(
                        [sys.executable, __file__, "--child", impl, kind, str(src),
                         str(folder / f"{kind}-{impl}.lh5")],
                        capture_output=True, text=True, check=True)
                    runs.append(json.loads(proc.stdout.strip().splitlines()[-1]))
                wall = statistics.median(r["wall"] for r in runs)
                walls[impl] = wall
                rss = max(r["rss"] for r in runs)
                print(f"{kind:<10}{size:7.1f}  {impl:<8}{wall:8.2f}{size / wall:8.1f}{rss:13.0f}")
            print(f"{kind}: end to end {walls['daq2lh5'] / walls['ours']:.2f}× daq2lh5")


if __name__ == "__main__":
    main()
