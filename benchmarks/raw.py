"""Raw tier, ours vs legend-daq2lh5 1.7.1: DAQ file → LH5 on the same scaled inputs, one run.

Run in the anchors venv (it has daq2lh5 1.7.1 and pygama_ak)::

    .venv-anchors/bin/python benchmarks/raw.py [--scale 10] [--reps 3] [--big-scale 100]
        [--files spms,p06,th228,orca_fc,orca_fcio,compass,llama]

Inputs (written to a temporary folder, removed afterwards), scaled as daq.md §5 scaled them:
the three real FCIO files of ``$PYGAMA_AK_TESTDATA/fcio`` concatenated ``--scale`` times (the
p06 file without its 3 trailing bytes, a cut tag that would corrupt the concatenation); the
ORCA files (``orca/fc``: FlashCam packets, ``orca/fcio``: ORCA-wrapped FCIO) as header and
packets up to the last config packet once, then the other packets ``--scale`` times (a
repeated FCIO config is not supported by daq2lh5); CoMPASS and llamaDAQ as file header once,
events ``--scale`` times. A format whose decoder we do not have yet (``open_stream`` raises
``NotImplementedError``) is skipped with a message.

Modes, both implementations:

* ``decode``: decode only, nothing written — daq2lh5 and ours with the out_spec
  ``{"*": {"{name}": {"key_list": ["*"], "out_stream": ""}}}``;
* ``e2e``: default routing into an LH5 file with the default compression (gzip + shuffle,
  as daq2lh5 writes).

Every timed call runs in a fresh process (``subprocess``): it imports the implementation,
makes one untimed warm-up call on the small real file (as daq.md §5 measured daq2lh5; the
warm-up's wall time is the ``1st call`` column: numba/JIT start-up for us), then times one
call on the scaled file: wall (``perf_counter``) and CPU (user+sys of the process,
``getrusage``). ``peak RSS`` is the process's ``ru_maxrss`` after the call (imports and
warm-up included). Figures are medians over ``--reps`` processes ([min–max] for wall); MB/s
= input bytes (10⁶) / time; ratios = daq2lh5 time / our time and daq2lh5 RSS / our RSS.
``--big-scale K`` adds our peak RSS on a K× file, to show memory does not grow with size.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
TESTDATA = Path(os.environ.get("PYGAMA_AK_TESTDATA", "/work/shared/testdata"))
FILES = {  # name → path under $PYGAMA_AK_TESTDATA
    "spms": "fcio/L200-comm-20211130-phy-spms.fcio",
    "p06": "fcio/l200-p06-r007-cal-20230725T202227Z.fcio",
    "th228": "fcio/th228.fcio",
    "orca_fc": "orca/fc/L200-comm-20220519-phy-geds.orca",
    "orca_fcio": "orca/fcio/l200-p14-r004-cal-20250606T010224Z.orca",
    "compass": "compass/compass_test_data.BIN",
    "llama": "llamaDAQ/20241218-150158-pulser.bin",
}
COMPASS_XML = "compass/compass_test_data_settings.xml"
DECODE_ONLY = {"*": {"{name}": {"key_list": ["*"], "out_stream": ""}}}


# ----------------------------------------------------------------------------- child
def _child(args: dict) -> dict:
    impl, mode, path, warm, out = (args[k] for k in ("impl", "mode", "path", "warm", "out"))
    name = args["name"]
    kw = {"compass_config_file": str(TESTDATA / COMPASS_XML)} if name == "compass" else {}
    if impl == "ours":
        from pygama_ak.raw import build_raw

        def call(p: str) -> None:
            spec = DECODE_ONLY if mode == "decode" else None
            build_raw(p, out, out_spec=spec, overwrite=True, on_error="warn", **kw)
    else:
        from daq2lh5 import build_raw as d2l

        if name == "llama":
            kw["in_stream_type"] = "LlamaDaq"

        def call(p: str) -> None:
            d2l(p, out_spec=DECODE_ONLY if mode == "decode" else out, overwrite=True, **kw)

    t = time.perf_counter()
    call(warm)
    first = time.perf_counter() - t
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    t = time.perf_counter()
    call(path)
    wall = time.perf_counter() - t
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    rows = _largest_table(out) if mode == "e2e" else None
    return {
        "first": first,
        "wall": wall,
        "cpu": (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime),
        "rss_mb": r1.ru_maxrss / 1024,
        "rows": rows,
    }


def _largest_table(path: str) -> int:
    """Rows of the largest table of an LH5 file (the event table of every format)."""
    import h5py

    best = 0

    def visit(_, obj) -> None:
        nonlocal best
        dt = obj.attrs.get("datatype", b"")
        dt = dt.decode() if isinstance(dt, bytes) else dt
        if isinstance(obj, h5py.Group) and dt.startswith("table{"):
            for field in obj.values():
                if isinstance(field, h5py.Dataset) and field.ndim >= 1:
                    best = max(best, int(field.shape[0]))
                    break

    with h5py.File(path) as f:
        f.visititems(visit)
    return best


def run_child(name: str, impl: str, mode: str, path: Path, warm: Path, out: Path) -> dict:
    payload = json.dumps(
        {
            "name": name,
            "impl": impl,
            "mode": mode,
            "path": str(path),
            "warm": str(warm),
            "out": str(out),
        }
    )
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    res = subprocess.run(
        [sys.executable, __file__, "--child", payload], capture_output=True, text=True, env=env
    )
    if res.returncode != 0:
        raise RuntimeError(f"{impl} {mode} {path.name} failed:\n{res.stderr[-3000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


# ----------------------------------------------------------------------------- parent
def orca_split(data: bytes) -> int:
    """Byte offset after the last config packet of an ORCA file (header and configs are
    written once, the rest repeated)."""
    import plistlib

    import numpy as np

    n_header = 4 * (int.from_bytes(data[:4], "little") & 0x3FFFF)
    xml_len = int.from_bytes(data[4:8], "little")
    header = plistlib.loads(data[8 : 8 + xml_len])
    config_ids = {
        rec["dataId"] >> 18
        for recs in header["dataDescription"].values()
        for rec in recs.values()
        if "Config" in rec["decoder"]
    }
    words = np.frombuffer(data[: len(data) // 4 * 4], "<u4")
    pos, split = n_header // 4, n_header
    while pos < len(words):
        w0 = int(words[pos])
        n = 1 if w0 >> 31 else (w0 & 0x3FFFF) or int(words[pos + 1])
        pos += n
        if not w0 >> 31 and w0 >> 18 in config_ids:
            split = 4 * pos
    return split


def head_bytes(name: str, data: bytes) -> int:
    """Bytes written once (file header, configs) before the repeated part."""
    if name.startswith("orca"):
        return orca_split(data)
    if name == "llama":  # 16-byte header + one channel config per open channel
        n_open = int.from_bytes(data[12:16], "little")
        return 16 + n_open * int.from_bytes(data[10:12], "little")
    if name == "compass":  # a 2-byte 0xCAEx header (absent in old files)
        return 2 if int.from_bytes(data[:2], "little") & 0xFFF0 == 0xCAE0 else 0
    return 0


def make_inputs(folder: Path, scale: int, names: list[str]) -> dict[str, tuple[Path, Path]]:
    """name → (scaled file, real file for the warm-up)."""
    out = {}
    for name in names:
        real = TESTDATA / FILES[name]
        data = real.read_bytes()
        if name == "p06":
            data = data[:-3]  # a cut tag at the end; concatenating would corrupt the stream
        head = head_bytes(name, data)
        warm = folder / f"{real.stem}_x1{real.suffix}"
        warm.write_bytes(data)
        scaled = folder / f"{real.stem}_x{scale}{real.suffix}"
        with open(scaled, "wb") as f:
            f.write(data[:head])
            for _ in range(scale):
                f.write(data[head:])
        out[name] = (scaled, warm)
    return out


def supported(name: str, warm: Path) -> bool:
    """Whether we decode this format yet (another decoder may still be in the works)."""
    from pygama_ak.raw import open_stream

    kw = {"compass_config_file": str(TESTDATA / COMPASS_XML)} if name == "compass" else {}
    try:
        open_stream(warm, **kw)
    except NotImplementedError as exc:
        print(f"skipping {name}: {exc}", file=sys.stderr)
        return False
    except TypeError:  # a stream that does not take the option: still implemented
        return True
    return True


def fmt_row(cells: list, widths: list[int]) -> str:
    return "  ".join(
        str(c).rjust(w) if i else str(c).ljust(w) for i, (c, w) in enumerate(zip(cells, widths))
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=int, default=10, help="concatenate each real file K times")
    ap.add_argument("--reps", type=int, default=3, help="processes per implementation and mode")
    ap.add_argument(
        "--files",
        default=",".join(FILES),
        help=f"subset of {','.join(FILES)}",
    )
    ap.add_argument(
        "--big-scale",
        type=int,
        default=0,
        help="also measure our peak RSS on a K× spms file (0: skip)",
    )
    ap.add_argument("--json", type=Path, help="write the raw numbers here")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(_child(json.loads(args.child))))
        return

    folder = Path(tempfile.mkdtemp(prefix="raw-bench-"))
    results: list[dict] = []
    try:
        inputs = make_inputs(folder, args.scale, args.files.split(","))
        for name, (path, warm) in inputs.items():
            if not supported(name, warm):
                continue
            mb = path.stat().st_size / 1e6
            for mode in ("decode", "e2e"):
                runs: dict[str, list[dict]] = {"ours": [], "daq2lh5": []}
                for _ in range(args.reps):
                    for impl in ("daq2lh5", "ours"):  # alternate: same machine load for both
                        out = folder / f"out-{impl}.lh5"
                        runs[impl].append(run_child(name, impl, mode, path, warm, out))
                for impl, rs in runs.items():
                    wall = [r["wall"] for r in rs]
                    results.append(
                        {
                            "file": path.name,
                            "mb": mb,
                            "impl": impl,
                            "mode": mode,
                            "wall": statistics.median(wall),
                            "wall_min": min(wall),
                            "wall_max": max(wall),
                            "cpu": statistics.median(r["cpu"] for r in rs),
                            "first": statistics.median(r["first"] for r in rs),
                            "rss_mb": max(r["rss_mb"] for r in rs),
                            "rows": rs[-1]["rows"],
                        }
                    )
                print(f"done: {path.name} {mode}", file=sys.stderr)
        big = None
        if args.big_scale:
            bpath, bwarm = make_inputs(folder / ".", args.big_scale, ["spms"])["spms"]
            big = {
                mode: run_child("spms", "ours", mode, bpath, bwarm, folder / "out-big.lh5")
                for mode in ("decode", "e2e")
            }
            big["mb"] = bpath.stat().st_size / 1e6
    finally:
        shutil.rmtree(folder, ignore_errors=True)

    widths = [44, 7, 8, 7, 22, 7, 9, 9, 9, 9, 7]
    print()
    print(
        fmt_row(
            [
                "file",
                "MB",
                "impl",
                "mode",
                "wall s median [min-max]",
                "CPU s",
                "MB/s wall",
                "MB/s CPU",
                "1st call",
                "peak RSS",
                "rows",
            ],
            widths,
        )
    )
    for r in results:
        print(
            fmt_row(
                [
                    r["file"],
                    f"{r['mb']:.1f}",
                    r["impl"],
                    r["mode"],
                    f"{r['wall']:.3f} [{r['wall_min']:.3f}-{r['wall_max']:.3f}]",
                    f"{r['cpu']:.3f}",
                    f"{r['mb'] / r['wall']:.1f}",
                    f"{r['mb'] / r['cpu']:.1f}" if r["cpu"] > 0 else "-",
                    f"{r['first']:.2f}",
                    f"{r['rss_mb']:.0f} MB",
                    r["rows"] if r["rows"] is not None else "-",
                ],
                widths,
            )
        )
    print("\nratios daq2lh5 / ours (time: higher is better for us; RSS: daq2lh5 RSS / ours)")
    for name in dict.fromkeys(r["file"] for r in results):
        for mode in ("decode", "e2e"):
            d = next(
                r
                for r in results
                if r["file"] == name and r["mode"] == mode and r["impl"] == "daq2lh5"
            )
            o = next(
                r
                for r in results
                if r["file"] == name and r["mode"] == mode and r["impl"] == "ours"
            )
            same = (
                ""
                if mode == "decode"
                else (
                    "  rows equal"
                    if d["rows"] == o["rows"]
                    else f"  ROWS DIFFER {d['rows']} {o['rows']}"
                )
            )
            print(
                f"  {name:44s} {mode:6s} wall ×{d['wall'] / o['wall']:6.1f}  "
                f"CPU ×{d['cpu'] / max(o['cpu'], 1e-9):6.1f}  RSS ×{d['rss_mb'] / o['rss_mb']:4.1f}"
                f"  (ours {o['mb'] / o['wall']:.0f} MB/s, daq2lh5 {d['mb'] / d['wall']:.1f} MB/s)"
                f"{same}"
            )
    if big:
        print(
            f"\nours on a {big['mb']:.0f} MB spms file: decode {big['mb'] / big['decode']['wall']:.0f}"
            f" MB/s, peak RSS {big['decode']['rss_mb']:.0f} MB; e2e (gzip) "
            f"{big['mb'] / big['e2e']['wall']:.0f} MB/s, peak RSS {big['e2e']['rss_mb']:.0f} MB"
        )
    if args.json:
        args.json.write_text(json.dumps({"results": results, "big": big}, indent=1))


if __name__ == "__main__":
    main()
