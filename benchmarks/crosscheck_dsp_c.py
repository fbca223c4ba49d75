"""Cross-check of the C-set dsp kernels (IIR filters, shapers, corrections, transforms, fits,
optimum filters) against dspeed 2.4.3 on the real p03 waveforms.

Run with the reference-tools venv (dspeed, pywt and pygama_ak installed there):

    .venv-anchors/bin/python benchmarks/crosscheck_dsp_c.py [--tile 4] [--block 16]

The 30 p03 cal waveforms (3 channels × 10, 8192 uint16 samples) are tiled ``--tile`` times;
intermediate waveforms (wf_blsub, wf_pz) are made with dspeed's kernels and fed to both
implementations, block by block into reused buffers, float32 and float64. A copy with three
NaN rows checks the NaN rules. Factories (iir/notch/peak filters, poly_fit, wiener_filter)
are built by both packages with the same init args. Prints per call the largest absolute
and relative difference, whether every output is bit-identical (NaN pattern included) and
µs per waveform for both. dspeed's wiener_filter reads its LH5 file with the pre-0.6
``LH5Store.read`` tuple API; a shim adapts it to the installed lh5.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np

warnings.filterwarnings("ignore")

import dspeed.processors as dsp  # noqa: E402
import lh5 as legend_lh5  # noqa: E402
from crosscheck_dsp_a import as_block_args, blocks, load  # noqa: E402
from dspeed.processors.fft import fft as dsp_fft  # noqa: E402
from dspeed.processors.fft import ifft as dsp_ifft  # noqa: E402
from dspeed.processors.fft import psd as dsp_psd  # noqa: E402

from pygama_ak.dsp.processors import lookup  # noqa: E402
from pygama_ak.lh5 import write  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
F32, F64, I32 = np.float32, np.float64, np.int32

_store_read = legend_lh5.LH5Store.read


def _tuple_read(self, *args, **kwargs):  # dspeed 2.4.3 unpacks (obj, n_rows)
    obj = _store_read(self, *args, **kwargs)
    return obj if isinstance(obj, tuple) else (obj, None)


legend_lh5.LH5Store.read = _tuple_read


def run(func: Callable, args: tuple, out_specs: list, width: int, nrows: int) -> tuple[list, float]:
    """Call func block by block (outputs by reference); outputs and seconds."""
    outs = [np.zeros((nrows, *shape), dtype) for shape, dtype in out_specs]
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


def as_real(a: np.ndarray) -> np.ndarray:
    return np.stack([a.real, a.imag]) if np.iscomplexobj(a) else a


def compare(ref: list[np.ndarray], ours: list[np.ndarray]) -> tuple[float, float, bool, bool]:
    """(max |Δ|, max |Δ|/|ref|, bit-identical, same NaN pattern) over all outputs."""
    max_abs = max_rel = 0.0
    identical = same_nan = True
    for r, o in zip(ref, ours, strict=True):
        identical &= r.dtype == o.dtype and r.tobytes() == o.tobytes()
        r64, o64 = as_real(r).astype(F64), as_real(o).astype(F64)
        nan_r, nan_o = np.isnan(r64), np.isnan(o64)
        same_nan &= bool(np.array_equal(nan_r, nan_o))
        ok = ~(nan_r | nan_o) & np.isfinite(r64) & np.isfinite(o64)
        if ok.any():
            diff = np.abs(r64[ok] - o64[ok])
            max_abs = max(max_abs, float(diff.max()))
            scale = np.maximum(np.abs(r64[ok]), np.finfo(F64).tiny)
            max_rel = max(max_rel, float((diff / scale).max()))
    return max_abs, max_rel, identical, same_nan


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tile", type=int, default=4, help="copies of the 30 waveforms")
    parser.add_argument("--block", type=int, default=16, help="rows per kernel call")
    parser.add_argument("--repeat", type=int, default=2, help="timing runs (min is kept)")
    opts = parser.parse_args()
    testdata = Path(os.environ.get("PYGAMA_AK_TESTDATA", REPO.parent / "shared" / "testdata"))

    raw, baseline = load(testdata)
    raw = np.tile(raw, (opts.tile, 1))
    baseline = np.tile(baseline, opts.tile).astype(F32)
    nrows, n = raw.shape
    wave = raw.astype(F32)
    blsub = dsp.bl_subtract(wave, baseline)
    pz = dsp.pole_zero(blsub, F32(27460.5))
    blsub_nan = blsub.copy()
    blsub_nan[[1, 7, nrows - 1], [5, 4000, n - 1]] = np.nan
    rng = np.random.default_rng(1)
    taus = rng.uniform(20, 400, nrows).astype(F32)
    codes = raw.astype(I32)
    inl = rng.normal(scale=0.5, size=2**16).astype(F32)
    corr = np.linspace(-3, 3, 1000).astype(F32)
    a_min, a_max = blsub.min(axis=1), blsub.max(axis=1)
    logs = np.log(np.maximum(pz[:, 4000:6000], 1)).astype(F32)
    half = n // 2 + 1
    spectrum = np.fft.rfft(blsub, axis=1).astype(np.complex64)

    def wf(m: int = n, dtype: type = F32) -> list:
        return [((m,), np.dtype(dtype))]

    one = [((), np.dtype(F32))]
    cases: list[tuple[str, str, Callable, Callable, tuple, list]] = []

    def add(
        name: str,
        desc: str,
        args: tuple,
        outs: list,
        ref: Callable | None = None,
        ours: Callable | None = None,
    ) -> None:
        cases.append((name, desc, ref or getattr(dsp, name), ours or lookup(name), args, outs))

    # recursive filters, factories and shapers
    add(
        "recursive_filter",
        "wf_blsub, [.2,.1], [1,-.9,.2], x0, 0",
        (blsub, np.array([0.2, 0.1]), np.array([1, -0.9, 0.2]), blsub[:, 0], F32(0)),
        wf(),
    )
    for args, kwargs, desc in [
        ((F64(0.48), 4), {}, "0.48 (15 MHz), 4, butter lowpass"),
        ((F64(0.1), 3, 1, 40), {"ftype": "ellip"}, "0.1, 3, ellip"),
        ((F64(0.2), 2), {"btype": "highpass"}, "0.2, 2, highpass"),
    ]:
        add(
            "iir_filter",
            desc,
            (blsub,),
            wf(),
            dsp.iir_filter(*args, **kwargs),
            lookup("iir_filter")(*args, **kwargs),
        )
    add(
        "notch_filter",
        "0.48, 0.048",
        (blsub,),
        wf(),
        dsp.notch_filter(0.48, 0.048),
        lookup("notch_filter")(0.48, 0.048),
    )
    add(
        "peak_filter",
        "0.3, 0.03",
        (blsub,),
        wf(),
        dsp.peak_filter(0.3, 0.03),
        lookup("peak_filter")(0.3, 0.03),
    )
    add("convolve_exp", "wf_blsub, tau per row", (blsub, taus), wf())
    add(
        "convolve_damped_oscillator",
        "wf_blsub, 80, 0.3, 0.2",
        (blsub, F64(80), F64(0.3), F64(0.2)),
        wf(),
    )
    add(
        "inject_damped_oscillation",
        "wf_pz, 60, .25, .4, .3",
        (pz, F64(60), F64(0.25), F64(0.4), F64(0.3)),
        wf(),
    )
    add("rc_cr2", "wf_blsub, 40.5", (blsub, F32(40.5)), wf())
    add("soft_pileup_corr", "waveform, 1000, 5000.5", (wave, F32(1000), F32(5000.5)), wf())
    add(
        "soft_pileup_corr_bl",
        "waveform, 1000, 5000.5, baseline",
        (wave, F32(1000), F32(5000.5), baseline),
        wf(),
    )
    add("presum", "wf_blsub, 0 -> 2048", (blsub, F32(0)), one + wf(2048))
    add("presum", "wf_blsub, 1 -> 1000", (blsub, F32(1)), one + wf(1000))
    add("inl_correction", "int32 codes, inl[2^16]", (codes, inl), wf())
    add("wf_correction", "wf_blsub, corr[1000], 100, 900", (blsub, corr, I32(100), I32(900)), wf())
    # transforms
    add("fft", "wf_blsub", (blsub,), [((half,), np.dtype(np.complex64))], dsp_fft)
    add("ifft", "rfft(wf_blsub)", (spectrum,), wf(), dsp_ifft)
    add("psd", "wf_blsub", (blsub,), wf(half), dsp_psd)
    for level in (1, 3, 6):
        m = n
        for _ in range(level):
            m = (m + 1) // 2
        for wave_type, coeff in (("h", "a"), ("d", "d")):
            add(
                "discrete_wavelet_transform",
                f"wf_blsub, {level}, '{wave_type}', '{coeff}'",
                (blsub, I32(level), np.int8(ord(wave_type)), np.int8(ord(coeff))),
                wf(m),
            )
    # fits and per-sample transforms
    for deg in (1, 2, 3):
        add(
            "poly_fit",
            f"wf_blsub[:750], deg {deg}",
            (blsub[:, :750],),
            wf(deg + 1),
            dsp.poly_fit(750, deg),
            lookup("poly_fit")(750, deg),
        )
    pars = np.zeros((nrows, 3), F32)
    dsp.poly_fit(750, 2)(blsub[:, :750], pars)
    lpars = np.zeros((nrows, 2), F32)
    dsp.poly_fit(2000, 1)(logs, lpars)
    add("poly_diff", "wf_blsub[:750], pars", (blsub[:, :750], pars), one * 2)
    add("poly_exp_rms", "wf_pz[4000:6000], exp pars", (pz[:, 4000:6000], lpars), one * 2)
    add("log_check", "wf_pz", (pz,), wf())
    add("sort", "wf_blsub", (blsub,), wf())
    add("min_max_norm", "wf_blsub, a_min, a_max", (blsub, a_min, a_max), wf())

    # NaN rows
    for name, args, outs in [
        (
            "recursive_filter",
            (blsub_nan, np.ones(1), np.array([1, -0.5]), blsub_nan[:, 0], F32(0)),
            wf(),
        ),
        ("convolve_exp", (blsub_nan, taus), wf()),
        ("rc_cr2", (blsub_nan, F32(40.5)), wf()),
        ("soft_pileup_corr", (blsub_nan, F32(500), F32(300)), wf()),
        ("presum", (blsub_nan, F32(1)), one + wf(1024)),
        ("psd", (blsub_nan,), wf(half)),
        ("discrete_wavelet_transform", (blsub_nan, I32(2), np.int8(104), np.int8(97)), wf(n // 4)),
        ("poly_diff", (blsub_nan, pars), one * 2),
        ("log_check", (blsub_nan,), wf()),
        ("sort", (blsub_nan,), wf()),
        ("min_max_norm", (blsub_nan, a_min, a_max), wf()),
    ]:
        ref = {"psd": dsp_psd, "fft": dsp_fft}.get(name)
        add(name, "3 NaN rows", args, outs, ref)

    # float64 versions of the float32 cases
    def widen(a: object) -> object:
        if isinstance(a, np.ndarray) and a.dtype == F32:
            return a.astype(F64)
        if isinstance(a, np.ndarray) and a.dtype == np.complex64:
            return a.astype(np.complex128)
        if isinstance(a, F32):
            return F64(a)
        return a

    def widen_spec(spec: list) -> list:
        wide = {np.dtype(F32): np.dtype(F64), np.dtype(np.complex64): np.dtype(np.complex128)}
        return [(shape, wide.get(dtype, dtype)) for shape, dtype in spec]

    skip64 = {"discrete_wavelet_transform"}  # int64 level on the float64 loop
    for name, desc, ref, ours, args, outs in list(cases):
        if name in skip64 or "NaN" in desc:
            continue
        cases.append(
            (name, desc + " [f64]", ref, ours, tuple(widen(a) for a in args), widen_spec(outs))
        )
    for level in (1, 4):
        m = n
        for _ in range(level):
            m = (m + 1) // 2
        add(
            "discrete_wavelet_transform",
            f"wf_blsub, {level}, 'h', 'd' [f64]",
            (blsub.astype(F64), np.int64(level), np.int8(104), np.int8(100)),
            wf(m, F64),
        )

    print(
        f"{nrows} waveforms × {n} samples ({opts.tile}× the 30 p03 cal waveforms), "
        f"blocks of {opts.block} rows, best of {opts.repeat}"
    )
    header = (
        f"{'processor':27} {'args':40} {'max |Δ|':>9} {'max rel':>9} {'bits':>5} "
        f"{'ours µs/wf':>10} {'dspeed µs/wf':>12}"
    )
    print(header)
    print("-" * len(header))
    summary: dict[str, bool] = {}

    def report(
        name: str, desc: str, ref_out: list, ours_out: list, ref_t: float, ours_t: float, rows: int
    ) -> None:
        max_abs, max_rel, identical, same_nan = compare(ref_out, ours_out)
        bits = "yes" if identical else ("nan≠" if not same_nan else "no")
        summary[name] = summary.get(name, True) and identical
        print(
            f"{name:27} {desc[:40]:40} {max_abs:9.2g} {max_rel:9.2g} {bits:>5} "
            f"{ours_t / rows * 1e6:10.2f} {ref_t / rows * 1e6:12.2f}"
        )

    for name, desc, ref_func, ours_func, args, out_specs in cases:
        ref_t = ours_t = np.inf
        for _ in range(opts.repeat):
            ref_out, t = run(ref_func, args, out_specs, opts.block, nrows)
            ref_t = min(ref_t, t)
            ours_out, t = run(ours_func, args, out_specs, opts.block, nrows)
            ours_t = min(ours_t, t)
        report(name, desc, ref_out, ours_out, ref_t, ours_t, nrows)

    # dplms: a noise matrix from real baselines, a reference pulse, per-row penalties
    length = 50
    segments = (blsub[:30, :3000].astype(F64)).reshape(-1, length)
    noise = segments.T @ segments / len(segments)
    t_max = int(np.argmax(pz[0]))
    reference = pz[0, t_max - 200 : t_max + 200].astype(F64)
    reference /= reference.max()
    a2 = np.linspace(0.1, 2.0, 8)
    for dtype in (F32, F64):
        args = (
            noise.astype(dtype),
            reference.astype(dtype),
            dtype(1),
            a2.astype(dtype),
            dtype(5),
            dtype(1),
        )
        outs = []
        times = []
        for func in (dsp.dplms, lookup("dplms")):
            out = np.zeros((8, length), dtype)
            t0 = time.perf_counter()
            func(*args, out)
            times.append(time.perf_counter() - t0)
            outs.append(out)
        report(
            "dplms",
            f"noise 50×50, ref 400, a2 per row [{np.dtype(dtype).name}]",
            [outs[0]],
            [outs[1]],
            times[0],
            times[1],
            8,
        )

    # wiener_filter: superpulse and noise written to an LH5 file, applied to fft(wf_blsub)
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "wiener.lh5")
        write(pz[0].astype(F64), path, "spms/processed/superpulse")
        write(np.resize(blsub[1, :2000], n).astype(F64), path, "spms/processed/noise_wf")
        ref_proc, ours_proc = dsp.wiener_filter([path]), lookup("wiener_filter")([path])
        full = np.fft.fft(blsub[:64], axis=1)
        full[3, 10] = np.nan
        for ctype in (np.complex64, np.complex128):
            x = full.astype(ctype)
            t0 = time.perf_counter()
            ref_out = ref_proc(x)
            t1 = time.perf_counter()
            ours_out = ours_proc(x)
            t2 = time.perf_counter()
            report(
                "wiener_filter",
                f"fft(wf_blsub) 64 rows [{np.dtype(ctype).name}]",
                [ref_out],
                [ours_out],
                t1 - t0,
                t2 - t1,
                64,
            )

    print()
    print("summary (bit-identical in every case):")
    for name, ok in summary.items():
        print(f"  {name:27} {'yes' if ok else 'NO'}")


if __name__ == "__main__":
    main()
