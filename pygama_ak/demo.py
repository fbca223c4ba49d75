"""``make demo``: the main job end to end on an embedded default, with nothing but the repo.

1. raw: a Th-228 calibration run of synthetic HPGe pulses in three channels (each channel sees
   a random subset of the events), written as LH5 with radware-compressed waveforms
2. the raw file's tree, and one channel exported to Parquet
3. dsp: a few pulse parameters computed with numpy (a stand-in until the dsp tier lands)
4. hit → tcm → evt with pygama-style configs (energy calibration, multiplicity, sum energy)
5. a lazy cross-tier query (hits in the 208Tl line) written to Parquet

Run: ``python -m pygama_ak.demo [OUTDIR]`` (default ``demo-output``; replaces its files).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

CHANNELS = (1084803, 1084804, 1121600)
TH228_LINES_KEV = (238.6, 583.2, 727.3, 860.6, 1620.5, 2614.5)
ADC_PER_KEV = 4.0
SAMPLE_NS = 16.0
TAU_SAMPLES = 25_000  # 400 µs decay constant in 16 ns samples

HIT_CONFIG = {
    "outputs": ["timestamp", "energy", "is_valid"],
    "operations": {
        "energy": {"expression": "trapEmax / k", "parameters": {"k": ADC_PER_KEV},
                   "lgdo_attrs": {"units": "keV"}},
        "is_valid": {"expression": "(tp_0_est > 0) & (energy > 25)"},
    },
}
EVT_CONFIG = {
    "channels": {"geds": [f"ch{c}" for c in CHANNELS]},
    "outputs": ["timestamp", "multiplicity", "energy", "energy_sum", "first_channel"],
    "operations": {
        "timestamp": {"channels": "geds", "aggregation_mode": "first_at:dsp.tp_0_est",
                      "expression": "hit.timestamp", "lgdo_attrs": {"units": "s"}},
        "multiplicity": {"channels": "geds", "aggregation_mode": "sum",
                         "expression": "hit.is_valid", "initial": 0},
        "energy": {"channels": "geds", "aggregation_mode": "gather", "query": "hit.is_valid",
                   "expression": "hit.energy"},
        "energy_sum": {"channels": "geds", "aggregation_mode": "sum", "query": "hit.is_valid",
                       "expression": "hit.energy", "initial": 0.0, "lgdo_attrs": {"units": "keV"}},
        "first_channel": {"channels": "geds", "aggregation_mode": "first_at:dsp.tp_0_est",
                          "query": "hit.is_valid", "expression": "tcm.table_key", "initial": 0},
    },
}


def synthetic_run(n_events: int, *, seed: int = 1, n_samples: int = 2000) -> dict[int, dict]:
    """Per channel, the raw columns of the events it saw.

    Energies follow a Th-228-like line spectrum on a Compton continuum (keV); pulses are a
    baseline with noise, a linear rise and a 400 µs exponential decay, as uint16 ADC samples
    every 16 ns.
    """
    rng = np.random.default_rng(seed)
    event_time = np.sort(rng.uniform(0, 60, n_events))  # s
    out = {}
    for ch in CHANNELS:
        seen = np.flatnonzero(rng.random(n_events) < 0.55)
        n = len(seen)
        lines = rng.choice(TH228_LINES_KEV, size=n)
        energy_kev = np.where(rng.random(n) < 0.45, lines + rng.normal(0, 1.2, n),
                              rng.uniform(30, 2600, n))
        baseline = rng.normal(14000, 30, n).round()
        t = np.arange(n_samples, dtype=np.float64)
        start = rng.normal(n_samples * 0.45, 3, n)
        rise = rng.uniform(200, 600, n) / SAMPLE_NS
        since = t[None, :] - start[:, None]
        shape = np.clip(since / rise[:, None], 0, 1) * np.exp(-np.clip(since, 0, None) / TAU_SAMPLES)
        pulses = baseline[:, None] + energy_kev[:, None] * ADC_PER_KEV * shape
        pulses += rng.normal(0, 3.0, pulses.shape)
        out[ch] = {
            "eventnumber": seen.astype(np.int32),
            "timestamp": event_time[seen] + rng.normal(0, 1e-7, n),
            "baseline": baseline.astype(np.uint16),
            "daqenergy": (energy_kev * ADC_PER_KEV).astype(np.int32),
            "waveform": {"t0": np.zeros(n, np.float32), "dt": np.full(n, SAMPLE_NS, np.float32),
                         "values": np.clip(pulses.round(), 0, 65535).astype(np.uint16)},
        }
    return out


def _table(columns: dict, units: dict[str, str]):
    import awkward as ak

    fields = {}
    for name, value in columns.items():
        array = _table(value, units) if isinstance(value, dict) else ak.Array(value)
        if name in units:
            array = ak.with_parameter(array, "units", units[name])
        fields[name] = array
    return ak.zip(fields, depth_limit=1)


def make_raw(path: Path, n_events: int = 600) -> None:
    """Write the demo raw tier: ``ch<rawid>/raw`` tables with units, radware waveforms."""
    from pygama_ak.lh5 import write

    for ch, columns in synthetic_run(n_events).items():
        table = _table(columns, {"timestamp": "s", "t0": "ns", "dt": "ns"})
        write(table, path, f"ch{ch}/raw",
              compression={"default": "gzip", "waveform/values": "radware_sigcompress"})


def make_dsp(raw: Path, dsp: Path) -> None:
    """Stand-in dsp tier (numpy): baseline, pole-zero + trapezoid energy, start time. Not dspeed."""
    import awkward as ak

    from pygama_ak.lh5 import read, write

    for ch in CHANNELS:
        table = read(raw, f"ch{ch}/raw", fields=["timestamp", "waveform/values"])
        wf = ak.to_numpy(table.waveform["values"]).astype(np.float64)
        baseline = wf[:, :600].mean(axis=1)
        x = wf - baseline[:, None]
        x = x + np.cumsum(x, axis=1) / TAU_SAMPLES  # pole-zero: undo the exponential decay
        rise, flat = 250, 60  # samples (4 µs, ~1 µs)
        c = np.cumsum(np.pad(x, ((0, 0), (1, 0))), axis=1)
        trap = ((c[:, 2 * rise + flat:] - c[:, rise + flat:-rise])
                - (c[:, rise:-rise - flat] - c[:, :-2 * rise - flat])) / rise
        above = x > 0.1 * x.max(axis=1, keepdims=True)
        tp0 = np.where(above.any(axis=1), above.argmax(axis=1) * SAMPLE_NS, np.nan)
        columns = {"timestamp": ak.to_numpy(table.timestamp), "bl_mean": baseline.astype(np.float32),
                   "trapEmax": trap.max(axis=1).astype(np.float32), "tp_0_est": tp0.astype(np.float32)}
        write(_table(columns, {"timestamp": "s", "tp_0_est": "ns", "bl_mean": "ADC",
                               "trapEmax": "ADC"}), dsp, f"ch{ch}/dsp")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    outdir = Path(argv[0] if argv else "demo-output")
    outdir.mkdir(parents=True, exist_ok=True)
    files = {tier: outdir / f"demo-tier_{tier}.lh5" for tier in ("raw", "dsp", "hit", "tcm", "evt")}
    for path in [*files.values(), outdir / "tl208-hits.parquet"]:
        path.unlink(missing_ok=True)

    t0 = time.perf_counter()
    make_raw(files["raw"])
    print(f"raw: {files['raw']} ({files['raw'].stat().st_size / 1e6:.2f} MB) in "
          f"{time.perf_counter() - t0:.2f} s\n")

    from pygama_ak.lh5.browse import show

    show(files["raw"], "ch1084803")

    import pyarrow.parquet as pq

    from pygama_ak.lh5 import read
    from pygama_ak.lh5.arrow import to_arrow

    parquet = outdir / f"ch{CHANNELS[0]}-raw.parquet"
    pq.write_table(to_arrow(read(files["raw"], f"ch{CHANNELS[0]}/raw")), parquet, compression="zstd")
    print(f"\nexported ch{CHANNELS[0]}/raw → {parquet} ({pq.read_metadata(parquet).num_rows} rows)")

    t0 = time.perf_counter()
    make_dsp(files["raw"], files["dsp"])
    print(f"dsp (numpy stand-in): {files['dsp']} in {time.perf_counter() - t0:.2f} s")

    from pygama_ak.evt.build_evt import build_evt
    from pygama_ak.evt.tcm import build_tcm, write_tcm
    from pygama_ak.hit.build_hit import build_hit

    t0 = time.perf_counter()
    counts = build_hit(files["dsp"], files["hit"], config=HIT_CONFIG)
    print(f"hit: {files['hit']}: {sum(counts.values())} rows in {len(counts)} tables "
          f"({time.perf_counter() - t0:.2f} s)")
    tcm = build_tcm([(files["raw"], "ch*/raw")], "eventnumber")
    write_tcm(tcm, files["tcm"])
    print(f"tcm: {files['tcm']}: {tcm.n_events} events from {len(tcm.table_key)} hits")
    t0 = time.perf_counter()
    build_evt((files["tcm"], "hardware_tcm_1"),
              {"hit": (files["hit"], "hit", "ch{}"), "dsp": (files["dsp"], "dsp", "ch{}")},
              EVT_CONFIG, files["evt"])
    evt = read(files["evt"], "evt")
    print(f"evt: {files['evt']}: {len(evt)} events, fields {', '.join(evt.fields)} "
          f"({time.perf_counter() - t0:.2f} s)\n")

    import awkward as ak

    mult = ak.to_numpy(evt.multiplicity)
    print("events by multiplicity: " + ", ".join(f"{m}: {int((mult == m).sum())}" for m in range(4)))
    single = ak.to_numpy(evt.energy_sum)[mult == 1]
    for line in (583.2, 2614.5):
        n = int((np.abs(single - line) < 5).sum())
        print(f"single-detector events within ±5 keV of the {line} keV line: {n}")

    from pygama_ak.query.dataset import Dataset
    from pygama_ak.query.export import write_parquet

    dataset = Dataset(outdir, template="demo-tier_{tier}.lh5")
    tl208 = dataset.hits(["hit.energy", "hit.timestamp", "dsp.tp_0_est"],
                         where="abs(hit.energy - 2614.5) < 5 and hit.is_valid")
    selected = outdir / "tl208-hits.parquet"
    write_parquet(tl208, selected, overwrite=True)
    print(f"query: hits within ±5 keV of 2614.5 keV → {selected} "
          f"({pq.read_metadata(selected).num_rows} rows, columns "
          f"{', '.join(pq.read_schema(selected).names)})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
