"""Waveform codecs: pygama_ak.lh5.codecs vs lh5.compression (legend-lh5io), encode + decode.

Run with the anchors venv (it has both packages)::

    .venv-anchors/bin/python benchmarks/codecs.py --n 10000

Input: ``--n`` waveforms of 8192 uint16 samples, the real p03 FlashCam waveforms
(``$PYGAMA_AK_TESTDATA/lh5/prod-ref-l200/generated/tier/raw/cal/p03/r001/*.lh5``,
``ch*/raw/waveform/values``) tiled with independent ±2 ADC noise. Throughput is MB/s of the
uint16 payload (n × 8192 × 2 bytes). "first call" runs in a fresh subprocess (import, one
encode and one decode of the whole input); each subprocess is run twice and the second run
reported, so numba's on-disk caches are warm for both implementations; it times one
waveform first (the fixed start-up cost: cache load, numba initialisation), then all. "warm" is the best of
3 in this process after a first call. Peak RSS is ``ru_maxrss`` of the first-call subprocess.
The encoded bytes of both implementations are compared on the whole input.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
SHIFT = -32768
LENGTH = 8192


def testdata() -> Path:
    """The real LEGEND test files (``PYGAMA_AK_TESTDATA``, default ../shared/testdata)."""
    path = Path(os.environ.get("PYGAMA_AK_TESTDATA", "../shared/testdata"))
    return path if path.is_absolute() else (REPO / path).resolve()


def build_input(n: int, seed: int = 42) -> tuple[np.ndarray, int]:
    """``(n, 8192)`` uint16 waveforms (the real p03 waveforms tiled + ±2 ADC noise) and the
    number of distinct real waveforms used."""
    import h5py
    import hdf5plugin  # noqa: F401  (zstd/bitshuffle filters of production files)

    folder = testdata() / "lh5/prod-ref-l200/generated/tier/raw/cal/p03/r001"
    real = []
    for file in sorted(folder.glob("*.lh5")):
        with h5py.File(file, "r") as f:
            for name in sorted(f):
                if name.startswith("ch") and "raw/waveform/values" in f[name]:
                    real.append(f[name]["raw/waveform/values"][...])
    if not real:
        sys.exit(f"no p03 raw waveforms under {folder} (set PYGAMA_AK_TESTDATA)")
    base = np.concatenate(real).astype(np.int32)
    assert base.shape[1] == LENGTH, base.shape
    rng = np.random.default_rng(seed)
    wfs = np.empty((n, LENGTH), dtype=np.uint16)
    step = 1000
    for a in range(0, n, step):  # chunked to keep the int32 temporaries small
        b = min(n, a + step)
        rows = base[np.arange(a, b) % len(base)]
        rows += rng.integers(-2, 3, size=rows.shape, dtype=np.int32)
        wfs[a:b] = np.clip(rows, 0, 65535)
    return wfs, len(base)


# --- the two implementations, same call shape: encode -> (bytes, offsets), decode -> array


def ours_encode(codec: str, wfs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    from pygama_ak.lh5 import codecs

    return codecs.encode(codec, wfs, codec_shift=SHIFT if codec.startswith("radware") else 0)


def ours_decode(codec: str, enc: tuple[np.ndarray, np.ndarray], n: int) -> np.ndarray:
    from pygama_ak.lh5 import codecs

    shift = SHIFT if codec.startswith("radware") else 0
    return codecs.decode(codec, enc[0], enc[1], LENGTH, dtype=np.uint16, codec_shift=shift)


def lgdo_encode(codec: str, wfs: np.ndarray):
    from lgdo import types
    from lh5 import compression

    c = (
        compression.RadwareSigcompress(codec_shift=SHIFT)
        if codec.startswith("radware")
        else compression.ULEB128ZigZagDiff()
    )
    return compression.encode(types.ArrayOfEqualSizedArrays(nda=wfs), c)


def lgdo_decode(codec: str, enc, n: int) -> np.ndarray:
    from lh5 import compression

    return compression.decode(enc).nda


def lgdo_bytes(enc) -> tuple[np.ndarray, np.ndarray]:
    """Flat bytes and (n+1,) offsets of lgdo's encoded object."""
    cl = enc.encoded_data.cumulative_length.nda
    return enc.encoded_data.flattened_data.nda, np.concatenate([[0], cl]).astype(np.int64)


IMPLS = {"ours": (ours_encode, ours_decode), "lgdo": (lgdo_encode, lgdo_decode)}
CODECS = ("radware_sigcompress", "uleb128_zigzag_diff")


def worker(impl: str, n: int) -> None:
    """Fresh-process first call: import, then one encode + decode per codec; JSON to stdout."""
    wfs, _ = build_input(n)
    t0 = time.perf_counter()
    if impl == "ours":
        import pygama_ak.lh5.codecs  # noqa: F401
    else:
        import lh5.compression  # noqa: F401
    res: dict = {"import_s": time.perf_counter() - t0}
    enc_f, dec_f = IMPLS[impl]
    one = wfs[:1]
    for codec in CODECS:  # first calls on one waveform: the fixed start-up cost
        t0 = time.perf_counter()
        enc = enc_f(codec, one)
        t1 = time.perf_counter()
        dec_f(codec, enc, 1)
        res[codec] = {"enc1_s": t1 - t0, "dec1_s": time.perf_counter() - t1}
    for codec in CODECS:  # then the whole input once
        t0 = time.perf_counter()
        enc = enc_f(codec, wfs)
        t1 = time.perf_counter()
        dec = dec_f(codec, enc, n)
        t2 = time.perf_counter()
        assert np.array_equal(dec.reshape(wfs.shape), wfs)
        res[codec] |= {"enc_s": t1 - t0, "dec_s": t2 - t1}
        del enc, dec
    res["maxrss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(res))


def first_call(impl: str, n: int) -> dict:
    """Run the worker twice in fresh interpreters; return the second (warm disk caches)."""
    cmd = [sys.executable, __file__, "--worker", impl, "--n", str(n)]
    out = None
    for _ in range(2):
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=REPO)
        if proc.returncode != 0:
            sys.exit(f"worker {impl} failed:\n{proc.stderr}")
        out = json.loads(proc.stdout.strip().splitlines()[-1])
    return out


def best_of(fn, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000, help="number of 8192-sample waveforms")
    parser.add_argument("--worker", choices=tuple(IMPLS), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.n)
        return

    n = args.n
    mb = n * LENGTH * 2 / 1e6
    wfs, n_real = build_input(n)
    print(
        f"input: {n} x {LENGTH} uint16 = {mb:.1f} MB "
        f"({n_real} real p03 waveforms tiled + ±2 ADC noise)"
    )
    first = {impl: first_call(impl, n) for impl in IMPLS}

    rows = []
    for codec in CODECS:
        warm: dict[str, dict[str, float]] = {}
        encs = {}
        for impl, (enc_f, dec_f) in IMPLS.items():
            enc = enc_f(codec, wfs)  # first call in this process (JIT / cache load)
            dec_f(codec, enc, n)
            encs[impl] = enc
            warm[impl] = {
                "enc_s": best_of(lambda f=enc_f, c=codec: f(c, wfs)),
                "dec_s": best_of(lambda f=dec_f, c=codec, e=enc: f(c, e, n)),
            }
        ours_b, ours_o = encs["ours"]
        ref_b, ref_o = lgdo_bytes(encs["lgdo"])
        same = np.array_equal(ours_b, ref_b) and np.array_equal(ours_o, ref_o)
        ratio = mb * 1e6 / ours_b.size
        del encs
        rows.append((codec, warm, same, ratio))

    print(
        f"\n{'codec':<21}{'op':<5}{'lgdo warm':>12}{'ours warm':>12}{'speedup':>9}"
        f"{'1st call, 1 wf':>18}{'1st call, all':>18}"
    )
    print(f"{'':<59}{'lgdo':>9}{'ours':>9}{'lgdo':>9}{'ours':>9}")
    for codec, warm, _same, _ratio in rows:
        for op in ("enc", "dec"):
            lw, ow = warm["lgdo"][f"{op}_s"], warm["ours"][f"{op}_s"]
            l1, o1 = first["lgdo"][codec][f"{op}1_s"], first["ours"][codec][f"{op}1_s"]
            lf, of = first["lgdo"][codec][f"{op}_s"], first["ours"][codec][f"{op}_s"]
            print(
                f"{codec:<21}{op:<5}{mb / lw:>8.0f}MB/s{mb / ow:>8.0f}MB/s{lw / ow:>8.1f}x"
                f"{l1:>8.3f}s{o1:>8.3f}s{lf:>8.3f}s{of:>8.3f}s"
            )
    print()
    for codec, _warm, same, ratio in rows:
        print(f"{codec}: compression ratio {ratio:.2f}, bytes identical to lgdo: {same}")
    for impl in IMPLS:
        f = first[impl]
        print(
            f"{impl}: import {f['import_s']:.3f} s, first-call process peak RSS "
            f"{f['maxrss_mb']:.0f} MB"
        )
    print(
        f"this process peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB"
        f" (both implementations, all runs); CPUs: {os.cpu_count()}"
    )


if __name__ == "__main__":
    main()
