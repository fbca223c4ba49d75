"""``make demo``: the main job end to end on an embedded default, with nothing but the repo.

1. DAQ: two cycles of a simulated Th-228 calibration run (three HPGe channels, each channel
   sees a random subset of the events), written as FlashCam FCIO files
2. the whole chain over both cycles with :func:`pygama_ak.run.chain.run_chain`: raw (decoded
   FCIO, one table per channel, radware-compressed waveforms) → dsp (the dspeed-style HPGe config
   shipped in ``pygama_ak/dsp/configs/hpge-demo.json``) → hit → tcm → evt; a second run shows
   that outputs already up to date are skipped
3. the raw tree of one cycle, and one channel exported to Parquet
4. a lazy cross-tier query (hits in the 208Tl line) over both cycles, written to Parquet

Run: ``python -m pygama_ak.demo [OUTDIR]`` (default ``demo-output``; replaces its files).
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from pathlib import Path

import numpy as np

from pygama_ak.daq.pulses import ADC_PER_KEV

CHANNELS = (1600, 1601, 1602)
DSP_CONFIG = Path(__file__).resolve().parent / "dsp" / "configs" / "hpge-demo.json"
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


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    outdir = Path(argv[0] if argv else "demo-output")
    for old in ("daq", "gen"):
        shutil.rmtree(outdir / old, ignore_errors=True)
    for old in (outdir / "tl208-hits.parquet", outdir / f"ch{CHANNELS[0]}-raw.parquet"):
        old.unlink(missing_ok=True)
    (outdir / "daq").mkdir(parents=True)

    from pygama_ak.daq.simulate import simulate_fcio

    t0 = time.perf_counter()
    cycles = [simulate_fcio(outdir / "daq" / f"th228-c{i}.fcio", 600, seed=1 + i, start_time_s=3600.0 * i)
              for i in range(2)]
    size = sum(c.stat().st_size for c in cycles) / 1e6
    print(f"daq: {len(cycles)} simulated FCIO files ({size:.1f} MB) in {time.perf_counter() - t0:.2f} s")

    (outdir / "hit.json").write_text(json.dumps(HIT_CONFIG, indent=1))
    (outdir / "evt.json").write_text(json.dumps(EVT_CONFIG, indent=1))
    run = {"inputs": ["daq/*.fcio"], "output": "gen", "tiers": {
        "raw": {"compression": {"default": "gzip", "waveform/values": "radware_sigcompress"}},
        "dsp": {"config": str(DSP_CONFIG)},
        "hit": {"config": "hit.json"},
        "tcm": {"coin_col": "eventnumber"},
        "evt": {"config": "evt.json"},
    }}
    (outdir / "run.json").write_text(json.dumps(run, indent=1))

    from pygama_ak.run.chain import load_run_config, run_chain

    for attempt in ("first run", "second run"):
        t0 = time.perf_counter()
        summary = run_chain(outdir / "run.json", jobs=1)
        wall = time.perf_counter() - t0
        print(f"\nchain ({attempt}, {wall:.2f} s):")
        for tier, s in summary.items():
            print(f"  {tier:<4} made {s.ok}, up to date {s.skipped}, failed {s.failed}, rows {s.rows}, "
                  f"{s.seconds:.2f} s")
    paths = load_run_config(outdir / "run.json")
    raw = paths.path("raw", cycles[0].stem)

    from pygama_ak.lh5.browse import show

    print()
    show(raw, f"ch{CHANNELS[0]}")

    import pyarrow.parquet as pq

    from pygama_ak.lh5 import read
    from pygama_ak.lh5.arrow import to_arrow

    parquet = outdir / f"ch{CHANNELS[0]}-raw.parquet"
    pq.write_table(to_arrow(read(raw, f"ch{CHANNELS[0]}/raw")), parquet, compression="zstd")
    print(f"\nexported ch{CHANNELS[0]}/raw → {parquet} ({pq.read_metadata(parquet).num_rows} rows)")

    import awkward as ak

    evt = read([paths.path("evt", c.stem) for c in cycles], "evt")
    mult = ak.to_numpy(evt.multiplicity)
    print(f"\nevt: {len(evt)} events; by multiplicity: "
          + ", ".join(f"{m}: {int((mult == m).sum())}" for m in range(4)))
    single = ak.to_numpy(evt.energy_sum)[mult == 1]
    for line in (583.2, 2614.5):
        n = int((np.abs(single - line) < 5).sum())
        print(f"single-detector events within ±5 keV of the {line} keV line: {n}")

    from pygama_ak.query.dataset import Dataset
    from pygama_ak.query.export import write_parquet

    dataset = Dataset(outdir / "gen" / "tier", template="{tier}/{cycle}-tier_{tier}.lh5")
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
