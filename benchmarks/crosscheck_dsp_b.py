"""Cross-check of the B-set dsp kernels against dspeed 2.4.3 on real waveforms.

Run with the reference-tools venv (dspeed and pygama_ak installed there):

    .venv-anchors/bin/python benchmarks/crosscheck_dsp_b.py [--tile 10] [--block 16] [--repeat 3]

Kernels: t0/cusp/zac/gaussian kernel generators, convolve_wf, fft_convolve_wf,
reflected_convolve_wf, windower, avg_current, moving_window_left/right/multi, upsampler,
histogram, histogram_stats, get_multi_local_extrema, peak_snr_threshold and multi_a_filter.

HPGe: the 30 p03 cal waveforms (3 channels × 10, 8192 uint16 samples); SiPM: the 60 waveforms
of L200-comm-20211130-phy-spms.lh5 (6 channels × 10, 6000 uint16 samples); both tiled
``--tile`` times. The inputs of each kernel are made once with dspeed's own kernels, with the
parameters of the icpc and SiPM configs (wf_pz with τ 27460.5, t0 kernel 8+125 samples convolved
's', cusp/zac 1250/187/28125 on wf_blsub[:6092] 'v' into 301 samples, windower 301 at tp_0_est,
avg_current 1, upsampler ×16 into 4784, moving_window_multi 48,3,0; gaussian 1,4 float64,
reflected convolution, avg_current 5, histogram 100 bins, peakdet 5/0.1/right/3*fwhm/0 with 20
slots, snr 0.8/10, amplitudes), and fed to both. Like dspeed's chain, each call gets one
block of ``--block`` rows (cusp and zac run one after the other on each block, as in the
config). Prints, per kernel: the largest absolute and relative difference over all outputs
(relative to |dspeed| where it is not 0), whether every output is bit-identical (NaN pattern
included), and µs per waveform for both (best of ``--repeat`` passes over all blocks).
Also compares tp_0_est (backward time_point_thresh of the t0-filtered waveform at bl_std from
its argmax, dspeed's kernels) computed from our and from dspeed's convolve_wf output.
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
from dspeed.processors.gaussian_filter1d import gaussian_filter1d as dsp_gaussian  # noqa: E402
from dspeed.processors.get_multi_local_extrema import (  # noqa: E402
    get_multi_local_extrema as dsp_extrema,
)
from dspeed.processors.multi_a_filter import multi_a_filter as dsp_multi_a  # noqa: E402
from dspeed.processors.peak_snr_threshold import peak_snr_threshold as dsp_snr  # noqa: E402

from pygama_ak.dsp.processors import lookup  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
RAW = "lh5/prod-ref-l200/generated/tier/raw/cal/p03/r001/l200-p03-r001-cal-20230318T012144Z-tier_raw.lh5"
SIPM = "lh5/L200-comm-20211130-phy-spms.lh5"
HPGE_CHANNELS = ["ch1084803", "ch1084804", "ch1121600"]
F32 = np.float32
F64 = np.float64


def testdata_dir() -> Path:
    """$PYGAMA_AK_TESTDATA or ../shared/testdata beside the repository."""
    value = os.environ.get("PYGAMA_AK_TESTDATA")
    return Path(value) if value else (REPO / "../shared/testdata").resolve()


def load_hpge(testdata: Path) -> tuple[np.ndarray, np.ndarray]:
    """The 30 HPGe waveforms (uint16) and their DAQ baselines."""
    waves, baselines = [], []
    with h5py.File(testdata / RAW) as f:
        for ch in HPGE_CHANNELS:
            waves.append(f[f"{ch}/raw/waveform/values"][:])
            baselines.append(f[f"{ch}/raw/baseline"][:])
    return np.concatenate(waves), np.concatenate(baselines)


def load_sipm(testdata: Path) -> np.ndarray:
    """The 60 SiPM waveforms (uint16)."""
    with h5py.File(testdata / SIPM) as f:
        return np.concatenate([f[f"{ch}/raw/waveform/values"][:] for ch in sorted(f.keys())])


# ----------------------------------------------------------------------------- running kernels
def blocks(nrows: int, width: int) -> list[slice]:
    """Row ranges of the blocks a chain would process."""
    return [slice(s, min(nrows, s + width)) for s in range(0, nrows, width)]


def cut(args: list, sl: slice, nrows: int) -> list:
    """Per-row arrays cut to the block; constants unchanged."""
    return [
        a[sl] if isinstance(a, np.ndarray) and a.ndim >= 1 and len(a) == nrows else a for a in args
    ]


def run_blocks(func: Callable, args: list, nrows: int, width: int, repeat: int) -> float:
    """Call func on every block ``repeat`` times; best total time per row in µs."""
    best = float("inf")
    for _ in range(repeat):
        elapsed = 0.0
        for sl in blocks(nrows, width):
            block_args = cut(args, sl, nrows)
            t0 = time.perf_counter()
            func(*block_args)
            elapsed += time.perf_counter() - t0
        best = min(best, elapsed)
    return best / nrows * 1e6


def diff(ours: np.ndarray, ref: np.ndarray) -> tuple[float, float, bool, int]:
    """(max abs diff, max rel diff, bit-identical, rows whose NaN pattern differs)."""
    ours = np.asarray(ours)
    ref = np.asarray(ref)
    same = (
        ours.dtype == ref.dtype
        and ours.shape == ref.shape
        and np.array_equal(ours, ref, equal_nan=True)
    )
    a = ours.astype(F64)
    b = ref.astype(F64)
    nan_a, nan_b = np.isnan(a), np.isnan(b)
    nan_rows = (
        int(np.any(nan_a != nan_b, axis=tuple(range(1, a.ndim))).sum())
        if a.ndim > 1
        else int((nan_a != nan_b).sum())
    )
    ok = ~(nan_a | nan_b)
    if not ok.any():
        return 0.0, 0.0, same, nan_rows
    d = np.abs(a[ok] - b[ok])
    scale = np.abs(b[ok])
    rel = np.where(scale > 0, d / np.where(scale > 0, scale, 1.0), np.where(d > 0, np.inf, 0.0))
    return float(d.max()), float(rel.max()), same, nan_rows


ROWS: list[tuple] = []
NOTES: list[str] = []


def report(name: str, outputs_ours: list, outputs_ref: list, t_ours: float, t_ref: float) -> None:
    """Collect one line of the table (all outputs of the call together)."""
    max_abs = max_rel = 0.0
    identical = True
    nan_rows = 0
    for o, r in zip(outputs_ours, outputs_ref):
        a, rel, same, nr = diff(o, r)
        max_abs, max_rel = max(max_abs, a), max(max_rel, rel)
        identical &= same
        nan_rows += nr
    ROWS.append((name, max_abs, max_rel, identical, nan_rows, t_ours, t_ref))


def compare(
    name: str,
    ours: Callable,
    ref: Callable,
    inputs: list,
    outputs: list[tuple],
    nrows: int,
    width: int,
    repeat: int,
) -> list[np.ndarray]:
    """Run ours and dspeed's on the same inputs into fresh outputs; returns dspeed's outputs."""
    outs_ours = [np.zeros(shape, dtype) for shape, dtype in outputs]
    outs_ref = [np.zeros(shape, dtype) for shape, dtype in outputs]
    t_ours = run_blocks(ours, inputs + outs_ours, nrows, width, repeat)
    t_ref = run_blocks(ref, inputs + outs_ref, nrows, width, repeat)
    report(name, outs_ours, outs_ref, t_ours, t_ref)
    return outs_ref


# ------------------------------------------------------------------------------ the HPGe chain
def hpge(waves: np.ndarray, baselines: np.ndarray, width: int, repeat: int) -> None:
    """Kernels of the icpc config on the HPGe waveforms."""
    n, ns = waves.shape
    wf = waves.astype(F32)
    wf_blsub = np.zeros((n, ns), F32)
    dsp.bl_subtract(wf, baselines.astype(F32), wf_blsub)
    wf_pz = np.zeros((n, ns), F32)
    dsp.pole_zero(wf_blsub, F32(27460.5), wf_pz)
    bl = [np.zeros(n, F32) for _ in range(4)]
    dsp.linear_slope_fit(wf_blsub[:, :750], *bl)
    bl_std = bl[1]

    # kernel generators (once, like the chain at setup)
    for name, args, length in [
        ("t0_filter", (F32(8.0), F32(125.0)), 133),
        ("cusp_filter", (F32(1250.0), F32(187.0), F32(28125.0)), 5792),
        ("zac_filter", (F32(1250.0), F32(187.0), F32(28125.0)), 5792),
    ]:
        k_ours = np.zeros(length, F32)
        k_ref = np.zeros(length, F32)
        t0 = time.perf_counter()
        lookup(name)(*args, k_ours)
        t_ours = (time.perf_counter() - t0) * 1e6
        t0 = time.perf_counter()
        getattr(dsp, name)(*args, k_ref)
        t_ref = (time.perf_counter() - t0) * 1e6
        report(f"{name} (µs per kernel)", [k_ours], [k_ref], t_ours, t_ref)
    t0k = np.zeros(133, F32)
    dsp.t0_filter(F32(8.0), F32(125.0), t0k)
    cusp = np.zeros(5792, F32)
    dsp.cusp_filter(F32(1250.0), F32(187.0), F32(28125.0), cusp)
    zac = np.zeros(5792, F32)
    dsp.zac_filter(F32(1250.0), F32(187.0), F32(28125.0), zac)

    s_mode = np.int8(ord("s"))
    v_mode = np.int8(ord("v"))
    ours_t0 = np.zeros((n, ns), F32)
    run_blocks(lookup("convolve_wf"), [wf_pz, t0k, s_mode, ours_t0], n, width, 1)
    (wf_t0,) = compare(
        "convolve_wf (t0, 133 taps, 's')",
        lookup("convolve_wf"),
        dsp.convolve_wf,
        [wf_pz, t0k, s_mode],
        [((n, ns), F32)],
        n,
        width,
        repeat,
    )
    # downstream: tp_0_est from both filtered waveforms, with dspeed's kernels
    tps = []
    for filtered in (ours_t0, wf_t0):
        mm = [np.zeros(n, F32) for _ in range(4)]
        dsp.min_max(filtered, *mm)
        tp = np.zeros(n, F32)
        dsp.time_point_thresh(filtered, bl_std, mm[1], F32(0), tp)
        tps.append(tp)
    tp_diff = int((~((tps[0] == tps[1]) | (np.isnan(tps[0]) & np.isnan(tps[1])))).sum())
    tp_0_est = tps[1]

    # cusp and zac on each block one after the other, as in the chain
    sliced = wf_blsub[:, :6092]
    pair = lambda func: (  # noqa: E731
        lambda w, k1, k2, m, o1, o2: (func(w, k1, m, o1), func(w, k2, m, o2))
    )
    outs = [np.zeros((n, 301), F32) for _ in range(4)]
    t_ours = run_blocks(
        pair(lookup("fft_convolve_wf")),
        [sliced, cusp, zac, v_mode, outs[0], outs[1]],
        n,
        width,
        repeat,
    )
    t_ref = run_blocks(
        pair(dsp.fft_convolve_wf), [sliced, cusp, zac, v_mode, outs[2], outs[3]], n, width, repeat
    )
    report("fft_convolve_wf (cusp, 'v', per call)", [outs[0]], [outs[2]], t_ours / 2, t_ref / 2)
    report("fft_convolve_wf (zac, 'v', per call)", [outs[1]], [outs[3]], t_ours / 2, t_ref / 2)

    (wf_le,) = compare(
        "windower (301 at tp_0_est)",
        lookup("windower"),
        dsp.windower,
        [wf_pz, tp_0_est],
        [((n, 301), F32)],
        n,
        width,
        repeat,
    )
    (curr,) = compare(
        "avg_current (1)",
        lookup("avg_current"),
        dsp.avg_current,
        [wf_le, F32(1)],
        [((n, 300), F32)],
        n,
        width,
        repeat,
    )
    (curr_up,) = compare(
        "upsampler (x16 -> 4784)",
        lookup("upsampler"),
        dsp.upsampler,
        [curr, F32(16)],
        [((n, 4784), F32)],
        n,
        width,
        repeat,
    )
    compare(
        "moving_window_multi (48, 3, 0)",
        lookup("moving_window_multi"),
        dsp.moving_window_multi,
        [curr_up, F32(48), F32(3), np.int32(0)],
        [((n, 4784), F32)],
        n,
        width,
        repeat,
    )
    for name in ("moving_window_left", "moving_window_right"):
        compare(
            f"{name} (48 on curr_up)",
            lookup(name),
            getattr(dsp, name),
            [curr_up, F32(48)],
            [((n, 4784), F32)],
            n,
            width,
            repeat,
        )
        compare(
            f"{name} (6 on wf_pz)",
            lookup(name),
            getattr(dsp, name),
            [wf_pz, F32(6)],
            [((n, ns), F32)],
            n,
            width,
            repeat,
        )
    NOTES.append(f"tp_0_est from our vs dspeed's convolve_wf output: {tp_diff} of {n} rows differ")


# ------------------------------------------------------------------------------ the SiPM chain
def sipm(waves: np.ndarray, width: int, repeat: int) -> None:
    """Kernels of the SiPM config on the SiPM waveforms."""
    n, ns = waves.shape
    gk_ours = np.zeros(9, F64)
    gk = np.zeros(9, F64)
    t0 = time.perf_counter()
    lookup("gaussian_filter1d")(F64(1), F64(4), gk_ours)
    t_ours = (time.perf_counter() - t0) * 1e6
    t0 = time.perf_counter()
    dsp_gaussian(F64(1), F64(4), gk)
    t_ref = (time.perf_counter() - t0) * 1e6
    report("gaussian_filter1d (µs per kernel)", [gk_ours], [gk], t_ours, t_ref)

    wf = waves.astype(F64)  # uint16 waveform with a float64 kernel: the float64 loop
    (wf_gaus,) = compare(
        "reflected_convolve_wf (9 taps)",
        lookup("reflected_convolve_wf"),
        dsp.reflected_convolve_wf,
        [wf, gk],
        [((n, ns), F64)],
        n,
        width,
        repeat,
    )
    (curr,) = compare(
        "avg_current (5)",
        lookup("avg_current"),
        dsp.avg_current,
        [wf_gaus, F64(5)],
        [((n, ns - 5), F64)],
        n,
        width,
        repeat,
    )
    hw, hb = compare(
        "histogram (100 bins)",
        lookup("histogram"),
        dsp.histogram,
        [curr],
        [((n, 100), F64), ((n, 101), F64)],
        n,
        width,
        repeat,
    )
    outs_ours = [np.zeros(n, F64) for _ in range(3)]
    outs_ref = [np.zeros(n, F64) for _ in range(3)]
    t_ours = run_blocks(
        lookup("histogram_stats"), [hw, hb, *outs_ours, F64(np.nan)], n, width, repeat
    )
    t_ref = run_blocks(dsp.histogram_stats, [hw, hb, *outs_ref, F64(np.nan)], n, width, repeat)
    report("histogram_stats", outs_ours, outs_ref, t_ours, t_ref)
    fwhm = outs_ref[2]

    vt_max, vt_min, n_max, n_min = compare(
        "get_multi_local_extrema (5,0.1,1,3*fwhm,0)",
        lookup("get_multi_local_extrema"),
        dsp_extrema,
        [curr, F64(5), F64(0.1), F64(1), 3 * fwhm, F64(0)],
        [((n, 20), F64), ((n, 20), F64), ((n,), np.uint32), ((n,), np.uint32)],
        n,
        width,
        repeat,
    )
    for direction in (0, 2, 3):
        compare(
            f"get_multi_local_extrema (direction {direction})",
            lookup("get_multi_local_extrema"),
            dsp_extrema,
            [curr, F64(5), F64(0.1), F64(direction), 3 * fwhm, F64(0)],
            [((n, 20), F64), ((n, 20), F64), ((n,), np.uint32), ((n,), np.uint32)],
            n,
            width,
            repeat,
        )
    trigger_pos, _ = compare(
        "peak_snr_threshold (0.8, 10)",
        lookup("peak_snr_threshold"),
        dsp_snr,
        [curr, vt_max, F64(0.8), F64(10)],
        [((n, 20), F64), ((n,), np.uint32)],
        n,
        width,
        repeat,
    )
    compare(
        "multi_a_filter",
        lookup("multi_a_filter"),
        dsp_multi_a,
        [curr, trigger_pos],
        [((n, 20), F64)],
        n,
        width,
        repeat,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tile", type=int, default=10, help="copies of the real waveforms")
    parser.add_argument("--block", type=int, default=16, help="rows per kernel call")
    parser.add_argument("--repeat", type=int, default=3, help="timing passes (best is kept)")
    opts = parser.parse_args()
    testdata = testdata_dir()
    waves, baselines = load_hpge(testdata)
    waves = np.tile(waves, (opts.tile, 1))
    baselines = np.tile(baselines, opts.tile)
    sipm_waves = np.tile(load_sipm(testdata), (opts.tile, 1))
    # compile / load every kernel once before timing
    hpge(waves[:32], baselines[:32], opts.block, 1)
    sipm(sipm_waves[:32], opts.block, 1)
    ROWS.clear()
    NOTES.clear()
    hpge(waves, baselines, opts.block, opts.repeat)
    sipm(sipm_waves, opts.block, opts.repeat)
    print(f"HPGe rows: {len(waves)}, SiPM rows: {len(sipm_waves)}, block {opts.block}")
    head = f"{'kernel':45s} {'max abs':>10s} {'max rel':>10s} {'bit-same':>8s} {'NaN rows':>8s}"
    print(head + f" {'ours µs/wf':>11s} {'dspeed µs/wf':>12s} {'speed-up':>8s}")
    for name, max_abs, max_rel, same, nan_rows, t_ours, t_ref in ROWS:
        print(
            f"{name:45s} {max_abs:10.3g} {max_rel:10.3g} {str(same):>8s} {nan_rows:8d}"
            f" {t_ours:11.2f} {t_ref:12.2f} {t_ref / t_ours:8.1f}"
        )
    for note in NOTES:
        print(note)


if __name__ == "__main__":
    main()
