"""scan_lh5: schema, and one test per pushdown that fails when the pushdown is ignored."""

from __future__ import annotations

import time

import awkward as ak
import numpy as np
import polars as pl
import pytest

import pygama_ak.lh5.scan as scan_mod
from pygama_ak.lh5 import read, write
from pygama_ak.lh5.arrow import to_polars
from pygama_ak.lh5.errors import LH5DecodeError
from pygama_ak.lh5.read import tables_in
from pygama_ak.lh5.scan import scan_lh5, schema_of

N = 250_000
BATCH = 30_000
ENGINES = ["in-memory", "streaming"]
P03 = "lh5/prod-ref-l200/generated/tier"
RAW = f"{P03}/raw/cal/p03/r001/l200-p03-r001-cal-20230318T012144Z-tier_raw.lh5"
DSP = f"{P03}/dsp/cal/p03/r000/l200-p03-r000-cal-20230311T235840Z-tier_dsp.lh5"
TCM = f"{P03}/tcm/cal/p03/r001/l200-p03-r001-cal-20230318T012144Z-tier_tcm.lh5"
PSP = "lh5/l200-p03-r000-phy-20230312T055349Z-tier_psp.lh5"
P14 = f"{P03}/raw/cal/p14/r005/l200-p14-r004-cal-20250606T010224Z-tier_raw.lh5"  # encoded waveforms


def _synthetic(n: int, first_evt: int = 0, seed: int = 0) -> ak.Array:
    """A table with a scalar to filter on, a VoV, a bool and a 'heavy' waveform sub-table."""
    rng = np.random.default_rng(seed)
    counts = rng.integers(0, 4, n)
    energy = rng.uniform(0.0, 100.0, n)
    values = np.broadcast_to(np.arange(8, dtype=np.uint16), (n, 8)) + (np.arange(n) % 7)[:, None]
    waveform = ak.zip({"t0": np.full(n, 8.0, np.float32),
                       "values": ak.to_regular(ak.Array(values.astype(np.uint16)), axis=1)},
                      depth_limit=1)
    return ak.zip({"evt": np.arange(first_evt, first_evt + n, dtype=np.int64),
                   "energy": energy,
                   "hits": ak.unflatten(rng.normal(size=int(counts.sum())).astype(np.float32),
                                        counts),
                   "flag": energy > 50.0,
                   "waveform": waveform}, depth_limit=1)


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    """One file of 250 000 rows (so batches of 30 000 rows are exercised) and its contents."""
    path = tmp_path_factory.mktemp("scan") / "big.lh5"
    data = _synthetic(N)
    write(data, path, "ch0/dsp", compression="lzf")
    return path, to_polars(read(path, "ch0/dsp"))


@pytest.fixture(scope="module")
def several(tmp_path_factory):
    """Three files of different lengths with consecutive event numbers."""
    folder = tmp_path_factory.mktemp("multi")
    paths, first = [], 0
    for i, n in enumerate((1000, 10, 2500)):
        paths.append(folder / f"f{i}.lh5")
        write(_synthetic(n, first, seed=i), paths[-1], "ch0/dsp")
        first += n
    return paths


@pytest.fixture()
def calls(monkeypatch):
    """Record every read the scan makes: (fields, rows, index length, rows returned)."""
    log: list[dict] = []
    original = scan_mod.read

    def recording(path, name, *, fields=None, rows=None, index=None):
        out = original(path, name, fields=fields, rows=rows, index=index)
        log.append({"fields": list(fields), "rows": rows, "index": index, "n": len(out)})
        return out

    monkeypatch.setattr(scan_mod, "read", recording)
    # Polars may still be finishing a batch of the previous test's early-stopped scan in a
    # worker thread; let it end so its read is not counted here
    time.sleep(0.5)
    log.clear()
    return log


def _rows_read(log: list[dict], field: str) -> int:
    return sum(c["n"] for c in log if field in c["fields"])


# ----------------------------------------------------------------------------- schema
def test_schema_reads_no_data(big, monkeypatch):
    path, df = big

    def fail(*args, **kwargs):
        raise AssertionError("schema must not read data")

    monkeypatch.setattr(scan_mod, "read", fail)
    lf = scan_lh5(path, "ch0/dsp")
    assert lf.collect_schema() == df.schema == schema_of(path, "ch0/dsp")
    assert df.schema["waveform"] == pl.Struct({"t0": pl.Float32, "values": pl.Array(pl.UInt16, 8)})
    assert df.schema["flag"] == pl.Boolean and df.schema["hits"] == pl.List(pl.Float32)
    plan = lf.explain()
    assert "lh5" in plan and "big.lh5" in plan and "ch0/dsp" in plan


def test_schema_errors(big, tmp_path):
    path, _ = big
    with pytest.raises(LH5DecodeError, match="needs a table"):
        schema_of(path, "ch0/dsp/energy")
    odd = tmp_path / "odd.lh5"
    write(_synthetic(10)[["evt", "energy"]], odd, "ch0/dsp")
    with pytest.raises(LH5DecodeError, match="odd.lh5.*schema differs"):
        scan_lh5([path, odd], "ch0/dsp")
    other = tmp_path / "other.lh5"
    data = _synthetic(10)
    write(ak.with_field(data, ak.values_astype(data.evt, np.int32), "evt"), other, "ch0/dsp")
    with pytest.raises(LH5DecodeError, match="other.lh5.*'evt' is Int32"):
        scan_lh5([path, other], "ch0/dsp")


# ----------------------------------------------------------------------------- pushdowns
@pytest.mark.parametrize("engine", ENGINES)
def test_projection_pushdown(big, calls, engine):
    path, df = big
    out = scan_lh5(path, "ch0/dsp", batch_size=BATCH).select("energy", "evt").collect(engine=engine)
    assert out.equals(df.select("energy", "evt"))
    assert calls and all(sorted(c["fields"]) == ["energy", "evt"] for c in calls)


def test_struct_column_reads_its_subtree(big, calls):
    path, df = big
    out = scan_lh5(path, "ch0/dsp", batch_size=BATCH).select(
        pl.col("waveform").struct.field("values").arr.max()).collect()
    assert out.to_series().to_list() == df["waveform"].struct.field("values").arr.max().to_list()
    assert all(c["fields"] == ["waveform"] for c in calls)


@pytest.mark.parametrize("engine", ENGINES)
def test_predicate_pushdown_late_materialisation(big, calls, engine):
    path, df = big
    pred = pl.col("energy") > 99.0
    expected = df.filter(pred)
    assert 0 < expected.height < N // 50  # differs a lot from the unfiltered count
    out = scan_lh5(path, "ch0/dsp", batch_size=BATCH).filter(pred).collect(engine=engine)
    assert out.height == expected.height and out.equals(expected)
    # the predicate column is read first, for every row, on its own
    assert _rows_read(calls, "energy") == N
    assert all(c["fields"] == ["energy"] for c in calls if "energy" in c["fields"])
    # the heavy waveform column only for the passing rows
    assert _rows_read(calls, "waveform") == expected.height


def test_predicate_skips_batches(big, calls):
    path, df = big
    lf = scan_lh5(path, "ch0/dsp", batch_size=BATCH)
    out = lf.filter(pl.col("evt").is_between(40_000, 40_009)).select("evt", "waveform").collect()
    assert out["evt"].to_list() == list(range(40_000, 40_010))
    heavy = [c for c in calls if "waveform" in c["fields"]]
    assert len(heavy) == 1 and heavy[0]["n"] == 10  # only the one batch with passing rows
    calls.clear()
    none = lf.filter(pl.col("energy") < 0).collect()
    assert none.height == 0 and none.schema == df.schema
    assert not [c for c in calls if "waveform" in c["fields"]]


def test_far_apart_rows_are_read_separately(big, calls, monkeypatch):
    """Two clusters of passing rows far apart in one batch: two small reads, not the span."""
    path, df = big
    monkeypatch.setattr(scan_mod, "GAP_BYTES", 20 * 1000)  # waveform rows are 20 bytes here
    pred = pl.col("evt").is_between(40_000, 40_009) | pl.col("evt").is_between(55_000, 55_004)
    out = scan_lh5(path, "ch0/dsp", batch_size=BATCH).filter(pred).collect()
    assert out.equals(df.filter(pred))
    heavy = [c for c in calls if "waveform" in c["fields"]]
    assert [c["n"] for c in heavy] == [10, 5]
    assert heavy[0]["index"][0] == 40_000 and heavy[1]["index"][0] == 55_000


def test_predicate_on_several_columns_and_nulls(big):
    path, df = big
    pred = (pl.col("flag") & (pl.col("hits").list.len() > 2)) | (pl.col("evt") < 3)
    out = scan_lh5(path, "ch0/dsp", batch_size=BATCH).filter(pred).select("evt").collect()
    assert out.equals(df.filter(pred).select("evt"))
    pred_null = pl.when(pl.col("evt") % 2 == 0).then(pl.col("energy") > 90.0)  # null for odd evt
    out = scan_lh5(path, "ch0/dsp", batch_size=BATCH).filter(pred_null).collect()
    assert out.equals(df.filter(pred_null))


@pytest.mark.parametrize("engine", ENGINES)
def test_n_rows_pushdown(big, calls, engine):
    path, df = big
    lf = scan_lh5(path, "ch0/dsp", batch_size=BATCH)
    out = lf.head(5).collect(engine=engine)
    assert out.equals(df.head(5))
    assert [c["rows"] for c in calls] == [(0, 5)]  # not all 9 batches, not even one whole batch
    calls.clear()
    out = lf.select("evt").head(70_000).collect(engine=engine)
    assert out.equals(df.select("evt").head(70_000))
    assert [c["rows"] for c in calls] == [(0, 30_000), (30_000, 60_000), (60_000, 70_000)]


def test_filter_then_head(big):
    path, df = big
    pred = pl.col("energy") > 95.0
    out = scan_lh5(path, "ch0/dsp", batch_size=BATCH).filter(pred).head(3).collect()
    assert out.equals(df.filter(pred).head(3))


def test_batches_bound_memory(big, calls):
    path, df = big
    out = scan_lh5(path, "ch0/dsp", batch_size=BATCH).collect(engine="in-memory")
    assert out.equals(df)
    assert len(calls) == -(-N // BATCH) and max(c["n"] for c in calls) == BATCH
    calls.clear()
    # Polars' hint (100 000 when streaming) is used when it is smaller than our batch size
    scan_lh5(path, "ch0/dsp", batch_size=10**9).select("evt").collect(engine="streaming")
    assert max(c["n"] for c in calls) <= 100_000


def test_batches_bound_memory_by_bytes(big, calls, monkeypatch):
    path, df = big
    monkeypatch.setattr(scan_mod, "BATCH_BYTES", 200_000)
    out = scan_lh5(path, "ch0/dsp", batch_size=10**9).collect(engine="in-memory")
    assert out.equals(df)
    row_bytes = sum(scan_mod.row_bytes(t) for t in out.schema.values())
    assert max(c["n"] for c in calls) == 200_000 // row_bytes


# ----------------------------------------------------------------------------- several files
@pytest.mark.parametrize("engine", ENGINES)
def test_multi_file_concatenation(several, calls, engine):
    expected = to_polars(read(several, "ch0/dsp"))
    lf = scan_lh5(several, "ch0/dsp", batch_size=700)
    assert lf.collect(engine=engine).equals(expected)
    assert lf.collect(engine=engine)["evt"].to_list() == list(range(3510))
    pred = pl.col("evt").is_between(995, 1015)
    assert lf.filter(pred).collect(engine=engine).equals(expected.filter(pred))
    calls.clear()
    out = lf.select("evt").head(1200).collect(engine=engine)
    assert out["evt"].to_list() == list(range(1200))
    assert calls[-1]["rows"] == (0, 190)  # stopped inside the third file, 1000 + 10 + 190


# ----------------------------------------------------------------------------- real files
@pytest.mark.testdata
@pytest.mark.parametrize("rel", [RAW, DSP, TCM, PSP, P14])
def test_real_files_match_read(testdata_dir, rel):
    path = testdata_dir / rel
    if not path.exists():
        pytest.skip(f"{path} not in the test data")
    for name in tables_in(path):
        expected = to_polars(read(path, name))
        assert schema_of(path, name) == expected.schema, name
        got = scan_lh5(path, name, batch_size=7000).collect()
        assert got.equals(expected), name


@pytest.mark.testdata
def test_real_dsp_filter(testdata_dir):
    path = testdata_dir / DSP
    if not path.exists():
        pytest.skip(f"{path} not in the test data")
    expected = to_polars(read(path, "ch1104000/dsp"))
    assert expected.height == 38343
    pred = pl.col("trapEmax") > expected["trapEmax"].quantile(0.9)
    got = (scan_lh5([path, path], "ch1104000/dsp", batch_size=5000)
           .filter(pred).select("timestamp", "trapEmax", "cuspEmax").collect())
    want = pl.concat([expected, expected]).filter(pred).select("timestamp", "trapEmax", "cuspEmax")
    assert 0 < got.height < 2 * 38343 and got.equals(want)


@pytest.mark.testdata
def test_real_raw_waveform_query(testdata_dir, calls):
    path = testdata_dir / RAW
    if not path.exists():
        pytest.skip(f"{path} not in the test data")
    expected = to_polars(read(path, "ch1084803/raw"))
    lf = scan_lh5(path, "ch1084803/raw")
    pred = pl.col("daqenergy") > expected["daqenergy"].median()
    out = lf.filter(pred).select(pl.col("waveform").struct.field("values").arr.max()).collect()
    want = expected.filter(pred).select(pl.col("waveform").struct.field("values").arr.max())
    assert out.equals(want) and out.height < 10
    assert _rows_read(calls, "waveform") == out.height
