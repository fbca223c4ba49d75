"""Scaled benchmark inputs: the real p03 r001 cal cycle ``20230318T012144Z`` tiled K times.

Used by ``benchmarks/tiers.py``; can also be run alone:
``.venv-anchors/bin/python benchmarks/scaled_data.py K [--out bench-output/scaled]``.

For one K (one directory ``<out>/K<K>-<compression>/``) it writes, with our LH5 writer
(``pygama_ak.lh5.write(..., mode="append")``, in blocks of tiles so memory stays bounded):

* ``tier_dsp.lh5``: the 3 ``ch*/dsp`` tables (10 rows × 59 columns each) tiled K times;
  float columns multiplied by ``1 + 1e-4·N(0, 1)`` (so compressibility stays realistic),
  ``timestamp`` shifted by ``k·S`` instead (S = whole seconds > the cycle's time span);
* ``tier_hit.lh5``: the 3 ``ch*/hit`` tables tiled the same way (bool columns as they are);
* ``tier_raw.lh5``: ``ch*/raw`` tables holding only ``timestamp`` (shifted by ``k·S``) and
  ``eventnumber`` (shifted by ``k·(max + 1)``), the columns a TCM build needs;
* ``tier_tcm.lh5``: ``hardware_tcm_1`` tiled K times (events appended, ``row_in_table``
  offset by ``k·rows`` of the hit's table), attributes (``tables``, ``hash_func``) kept.

The shift ``S`` is an integer, so shifted float64 timestamps stay exact (same coincidences in
every tile). A file ``done.json`` marks a complete directory; it is reused when present.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

TESTDATA = Path(os.environ.get("PYGAMA_AK_TESTDATA", "/work/shared/testdata"))
CYCLE = "l200-p03-r001-cal-20230318T012144Z"
TIER_DIR = TESTDATA / "lh5/prod-ref-l200/generated/tier"
CHANNELS = ("ch1084803", "ch1084804", "ch1121600")
JITTER = 1e-4
BLOCK_ROWS = 200_000  # rows per written block (per table)
FORMAT_VERSION = 1


def source(tier: str) -> Path:
    """The real input file of ``tier`` (raw, dsp, hit, tcm)."""
    return TIER_DIR / f"{tier}/cal/p03/r001/{CYCLE}-tier_{tier}.lh5"


def _time_shift() -> float:
    """Whole seconds larger than the time span of the cycle in raw, dsp and hit."""
    import numpy as np

    from pygama_ak.lh5 import read

    lo, hi = math.inf, -math.inf
    for tier in ("raw", "dsp", "hit"):
        for ch in CHANNELS:
            ts = np.asarray(read(source(tier), f"{ch}/{tier}", fields=["timestamp"]).timestamp)
            lo, hi = min(lo, float(ts.min())), max(hi, float(ts.max()))
    return float(math.ceil(hi - lo) + 1)


def _tile_table(data, k0: int, nk: int, column: Callable[[str, Any, Any], Any]):
    """Tiles ``k0 .. k0+nk-1`` of a flat table (record of 1-d numbers) as an Awkward array.

    ``column(name, values, tile_index_per_row)`` returns the new values of a column.
    """
    import awkward as ak
    import numpy as np

    layout = data.layout
    n = len(data)
    tile = np.repeat(np.arange(k0, k0 + nk, dtype=np.int64), n)
    contents = []
    for name, content in zip(layout.fields, layout.contents):
        base = np.asarray(content.data)
        values = column(name, np.tile(base, nk), tile)
        contents.append(ak.contents.NumpyArray(values, parameters=content.parameters))
    return ak.Array(ak.contents.RecordArray(contents, layout.fields, length=n * nk,
                                            parameters=layout.parameters))


def _jitter_or_shift(rng, shift: float, integer_shifts: dict[str, int] | None = None):
    """Column transform for ``_tile_table``: shift timestamps/counters, jitter floats."""

    def column(name: str, values, tile):
        if name == "timestamp":
            return values + tile * shift
        if integer_shifts and name in integer_shifts:
            return (values + tile * integer_shifts[name]).astype(values.dtype)
        if values.dtype.kind == "f":
            noise = 1 + JITTER * rng.standard_normal(len(values))
            return (values * noise).astype(values.dtype)
        return values

    return column


def _write_tiled(src: Path, dst: Path, tables: list[str], k: int, rng, shift: float,
                 compression: Any, fields: list[str] | None = None,
                 integer_shifts: dict[str, dict[str, int]] | None = None) -> int:
    from pygama_ak.lh5 import read, write

    total = 0
    for table in tables:
        data = read(src, table, fields=fields)
        n = max(len(data), 1)
        per_block = max(1, BLOCK_ROWS // n)
        column = _jitter_or_shift(rng, shift, (integer_shifts or {}).get(table))
        for k0 in range(0, k, per_block):
            nk = min(per_block, k - k0)
            write(_tile_table(data, k0, nk, column), dst, table, mode="append",
                  compression=compression)
            total += len(data) * nk
    return total


def _write_tcm(src: Path, dst: Path, k: int, rows_per_key: dict[int, int], compression: Any) -> int:
    import awkward as ak
    import numpy as np

    from pygama_ak.lh5 import read, write

    tcm = read(src, "hardware_tcm_1")
    layout = tcm.layout
    n_events = len(tcm)
    per_block = max(1, BLOCK_ROWS // max(n_events, 1))
    keys_flat = np.asarray(ak.flatten(tcm.table_key))
    rows_flat = np.asarray(ak.flatten(tcm.row_in_table))
    counts = np.asarray(ak.num(tcm.table_key))
    step = np.array([rows_per_key[int(key)] for key in keys_flat], dtype=rows_flat.dtype)
    fields = {}
    for name, content in zip(layout.fields, layout.contents):
        fields[name] = (content.parameters, content.content.parameters)
    for k0 in range(0, k, per_block):
        nk = min(per_block, k - k0)
        tile = np.repeat(np.arange(k0, k0 + nk, dtype=rows_flat.dtype), len(rows_flat))
        offsets = np.zeros(n_events * nk + 1, dtype=np.int64)
        np.cumsum(np.tile(counts, nk), out=offsets[1:])
        values = {"table_key": np.tile(keys_flat, nk),
                  "row_in_table": np.tile(rows_flat, nk) + tile * np.tile(step, nk)}
        contents = []
        for name in layout.fields:
            outer, inner = fields[name]
            contents.append(ak.contents.ListOffsetArray(
                ak.index.Index64(offsets), ak.contents.NumpyArray(values[name], parameters=inner),
                parameters=outer))
        block = ak.Array(ak.contents.RecordArray(contents, layout.fields,
                                                 parameters=layout.parameters))
        write(block, dst, "hardware_tcm_1", mode="append", compression=compression)
    return n_events * k


def check_lgdo(directory: Path) -> list[str]:
    """Read every generated object with legend-lh5io; return problems (empty when fine)."""
    import lh5
    import numpy as np

    from pygama_ak.lh5 import read

    problems = []
    for tier in ("dsp", "hit", "raw"):
        path = directory / f"tier_{tier}.lh5"
        for ch in CHANNELS:
            name = f"{ch}/{tier}"
            theirs = lh5.read(name, str(path))
            ours = read(path, name)
            for field in ours.fields:
                a, b = np.asarray(ours[field]), theirs[field].nda
                if a.shape != b.shape or not np.array_equal(a, b, equal_nan=a.dtype.kind == "f"):
                    problems.append(f"{path.name}:{name}/{field} differs in lgdo")
    tcm_path = directory / "tier_tcm.lh5"
    theirs = lh5.read("hardware_tcm_1", str(tcm_path))
    ours = read(tcm_path, "hardware_tcm_1")
    for field in ("table_key", "row_in_table"):
        vov = theirs[field]
        if not (np.array_equal(vov.flattened_data.nda, np.asarray(ours[field].layout.content.data))
                and len(vov) == len(ours)):
            problems.append(f"tier_tcm.lh5:hardware_tcm_1/{field} differs in lgdo")
    if theirs.attrs.get("tables") != ours.layout.parameters["attrs"]["tables"]:
        problems.append("tier_tcm.lh5: attribute 'tables' lost")
    return problems


def make_scaled(k: int, out: str | os.PathLike = "bench-output/scaled", *,
                compression: Any = None, seed: int = 1, verbose: bool = True) -> Path:
    """Write (or reuse) the scaled inputs for K tiles; returns their directory."""
    import numpy as np

    from pygama_ak.lh5.read import read_n_rows

    tag = "none" if compression is None else str(compression)
    directory = Path(out) / f"K{k}-{tag}"
    meta = {"k": k, "compression": tag, "seed": seed, "jitter": JITTER,
            "version": FORMAT_VERSION, "cycle": CYCLE}
    marker = directory / "done.json"
    if marker.exists() and json.loads(marker.read_text()).get("meta") == meta:
        return directory
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    shift = _time_shift()
    rows = {}
    rows["dsp"] = _write_tiled(source("dsp"), directory / "tier_dsp.lh5",
                               [f"{c}/dsp" for c in CHANNELS], k, rng, shift, compression)
    rows["hit"] = _write_tiled(source("hit"), directory / "tier_hit.lh5",
                               [f"{c}/hit" for c in CHANNELS], k, rng, shift, compression)
    from pygama_ak.lh5 import read

    raw_tables = [f"{c}/raw" for c in CHANNELS]
    evn_max = max(int(np.max(np.asarray(read(source("raw"), t, fields=["eventnumber"]).eventnumber)))
                  for t in raw_tables)
    rows["raw"] = _write_tiled(source("raw"), directory / "tier_raw.lh5", raw_tables, k, rng,
                               shift, compression, fields=["timestamp", "eventnumber"],
                               integer_shifts={t: {"eventnumber": evn_max + 1} for t in raw_tables})
    rows_per_key = {int(c[2:]): int(read_n_rows(source("hit"), f"{c}/hit")) for c in CHANNELS}
    rows["tcm_events"] = _write_tcm(source("tcm"), directory / "tier_tcm.lh5", k, rows_per_key,
                                    compression)
    sizes = {p.name: p.stat().st_size for p in sorted(directory.glob("*.lh5"))}
    marker.write_text(json.dumps({"meta": meta, "rows": rows, "bytes": sizes, "shift_s": shift},
                                 indent=1))
    if verbose:
        mb = ", ".join(f"{n} {s / 1e6:.1f} MB" for n, s in sizes.items())
        print(f"wrote {directory}: {rows} ({mb})")
    return directory


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("k", type=int, help="number of tiles")
    parser.add_argument("--out", default="bench-output/scaled")
    parser.add_argument("--compression", default="none", help="none, gzip, lzf, zstd, ...")
    parser.add_argument("--check-lgdo", action="store_true", help="read everything back with lgdo")
    args = parser.parse_args()
    compression = None if args.compression == "none" else args.compression
    directory = make_scaled(args.k, args.out, compression=compression)
    if args.check_lgdo:
        problems = check_lgdo(directory)
        print("lgdo read-back:", "OK" if not problems else "; ".join(problems))


if __name__ == "__main__":
    main()
