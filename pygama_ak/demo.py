"""``make demo``: the main job end to end on an embedded default, with nothing but the repo.

Today: make a small raw-tier LH5 file of synthetic HPGe pulses (three channels, radware- and
gzip-compressed waveforms), list it as a tree, read it back and export one channel's table
to Parquet. Later tiers extend this script.

Run: ``python -m pygama_ak.demo [OUTDIR]`` (default ``demo-output``).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

CHANNELS = (1084803, 1084804, 1121600)
TH228_LINES_KEV = (238.6, 583.2, 727.3, 860.6, 1620.5, 2614.5)


def synthetic_pulses(n: int, *, seed: int, n_samples: int = 2000) -> dict[str, np.ndarray]:
    """HPGe-like pulses: baseline + noise, a smoothed step with exponential decay.

    Energies follow a Th-228-like line spectrum on a Compton continuum (keV); waveforms are
    uint16 ADC samples at 16 ns. Returns the columns of a raw table.
    """
    rng = np.random.default_rng(seed)
    lines = rng.choice(TH228_LINES_KEV, size=n)
    compton = rng.uniform(50, 2600, size=n)
    energy_kev = np.where(rng.random(n) < 0.4, lines + rng.normal(0, 1.2, n), compton)
    adc_per_kev = 4.0
    baseline = rng.normal(14000, 30, n).round()
    t = np.arange(n_samples, dtype=np.float64)
    start = rng.normal(n_samples * 0.45, 5, n)
    rise_ns = rng.uniform(200, 600, n)
    tau_samples = 400_000 / 16.0  # 400 us decay in 16 ns samples
    x = (t[None, :] - start[:, None]) / (rise_ns[:, None] / 16.0)
    step = np.clip(x, 0, None)
    step = np.where(step < 1, step, 1.0) * np.exp(-np.clip(t[None, :] - start[:, None], 0, None) / tau_samples)
    pulses = baseline[:, None] + energy_kev[:, None] * adc_per_kev * step
    pulses += rng.normal(0, 3.0, pulses.shape)
    values = np.clip(pulses.round(), 0, 65535).astype(np.uint16)
    return {
        "eventnumber": np.arange(n, dtype=np.int32),
        "timestamp": np.sort(rng.uniform(0, 60, n)),
        "baseline": baseline.astype(np.uint16),
        "daqenergy": (energy_kev * adc_per_kev).astype(np.int32),
        "waveform": {"t0": np.zeros(n, np.float32), "dt": np.full(n, 16.0, np.float32), "values": values},
    }


def make_raw_file(path: Path, n_events: int = 500) -> None:
    """Write the demo raw tier: ``ch<rawid>/raw`` tables with units, radware waveforms."""
    import awkward as ak

    from pygama_ak.lh5 import write

    for i, ch in enumerate(CHANNELS):
        cols = synthetic_pulses(n_events, seed=i)
        wf = cols.pop("waveform")
        table = ak.zip({k: v for k, v in cols.items()}, depth_limit=1)
        table = ak.with_field(table, ak.zip(wf, depth_limit=1), "waveform")
        table["timestamp"] = ak.with_parameter(table["timestamp"], "units", "s")
        table["waveform", "dt"] = ak.with_parameter(table["waveform", "dt"], "units", "ns")
        table["waveform", "t0"] = ak.with_parameter(table["waveform", "t0"], "units", "ns")
        write(table, path, f"ch{ch}/raw", mode="append",
              compression={"default": "gzip", "waveform/values": "radware_sigcompress"})


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    outdir = Path(argv[0] if argv else "demo-output")
    outdir.mkdir(parents=True, exist_ok=True)
    raw = outdir / "demo-tier_raw.lh5"
    if raw.exists():
        raw.unlink()
    t0 = time.perf_counter()
    make_raw_file(raw)
    print(f"wrote {raw} ({raw.stat().st_size / 1e6:.2f} MB) in {time.perf_counter() - t0:.2f} s\n")

    from pygama_ak.lh5.browse import show

    show(raw, attrs=False, detail=False)

    import pyarrow.parquet as pq

    from pygama_ak.lh5 import read
    from pygama_ak.lh5.arrow import to_arrow

    table = read(raw, f"ch{CHANNELS[0]}/raw")
    parquet = outdir / f"ch{CHANNELS[0]}-raw.parquet"
    pq.write_table(to_arrow(table), parquet, compression="zstd")
    back = pq.read_table(parquet)
    print(f"\nexported ch{CHANNELS[0]}/raw → {parquet}: {back.num_rows} rows, columns "
          f"{', '.join(back.column_names)}")
    energies = back.column("daqenergy").to_numpy() / 4.0
    hist, edges = np.histogram(energies, bins=[2600, 2630])
    print(f"events in the 208Tl 2614.5 keV line window: {hist[0]} of {back.num_rows}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
