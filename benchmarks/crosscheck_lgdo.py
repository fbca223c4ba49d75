"""Cross-check with legend-pydataobj/legend-lh5io (lgdo 2.0.3, lh5 0.3.0), in the anchors venv.

1. every object of every LH5 file in the test data: lgdo's read equals ours;
2. every such object written by us reads back in lgdo equal to what we wrote;
3. synthetic objects of every datatype (encoded waveforms included) written by us read in lgdo,
   and the same objects written by lgdo read equal in ours.

Run: ``make crosscheck`` (= ``.venv-anchors/bin/python benchmarks/crosscheck_lgdo.py``).
Exit status 1 when anything differs. Not part of ``make test``: it needs lgdo installed.
"""

from __future__ import annotations

import math
import os
import sys
import tempfile
from pathlib import Path

import awkward as ak
import h5py
import lgdo
import lh5
import numpy as np
from lh5.compression import RadwareSigcompress, ULEB128ZigZagDiff
from lh5_objects import lgdo_objects

from pygama_ak.lh5 import read, write

TESTDATA = Path(os.environ.get("PYGAMA_AK_TESTDATA", Path(__file__).resolve().parents[1] / "../shared/testdata"))
REFERENCE = Path(os.environ.get("PYGAMA_AK_REFERENCE", TESTDATA / "../reference"))


# ----------------------------------------------------------------------------- normalising
def plain(value):
    """Any lgdo object, awkward value or scalar → nested Python lists/dicts (bytes → str)."""
    if isinstance(value, lgdo.Histogram):
        return {"weights": plain(value.weights.nda),
                "edges": [plain(np.asarray(ax.edges)) for ax in value.binning]}
    if isinstance(value, lgdo.Struct) and not isinstance(value, lgdo.Table):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, lgdo.Scalar):
        return plain(value.value)
    if isinstance(value, lgdo.LGDO):
        return plain(value.view_as("ak"))
    if isinstance(value, (ak.Array, ak.Record)):
        return plain(ak.to_list(value))
    if isinstance(value, np.ndarray):
        return plain(value.tolist())
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, np.generic):
        return value.item()
    return value


def ours_plain(value):
    """Our read result in lgdo's shape (histograms as weights + edges)."""
    if isinstance(value, ak.Record) and set(value.fields) == {"binning", "weights", "isdensity"}:
        edges = []
        for axis in sorted(value.binning.fields):
            be = value.binning[axis].binedges
            if isinstance(be, ak.Record):
                edges.append(list(np.arange(be.first, be.last + be.step / 2, be.step)))
            else:
                edges.append(ak.to_list(be))
        return {"weights": plain(value.weights), "edges": plain(edges)}
    return plain(value)


def same(a, b, where: str, errors: list[str]) -> None:
    if isinstance(a, dict) and isinstance(b, dict):
        if set(a) != set(b):
            errors.append(f"{where}: keys {sorted(a)} != {sorted(b)}")
            return
        for k in a:
            same(a[k], b[k], f"{where}/{k}", errors)
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            errors.append(f"{where}: length {len(a)} != {len(b)}")
            return
        for i, (x, y) in enumerate(zip(a, b)):
            same(x, y, f"{where}[{i}]", errors)
            if len(errors) > 20:
                return
    elif isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b) or isinstance(a, float) and isinstance(b, float) and np.isclose(a, b, rtol=1e-12, atol=0):
        return
    elif a != b:
        errors.append(f"{where}: {str(a)[:60]} != {str(b)[:60]}")


# ----------------------------------------------------------------------------- objects
def synthetic() -> dict:
    rng = np.random.default_rng(7)
    n = 50
    wf = (14000 + rng.integers(-30, 30, size=(n, 600)).cumsum(axis=1) // 8).astype(np.uint16)
    return {
        "numbers": ak.Array({
            "f32": rng.normal(size=n).astype(np.float32),
            "i64": rng.integers(-(2**40), 2**40, size=n),
            "u8": rng.integers(0, 255, size=n).astype(np.uint8),
            "flag": rng.random(n) > 0.5,
            "label": [f"det{i % 7}" for i in range(n)],
        }),
        "jagged": ak.Array({
            "vov": ak.unflatten(rng.normal(size=120), np.bincount(rng.integers(0, n, 120), minlength=n)),
            "vovov": [[[i, i + 1], []] if i % 2 else [] for i in range(n)],
            "names": [[f"c{j}" for j in range(i % 3)] for i in range(n)],
            "nested": ak.zip({"a": np.arange(n), "b": np.arange(n) * 0.5}, depth_limit=1),
        }),
        "waveforms": ak.Array({"t0": np.zeros(n, np.float32), "dt": np.full(n, 16.0, np.float32),
                               "values": wf}),
    }


def lgdo_version_of(name: str, array: ak.Array):
    """The same synthetic table built as lgdo objects (for lgdo → ours)."""
    if name == "waveforms":
        values = lgdo.ArrayOfEqualSizedArrays(nda=ak.to_numpy(array["values"]))
        return lgdo.WaveformTable(t0=ak.to_numpy(array.t0), dt=ak.to_numpy(array.dt), values=values)
    cols = {}
    for field in array.fields:
        col = array[field]
        if field == "nested":
            cols[field] = lgdo.Table(col_dict={k: lgdo.Array(ak.to_numpy(col[k])) for k in col.fields})
        elif col.ndim == 1 and not str(col.type).endswith("string"):
            cols[field] = lgdo.Array(ak.to_numpy(col))
        elif str(col.type).endswith("string") and col.ndim == 1:
            cols[field] = lgdo.Array(np.array(ak.to_list(col), dtype="S"))
        elif str(col.type).endswith("string"):
            flat = np.array(ak.to_list(ak.flatten(col)), dtype="S")
            cols[field] = lgdo.VectorOfVectors(flattened_data=flat,
                                               cumulative_length=np.cumsum(ak.to_numpy(ak.num(col))))
        else:
            cols[field] = lgdo.VectorOfVectors(col)
    return lgdo.Table(col_dict=cols)


# ----------------------------------------------------------------------------- checks
def main() -> int:
    errors: list[str] = []
    files = sorted(TESTDATA.rglob("*.lh5")) + sorted(REFERENCE.rglob("*.lh5"))
    if "--synthetic-only" in sys.argv:
        files = []
    checked = 0
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "ours.lh5"
        for path in files:
            for name in lgdo_objects(path):
                where = f"{path.name}:{name}"
                theirs = plain(lh5.read(name, str(path)))
                mine = read(path, name)
                same(theirs, ours_plain(mine), f"read {where}", errors)
                target = Path(tmp) / f"{checked}.lh5"
                write(mine, target, name)
                same(ours_plain(mine), plain(lh5.read(name, str(target))), f"write {where}", errors)
                checked += 1
        print(f"1+2. {checked} objects of {len(files)} real files: lgdo read == ours, ours written → lgdo read back equal")

        for name, array in synthetic().items():
            for compression in ("gzip", "zstd", "lzf", None):
                codec_sets = [None]
                if name == "waveforms":
                    codec_sets = [None, "radware_sigcompress", "uleb128_zigzag_diff"]
                for codec in codec_sets:
                    setting = {"default": compression, "values": codec} if codec else compression
                    if out.exists():
                        out.unlink()
                    write(array, out, name, compression=setting)
                    same(plain(array), plain(lh5.read(name, str(out))),
                         f"synthetic {name} {setting} ours→lgdo", errors)
            # lgdo → ours, plain and with both codecs
            obj = lgdo_version_of(name, array)
            codecs = [None, RadwareSigcompress(codec_shift=-32768), ULEB128ZigZagDiff()] \
                if name == "waveforms" else [None]
            for codec in codecs:
                if codec is not None:
                    obj.values.attrs["compression"] = codec
                lgdo_file = Path(tmp) / "lgdo.lh5"
                lh5.write(obj, name, str(lgdo_file), wo_mode="of")
                same(plain(array), plain(read(lgdo_file, name)), f"synthetic {name} {codec} lgdo→ours",
                     errors)
                if codec is not None:  # and lgdo's encoded bytes equal ours
                    with h5py.File(lgdo_file) as f:
                        theirs_bytes = f[f"{name}/values/encoded_data/flattened_data"][...]
                        ends = f[f"{name}/values/encoded_data/cumulative_length"][...].astype(np.int64)
                    write(array, out, "enc", mode="overwrite_file",
                          compression={"values": codec.codec if hasattr(codec, "codec") else
                                       ("radware_sigcompress" if isinstance(codec, RadwareSigcompress)
                                        else "uleb128_zigzag_diff")})
                    with h5py.File(out) as f:
                        ours_bytes = f["enc/values/encoded_data/flattened_data"][...]
                    if len(theirs_bytes) == len(ours_bytes) and isinstance(codec, RadwareSigcompress):
                        # lgdo leaves radware's even-word pad uninitialised (lh5.md §2.2): where a
                        # row's last word differs and ours is the zero pad, count it, don't fail
                        differ = np.flatnonzero(theirs_bytes != ours_bytes)
                        pad = np.isin(differ, np.concatenate([ends - 1, ends - 2])) & (ours_bytes[differ] == 0)
                        if differ.size and pad.all():
                            print(f"   note: {np.unique(np.searchsorted(ends, differ, side='right')).size} "
                                  "radware rows differ from lgdo only in the pad word lgdo leaves "
                                  "uninitialised (ours writes 0)")
                            theirs_bytes = ours_bytes
                    if not np.array_equal(theirs_bytes, ours_bytes):
                        where = np.flatnonzero(theirs_bytes[: len(ours_bytes)] != ours_bytes[: len(theirs_bytes)])
                        errors.append(f"synthetic {name}: {codec} encoded bytes differ from lgdo's "
                                      f"({len(ours_bytes)} vs {len(theirs_bytes)} bytes; first differing "
                                      f"offsets {where[:6].tolist()}: ours {ours_bytes[where[:6]].tolist()}, "
                                      f"lgdo {theirs_bytes[where[:6]].tolist()})")
        print("3. synthetic numbers, strings, bools, VoV, VoVoV, nested tables, waveforms "
              "(gzip/zstd/lzf/none, radware, uleb128): ours → lgdo and lgdo → ours equal; codec bytes identical")

    if errors:
        print(f"{len(errors)} differences:")
        for e in errors[:50]:
            print("  ", e)
        return 1
    print("all equal")
    return 0


if __name__ == "__main__":
    sys.exit(main())
