"""Cross-check of the A-set dsp kernels against dspeed 2.4.3 on the real p03 waveforms.

Run with the reference-tools venv (dspeed and pygama_ak installed there):

    .venv-anchors/bin/python benchmarks/crosscheck_dsp_a.py [--tile 34] [--block 16]

The 30 p03 cal waveforms (3 channels × 10, 8192 uint16 samples) are tiled to ``--tile``×30
rows. Intermediate waveforms (wf_blsub, wf_pz, ...) are made once with dspeed's kernels and fed
to both implementations, with the parameters of the icpc config (trap_norm 625/188 and 250/6,
pole-zero τ 27460.5, asym 8/4/125, fits on wf_blsub[:750] and wf_pz[1500:], time points with
walk_forward 0 and 1, fixed_time_pickoff 'l' and 'i', ...) and a few more for the processors
the config does not use. Like dspeed's chain, each call gets one block of ``--block`` rows held
in reused buffers; the time of the calls alone is summed. Prints, per processor call: the
largest absolute and relative difference over all outputs, whether every output is
bit-identical (NaN pattern included), and µs per waveform for both.
"""

from __future__ import annotations

import argparse
import os
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import h5py
import numpy as np

warnings.filterwarnings("ignore")

import dspeed.processors as dsp  # noqa: E402
from dspeed.processors.get import get_default as dsp_get_default  # noqa: E402
from dspeed.processors.round_to_nearest import (  # noqa: E402
    ceil_to_nearest as dsp_ceil,
)
from dspeed.processors.round_to_nearest import (  # noqa: E402
    floor_to_nearest as dsp_floor,
)
from dspeed.processors.round_to_nearest import (  # noqa: E402
    round_to_nearest as dsp_round,
)
from dspeed.processors.round_to_nearest import (  # noqa: E402
    trunc_to_nearest as dsp_trunc,
)
from dspeed.processors.where import where as dsp_where  # noqa: E402

from pygama_ak.dsp.processors import lookup  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
RAW = "lh5/prod-ref-l200/generated/tier/raw/cal/p03/r001/l200-p03-r001-cal-20230318T012144Z-tier_raw.lh5"
CHANNELS = ["ch1084803", "ch1084804", "ch1121600"]
I32 = np.int32
F32 = np.float32


def load(testdata: Path) -> tuple[np.ndarray, np.ndarray]:
    """The 30 waveforms (uint16) and their DAQ baselines."""
    waves, baselines = [], []
    with h5py.File(testdata / RAW) as f:
        for ch in CHANNELS:
            waves.append(f[f"{ch}/raw/waveform/values"][:])
            baselines.append(f[f"{ch}/raw/baseline"][:])
    return np.concatenate(waves), np.concatenate(baselines)


def blocks(nrows: int, width: int) -> list[slice]:
    return [slice(s, min(nrows, s + width)) for s in range(0, nrows, width)]


def as_block_args(args: tuple, sl: slice, nrows: int) -> list:
    """Per-row arrays are cut to the block; constants pass unchanged."""
    out = []
    for a in args:
        if isinstance(a, np.ndarray) and a.ndim >= 1 and a.shape[0] == nrows:
            out.append(a[sl])
        else:
            out.append(a)
    return out


def run(func: Callable, args: tuple, out_specs: list[tuple[tuple, np.dtype]], width: int):
    """Call func block by block (outputs passed by reference); returns outputs and seconds."""
    nrows = next(a.shape[0] for a in args if isinstance(a, np.ndarray) and a.ndim >= 1)
    outs = [np.empty((nrows, *shape), dtype) for shape, dtype in out_specs]
    for o in outs:
        o.fill(0)  # touch the pages: the engine reuses its buffers, page faults are not ours
    first = blocks(nrows, width)[0]
    func(*as_block_args(args, first, nrows), *[o[first] for o in outs])  # compile / load
    elapsed = 0.0
    for sl in blocks(nrows, width):
        block_args = as_block_args(args, sl, nrows)
        block_outs = [o[sl] for o in outs]
        t0 = time.perf_counter()
        func(*block_args, *block_outs)
        elapsed += time.perf_counter() - t0
    return outs, elapsed


def compare(ref: list[np.ndarray], ours: list[np.ndarray]) -> tuple[float, float, bool, bool]:
    """(max |Δ|, max |Δ|/|ref|, bit-identical, same NaN pattern) over all outputs."""
    max_abs = max_rel = 0.0
    identical = same_nan = True
    for r, o in zip(ref, ours):
        r64, o64 = r.astype(np.float64), o.astype(np.float64)
        nan_r, nan_o = np.isnan(r64), np.isnan(o64)
        same_nan &= bool(np.array_equal(nan_r, nan_o))
        identical &= r.dtype == o.dtype and r.tobytes() == o.tobytes()
        ok = ~(nan_r | nan_o) & np.isfinite(r64) & np.isfinite(o64)
        if ok.any():
            diff = np.abs(r64[ok] - o64[ok])
            max_abs = max(max_abs, float(diff.max()))
            scale = np.maximum(np.abs(r64[ok]), np.finfo(np.float64).tiny)
            max_rel = max(max_rel, float((diff / scale).max()))
    return max_abs, max_rel, identical, same_nan


def to_f64(arg: object) -> object:
    """float32 arrays and scalars as float64 (other arguments unchanged)."""
    if isinstance(arg, np.ndarray | np.floating) and arg.dtype == np.float32:
        return arg.astype(np.float64)
    return arg


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tile", type=int, default=34, help="copies of the 30 waveforms")
    parser.add_argument("--block", type=int, default=16, help="rows per kernel call")
    parser.add_argument("--repeat", type=int, default=3, help="timing runs (min is kept)")
    opts = parser.parse_args()
    testdata = Path(os.environ.get("PYGAMA_AK_TESTDATA", REPO.parent / "shared" / "testdata"))

    raw, baseline = load(testdata)
    raw = np.tile(raw, (opts.tile, 1))
    baseline = np.tile(baseline, opts.tile).astype(F32)
    nrows, n = raw.shape
    wave = raw.astype(F32)  # what numpy's cast hands dspeed's float32 loop

    # intermediate waveforms as the icpc chain makes them (dspeed's kernels)
    blsub = dsp.bl_subtract(wave, baseline)
    pz = dsp.pole_zero(blsub, F32(27460.5))
    bl_mean, bl_std, bl_slope, bl_icpt = dsp.linear_slope_fit(blsub[:, :750])
    atrap = dsp.asym_trap_filter(pz, I32(8), I32(4), I32(125))
    etrap = dsp.trap_norm(pz, I32(625), I32(188))
    trap2 = dsp.trap_norm(pz, I32(250), I32(6))
    trap_max = etrap.max(axis=1)
    tp_start = np.argmax(atrap, axis=1).astype(F32)  # stands in for the t0-filter maximum
    tp0 = dsp.time_point_thresh(atrap, bl_std, tp_start, F32(0))
    tp0_ok = np.where(np.isnan(tp0), F32(1000), tp0)  # a start for the forward searches
    tp99 = dsp.time_point_thresh(pz, F32(0.99) * trap_max, tp0_ok, F32(1))
    tp_e = np.where(np.isnan(tp0), F32(0), tp0 + F32(625 + 150))  # trapEftp-like times
    frac_t = (tp0_ok + F32(600.37)).astype(F32)  # fractional pick-off times
    times_ns = (np.where(np.isnan(tp99), tp0_ok, tp99) * F32(16)).astype(F32)
    rng = np.random.default_rng(1)
    cond = rng.random(nrows) < 0.5
    idx = rng.integers(-n - 50, n + 50, nrows).astype(np.int64)
    ints = rng.integers(-(2**20), 2**20, nrows).astype(np.int32)

    f = np.dtype(F32)
    one = [((), f)]
    wave_out = [((n,), f)]
    cases: list[tuple[str, str, Callable, tuple, list]] = [
        ("bl_subtract", "waveform, baseline", dsp.bl_subtract, (wave, baseline), wave_out),
        ("linear_slope_fit", "wf_blsub[0:750]", dsp.linear_slope_fit, (blsub[:, :750],), one * 4),
        ("linear_slope_fit", "wf_pz[1500:]", dsp.linear_slope_fit, (pz[:, 1500:],), one * 4),
        (
            "linear_slope_diff",
            "wf_blsub[0:750], bl_slope, bl_intercept",
            dsp.linear_slope_diff,
            (blsub[:, :750], bl_slope, bl_icpt),
            one * 2,
        ),
        ("min_max", "waveform", dsp.min_max, (wave,), one * 4),
        ("min_max", "wf_pz", dsp.min_max, (pz,), one * 4),
        ("saturation", "waveform, 16", dsp.saturation, (wave, F32(16)), one * 2),
        ("time_over_threshold", "wf_pz, 1000", dsp.time_over_threshold, (pz, F32(1000)), one),
        ("mean_below_threshold", "wf_blsub, 10", dsp.mean_below_threshold, (blsub, F32(10)), one),
        ("pole_zero", "wf_blsub, 27460.5", dsp.pole_zero, (blsub, F32(27460.5)), wave_out),
        (
            "double_pole_zero",
            "wf_blsub, 27460.5, 2000, 0.02",
            dsp.double_pole_zero,
            (blsub, F32(27460.5), F32(2000), F32(0.02)),
            wave_out,
        ),
        ("trap_norm", "wf_pz, 625, 188", dsp.trap_norm, (pz, I32(625), I32(188)), wave_out),
        ("trap_norm", "wf_pz, 250, 6", dsp.trap_norm, (pz, I32(250), I32(6)), wave_out),
        ("trap_filter", "wf_pz, 625, 188", dsp.trap_filter, (pz, I32(625), I32(188)), wave_out),
        (
            "asym_trap_filter",
            "wf_pz, 8, 4, 125",
            dsp.asym_trap_filter,
            (pz, I32(8), I32(4), I32(125)),
            wave_out,
        ),
        (
            "trap_pickoff",
            "wf_pz, 625, 188, tp_0+600.37",
            dsp.trap_pickoff,
            (pz, I32(625), I32(188), frac_t),
            one,
        ),
        (
            "time_point_thresh",
            "wf_atrap, bl_std, tp_start, 0",
            dsp.time_point_thresh,
            (atrap, bl_std, tp_start, F32(0)),
            one,
        ),
        (
            "time_point_thresh",
            "wf_pz, 0.99*trapTmax, tp_0, 1",
            dsp.time_point_thresh,
            (pz, F32(0.99) * trap_max, tp0_ok, F32(1)),
            one,
        ),
        (
            "time_point_thresh",
            "wf_pz, 0.5*trapTmax, tp_99, 0",
            dsp.time_point_thresh,
            (pz, F32(0.5) * trap_max, tp99, F32(0)),
            one,
        ),
    ]
    for mode in "lnfchs":
        cases.append(
            (
                "fixed_time_pickoff",
                f"wf_etrap, tp_0+600.37, '{mode}'",
                dsp.fixed_time_pickoff,
                (etrap, frac_t, np.int8(ord(mode))),
                one,
            )
        )
    cases += [
        (
            "fixed_time_pickoff",
            "wf_etrap, tp_0+775, 'l'",
            dsp.fixed_time_pickoff,
            (etrap, tp_e, np.int8(ord("l"))),
            one,
        ),
        (
            "fixed_time_pickoff",
            "wf_trap2, 50, 'i'",
            dsp.fixed_time_pickoff,
            (trap2, F32(50), np.int8(ord("i"))),
            one,
        ),
    ]
    for name, ref in [
        ("round_to_nearest", dsp_round),
        ("floor_to_nearest", dsp_floor),
        ("ceil_to_nearest", dsp_ceil),
        ("trunc_to_nearest", dsp_trunc),
    ]:
        cases.append((name, "tp (ns), 1000 ns", ref, (times_ns, F32(1000)), one))
        cases.append((name, "int32, 1000", ref, (ints, I32(1000)), [((), np.dtype(np.int32))]))
    cases += [
        ("where", "cond, tp_0, tp_99", dsp_where, (cond, tp0, tp99), one),
        ("get_default", "wf_pz, idx, NaN", dsp_get_default, (pz, idx, F32(np.nan)), one),
    ]

    # the float64 path (int32/float64 raw data) of the float kernels
    wide = [c for c in cases if c[0] not in {"where", "get_default"} and "int32" not in c[1]]
    cases += [
        (
            name,
            f"{desc} [f64]",
            ref,
            tuple(to_f64(a) for a in args),
            [(sh, np.dtype(np.float64)) for sh, _ in specs],
        )
        for name, desc, ref, args, specs in wide
        if not desc.startswith("wf_etrap, tp_0+600.37, 's'")
    ]

    print(
        f"{nrows} waveforms × {n} samples ({opts.tile}× the 30 p03 cal waveforms), "
        f"blocks of {opts.block} rows, best of {opts.repeat}"
    )
    header = (
        f"{'processor':22} {'args':48} {'max |Δ|':>9} {'max rel':>9} {'bits':>5} "
        f"{'ours µs/wf':>10} {'dspeed µs/wf':>12} {'speed-up':>8}"
    )
    print(header)
    print("-" * len(header))
    for name, desc, ref_func, args, out_specs in cases:
        ours_func = lookup(name)
        ref_t = ours_t = np.inf
        ref_out = ours_out = None
        for _ in range(opts.repeat):
            ref_out, t = run(ref_func, args, out_specs, opts.block)
            ref_t = min(ref_t, t)
            ours_out, t = run(ours_func, args, out_specs, opts.block)
            ours_t = min(ours_t, t)
        max_abs, max_rel, identical, same_nan = compare(ref_out, ours_out)
        bits = "yes" if identical else ("nan≠" if not same_nan else "no")
        us_ref, us_ours = ref_t / nrows * 1e6, ours_t / nrows * 1e6
        print(
            f"{name:22} {desc[:48]:48} {max_abs:9.2g} {max_rel:9.2g} {bits:>5} "
            f"{us_ours:10.2f} {us_ref:12.2f} {us_ref / us_ours:7.1f}×"
        )


if __name__ == "__main__":
    main()
