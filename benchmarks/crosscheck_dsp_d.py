"""Cross-check of the D-set dsp processors against dspeed 2.4.3 on real waveforms.

Run with the reference-tools venv (dspeed and pygama_ak installed there):

    .venv-anchors/bin/python benchmarks/crosscheck_dsp_d.py [--tile 10] [--block 16] [--repeat 3]

Processors: get, moving_slope, step, interpolated_time_point_thresh, multi_time_point_thresh,
bi_level_zero_crossing_time_points, get_wf_centroid, histogram_around_mode,
histogram_peakstats, interpolating_upsampler, wf_alignment, pad, multi_t_filter,
remove_duplicates, inject_sig_pulse, inject_exp_pulse, inject_gumbel, inject_general_logistic,
dense_layer_no_bias/with_bias, classification_layer_no_bias/with_bias, normalisation_layer,
optimize_1pz, optimize_2pz and optimize_nnls (svm_predict and tf_model need scikit-learn and
tensorflow and are skipped).

Inputs are made with dspeed's own kernels from the 30 p03 HPGe waveforms and the 60 SiPM
waveforms (tiled ``--tile`` times; the fits run on the untiled rows): baseline-subtracted and
pole-zero-corrected HPGe waveforms (τ 27460.5), their 301-sample leading edges and current,
a smoothed second derivative as the bipolar pulse for the centroid/alignment/zero-crossing
processors, the SiPM current with its get_multi_local_extrema maxima/minima for
multi_t_filter. Like dspeed's chain, each call gets one block of ``--block`` rows. Prints,
per processor: the largest absolute and relative difference (relative to |dspeed| where it is
not 0), whether every output is bit-identical (NaN pattern included), the rows whose NaN
pattern differs, and µs per waveform for both (best of ``--repeat`` passes).
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np

warnings.filterwarnings("ignore")

import dspeed.processors as dsp  # noqa: E402
from crosscheck_dsp_b import (  # noqa: E402
    NOTES,
    ROWS,
    compare,
    load_hpge,
    load_sipm,
    report,
    run_blocks,
    testdata_dir,
)
from dspeed.processors.get_multi_local_extrema import (  # noqa: E402
    get_multi_local_extrema as dsp_extrema,
)

from pygama_ak.dsp.processors import lookup  # noqa: E402

F32 = np.float32
F64 = np.float64


def char(c: str) -> np.int8:
    return np.int8(ord(c))


def compare_padded(name, ours, ref, inputs, shape, dtype, nrows, width, repeat) -> np.ndarray:
    """compare() for one (rows, m) output, written through views of (rows, m+1) buffers:
    dspeed's spline upsampler writes one sample past the end of each row."""
    bufs = [np.zeros((shape[0], shape[1] + 1), dtype) for _ in range(2)]
    outs = [b[:, : shape[1]] for b in bufs]
    t_ours = run_blocks(ours, [*inputs, outs[0]], nrows, width, repeat)
    t_ref = run_blocks(ref, [*inputs, outs[1]], nrows, width, repeat)
    report(name, [outs[0]], [outs[1]], t_ours, t_ref)
    return outs[1]


def kernels() -> None:
    """moving_slope and step (run once, like kernel generators at chain setup)."""
    for name, args, length, dtype in [
        ("moving_slope", (), 12, F32),
        ("moving_slope", (), 1000, F64),
        ("step", (F32(16),), 16, F32),
        ("step", (F64(16),), 1001, F64),
    ]:
        ours, ref = np.zeros(length, dtype), np.zeros(length, dtype)
        lookup(name)(*args, ours)
        getattr(dsp, name)(*args, ref)
        report(f"{name} ({length} {np.dtype(dtype).name}, once)", [ours], [ref], 0.0, 0.0)


def hpge(waves: np.ndarray, baselines: np.ndarray, width: int, repeat: int) -> None:
    """Time points, histograms, resampling, alignment, padding and injection on HPGe rows."""
    n, ns = waves.shape
    wf = waves.astype(F32)
    wf_blsub = np.zeros((n, ns), F32)
    dsp.bl_subtract(wf, baselines.astype(F32), wf_blsub)
    wf_pz = np.zeros((n, ns), F32)
    dsp.pole_zero(wf_blsub, F32(27460.5), wf_pz)
    tmax = np.argmax(wf_pz, axis=1)
    amp = wf_pz[np.arange(n), tmax]
    t_max = tmax.astype(F32)

    compare(
        "get (wf_pz at argmax)",
        lookup("get"),
        dsp.get,
        [wf_pz, tmax.astype(np.int64)],
        [((n,), F32)],
        n,
        width,
        repeat,
    )
    for mode in "ibarnlfc":
        for walk in (0, 1):
            start = t_max if walk == 0 else np.full(n, 1000, F32)
            compare(
                f"interpolated_time_point_thresh ('{mode}', walk {walk})",
                lookup("interpolated_time_point_thresh"),
                dsp.interpolated_time_point_thresh,
                [wf_pz, F32(0.5) * amp, start, np.int64(walk), char(mode)],
                [((n,), F32)],
                n,
                width,
                repeat,
            )
    thresholds = amp[:, None] * np.array([0.9, 0.1, 0.5, 0.25, 0.75], F32)
    for mode in "ibarnlfc":
        compare(
            f"multi_time_point_thresh (5 thr, '{mode}')",
            lookup("multi_time_point_thresh"),
            dsp.multi_time_point_thresh,
            [wf_pz, thresholds, t_max, F32(1), char(mode)],
            [((n, 5), F32)],
            n,
            width,
            repeat,
        )
    compare(
        "multi_time_point_thresh (float64, polarity -1)",
        lookup("multi_time_point_thresh"),
        dsp.multi_time_point_thresh,
        [wf_pz.astype(F64), thresholds.astype(F64), t_max.astype(F64), F64(-1), char("l")],
        [((n, 5), F64)],
        n,
        width,
        repeat,
    )

    # bipolar pulses: smoothed second derivative of the waveform
    box = np.ones(25, F32) / F32(25)
    curr = np.zeros((n, ns - 1), F32)
    dsp.convolve_wf(np.diff(wf_pz, axis=1), box, char("s"), curr)
    bipolar = np.zeros((n, ns - 2), F32)
    dsp.convolve_wf(np.diff(curr, axis=1), box, char("s"), bipolar)
    bip_std = bipolar[:, :2000].std(axis=1).astype(F32)
    compare(
        "bi_level_zero_crossing_time_points (±5σ, gate 100)",
        lookup("bi_level_zero_crossing_time_points"),
        dsp.bi_level_zero_crossing_time_points,
        [bipolar, 5 * bip_std, -5 * bip_std, F32(100), F32(0)],
        [((n,), np.uint32), ((n, 10), F32), ((n, 10), F32)],
        n,
        width,
        repeat,
    )
    (centroid,) = compare(
        "get_wf_centroid (shift 5)",
        lookup("get_wf_centroid"),
        dsp.get_wf_centroid,
        [bipolar, F32(5)],
        [((n,), F32)],
        n,
        width,
        repeat,
    )
    centroid[::7] = np.nan  # some rows take the NaN branch
    compare(
        "wf_alignment (1000 at the centroid)",
        lookup("wf_alignment"),
        dsp.wf_alignment,
        [bipolar, centroid, F32(5), F32(1000)],
        [((n, 1000), F32)],
        n,
        width,
        repeat,
    )
    compare(
        "pad (5000 at 100 into 8192)",
        lookup("pad"),
        dsp.pad,
        [wf_blsub, np.int64(5000), F32(100), F32(0), F32(7)],
        [((n, 8192), F32)],
        n,
        width,
        repeat,
    )

    base = wf[:, :3000]
    hist_w, hist_e = compare(
        "histogram_around_mode (NaN centre, 1 ADC, 64 bins)",
        lookup("histogram_around_mode"),
        dsp.histogram_around_mode,
        [base, F32(np.nan), F32(1)],
        [((n, 64), F32), ((n, 65), F32)],
        n,
        width,
        repeat,
    )
    compare(
        "histogram_around_mode (centre 15000, 2.5, 41 bins)",
        lookup("histogram_around_mode"),
        dsp.histogram_around_mode,
        [base.astype(F64), F64(15000), F64(2.5)],
        [((n, 41), F64), ((n, 42), F64)],
        n,
        width,
        repeat,
    )
    for skip in (0, 1):
        for width_type in range(5):
            compare(
                f"histogram_peakstats (skip {skip}, width {width_type})",
                lookup("histogram_peakstats"),
                dsp.histogram_peakstats,
                [hist_w, hist_e, F32(np.nan), np.int32(skip), np.int32(width_type)],
                [((n,), F32), ((n,), F32)],
                n,
                width,
                repeat,
            )

    # leading edges: 301 samples ending after the maximum of the current
    start = np.clip(np.argmax(curr, axis=1) - 150, 0, ns - 301)
    edge = np.stack([w[s : s + 301] for w, s in zip(wf_pz, start)])
    for mode in "infclhs":
        for m in (4816, 4784):
            if mode == "i" and m == 4784:
                continue
            compare_padded(
                f"interpolating_upsampler ('{mode}', 301 -> {m})",
                lookup("interpolating_upsampler"),
                dsp.interpolating_upsampler,
                [edge, char(mode)],
                (n, m),
                F32,
                n,
                width,
                repeat,
            )

    rng = np.random.default_rng(1)
    t0 = rng.uniform(-50, ns - 100, n).astype(F32)
    rt = rng.uniform(5, 60, n).astype(F32)
    a = rng.uniform(10, 5000, n).astype(F32)
    decay = rng.uniform(100, 20000, n).astype(F32)
    for name, args in [
        ("inject_sig_pulse", [t0, rt, a, decay]),
        ("inject_exp_pulse", [t0, rt, a, decay]),
        ("inject_gumbel", [a, t0, rt]),
        ("inject_general_logistic", [a, t0, rt, F32(0.7), F32(1.3), decay]),
    ]:
        compare(
            name,
            lookup(name),
            getattr(dsp, name),
            [wf_blsub, *args],
            [((n, ns), F32)],
            n,
            width,
            repeat,
        )
        compare(
            f"{name} (float64)",
            lookup(name),
            getattr(dsp, name),
            [wf_blsub.astype(F64), *[np.asarray(x, F64) for x in args]],
            [((n, ns), F64)],
            n,
            width,
            repeat,
        )

    # small networks on 16 features per waveform
    feats = wf_pz[:, 3000:5048].reshape(n, 16, 128).mean(axis=2)
    feats = ((feats - feats.mean(axis=0)) / feats.std(axis=0)).astype(F32)
    kern = rng.normal(size=(16, 8)).astype(F32)
    bias = rng.normal(size=8).astype(F32)
    weights = rng.normal(size=16).astype(F32)
    for dtype in (F32, F64):
        x, k, b, w1 = (v.astype(dtype) for v in (feats, kern, bias, weights))
        tag = np.dtype(dtype).name
        for code in "srlmt":
            for name, args, shape in [
                ("dense_layer_no_bias", [x, k, char(code)], (n, 8)),
                ("dense_layer_with_bias", [x, k, b, char(code)], (n, 8)),
                ("classification_layer_no_bias", [x, w1, char(code)], (n,)),
                ("classification_layer_with_bias", [x, w1, dtype(0.3), char(code)], (n,)),
            ]:
                compare(
                    f"{name} ('{code}', {tag})",
                    lookup(name),
                    getattr(dsp, name),
                    args,
                    [(shape, dtype)],
                    n,
                    width,
                    repeat,
                )
        compare(
            f"normalisation_layer ({tag})",
            lookup("normalisation_layer"),
            dsp.normalisation_layer,
            [x, x.mean(axis=0), x.var(axis=0) + dtype(0.5)],
            [((n, 16), dtype)],
            n,
            width,
            repeat,
        )


def fits(waves: np.ndarray, width: int) -> None:
    """optimize_1pz, optimize_2pz and optimize_nnls on the untiled HPGe rows."""
    n, ns = waves.shape
    wf = waves.astype(F32)
    base = wf[:, :3000].mean(axis=1).astype(F32)
    beg, end = F32(4500), F32(8000)
    (tau,) = compare(
        "optimize_1pz (p0 27000, [4500, 8000))",
        lookup("optimize_1pz"),
        dsp.optimize_1pz,
        [wf, base, beg, end, F32(27000)],
        [((n,), F32)],
        n,
        width,
        1,
    )
    ours = lookup("optimize_1pz")(wf, base, beg, end, F32(27000))
    rel = np.abs(ours.astype(F64) - tau) / np.abs(tau)
    NOTES.append(
        f"optimize_1pz: {int((rel == 0).sum())} of {n} rows bit-identical, "
        f"median rel diff {np.median(rel):.3g}; rows with rel diff > 1e-3: "
        f"{np.flatnonzero(rel > 1e-3).tolist()} (dspeed {tau[rel > 1e-3]}, "
        f"ours {ours[rel > 1e-3]})"
    )
    args2 = [wf, base, beg, end, F32(100000), F32(1), F32(27000), F32(2000), F32(0.02)]
    ref2 = compare(
        "optimize_2pz (27000, 2000, 0.02)",
        lookup("optimize_2pz"),
        dsp.optimize_2pz,
        args2,
        [((n,), F32)] * 3,
        n,
        width,
        1,
    )
    ours2 = lookup("optimize_2pz")(*args2)
    stats = []
    for r in range(n):
        y = wf[r].astype(F64) - base[r]
        start = _tail_stat(y, 27000.0, 2000.0, 0.02)
        stats.append(
            (
                abs(_tail_stat(y, *(float(o[r]) for o in ours2))) / abs(start),
                abs(_tail_stat(y, *(float(o[r]) for o in ref2))) / abs(start),
            )
        )
    stats = np.array(stats)
    NOTES.append(
        "optimize_2pz: |slope statistic| / its value at the start, median over rows: "
        f"ours {np.median(stats[:, 0]):.2g}, dspeed {np.median(stats[:, 1]):.2g} "
        "(both on the surface of zeros, at different points)"
    )

    rng = np.random.default_rng(8)
    a_rows, b_rows = [], []
    for w in wf.astype(F64):
        e = int(np.clip(np.argmax(np.diff(w)), 100, ns - 300))
        pulse = w[e - 100 : e + 300] - w[e - 100 : e - 50].mean()
        pulse /= np.abs(pulse).max()
        cols = np.stack([np.roll(pulse, 15 * k) for k in range(10)], axis=1)
        mix = np.zeros(10)
        mix[rng.choice(10, 3, replace=False)] = rng.uniform(0.5, 3, 3)
        a_rows.append(cols)
        b_rows.append(cols @ mix + rng.normal(scale=0.01, size=400))
    for dtype in (F32, F64):
        a = np.ascontiguousarray(a_rows, dtype)
        b = np.ascontiguousarray(b_rows, dtype)
        compare(
            f"optimize_nnls (400 x 10, {np.dtype(dtype).name})",
            lookup("optimize_nnls"),
            dsp.optimize_nnls,
            [a, b, dtype(1000), F32(1e-10), False, F32(0)],
            [((n, 10), dtype)],
            n,
            width,
            1,
        )


def _tail_stat(y: np.ndarray, tau1: float, tau2: float, frac: float) -> float:
    """Σx·Σy − N·Σxy on [4500, 8000) after dspeed's double_pole_zero."""
    out = np.zeros_like(y)
    dsp.double_pole_zero(y, tau1, tau2, frac, out)
    x = np.arange(4500, 8000)
    seg = out[4500:8000]
    return float(x.sum() * seg.sum() - len(x) * (x * seg).sum())


def sipm(waves: np.ndarray, width: int, repeat: int) -> None:
    """multi_t_filter and remove_duplicates on SiPM current pulses."""
    n, ns = waves.shape
    wf = waves.astype(F64)
    curr = np.zeros((n, ns - 5), F64)
    dsp.avg_current(wf, F64(5), curr)
    std = curr[:, :500].std(axis=1)
    vt_max, vt_min = np.zeros((n, 20)), np.zeros((n, 20))
    nmax, nmin = np.zeros(n, np.uint32), np.zeros(n, np.uint32)
    dsp_extrema(curr, F64(5), F64(0.1), F64(1), 5 * std, F64(0), vt_max, vt_min, nmax, nmin)
    for dtype in (F64, F32):
        args = [
            curr.astype(dtype),
            (2 * std).astype(dtype),
            vt_max.astype(dtype),
            vt_min.astype(dtype),
        ]
        (t_out,) = compare(
            f"multi_t_filter (2σ, {np.dtype(dtype).name})",
            lookup("multi_t_filter"),
            dsp.multi_t_filter,
            args,
            [((n, 20), dtype)],
            n,
            width,
            repeat,
        )
    edges = np.full((n, 20), np.nan, F32)
    dsp.time_point_thresh(
        curr.astype(F32)[:, None, :],
        (2 * std).astype(F32)[:, None],
        vt_max.astype(F32),
        F32(0),
        edges,
    )
    compare(
        "remove_duplicates (leading edges, minima)",
        lookup("remove_duplicates"),
        dsp.remove_duplicates,
        [edges, vt_min.astype(F32)],
        [((n, 20), F32)],
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
    tiled = np.tile(waves, (opts.tile, 1))
    tiled_bl = np.tile(baselines, opts.tile)
    sipm_waves = np.tile(load_sipm(testdata), (opts.tile, 1))
    # compile / load every kernel once before timing
    hpge(tiled[:32], tiled_bl[:32], opts.block, 1)
    sipm(sipm_waves[:32], opts.block, 1)
    fits(waves[:4], opts.block)
    ROWS.clear()
    NOTES.clear()
    kernels()
    hpge(tiled, tiled_bl, opts.block, opts.repeat)
    sipm(sipm_waves, opts.block, opts.repeat)
    fits(waves, opts.block)
    print(
        f"HPGe rows: {len(tiled)} (fits: {len(waves)}), SiPM rows: {len(sipm_waves)}, "
        f"block {opts.block}"
    )
    head = f"{'processor':58s} {'max abs':>10s} {'max rel':>10s} {'bit-same':>8s} {'NaN rows':>8s}"
    print(head + f" {'ours µs/wf':>11s} {'dspeed µs/wf':>12s}")
    for name, max_abs, max_rel, same, nan_rows, t_ours, t_ref in ROWS:
        print(
            f"{name:58s} {max_abs:10.3g} {max_rel:10.3g} {str(same):>8s} {nan_rows:8d}"
            f" {t_ours:11.2f} {t_ref:12.2f}"
        )
    print(f"bit-identical: {sum(r[3] for r in ROWS)} of {len(ROWS)} lines")
    for note in NOTES:
        print(note)


if __name__ == "__main__":
    main()
