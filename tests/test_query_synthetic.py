"""Dataset queries on small synthetic trees: discovery, run selection, pushdown (tests that
fail when a filter or projection is not pushed into the reads), channel maps, cut-flows,
Parquet output."""

from __future__ import annotations

import json

import awkward as ak
import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import pygama_ak.query.source as source_mod
import pygama_ak.query.sparse as sparse_mod
from pygama_ak.evt.tcm import Coincidences, write_tcm
from pygama_ak.lh5 import write
from pygama_ak.lh5.errors import LH5DecodeError
from pygama_ak.query.columns import ColumnError
from pygama_ak.query.dataset import Dataset
from pygama_ak.query.export import OutputExistsError, write_parquet
from pygama_ak.query.layout import LayoutError, Template

N = 400
WF = 64
CYCLES = [
    {"exp": "l200", "period": "p01", "run": "r000", "type": "cal", "timestamp": "20230101T000000Z"},
    {"exp": "l200", "period": "p01", "run": "r000", "type": "phy", "timestamp": "20230101T010000Z"},
    {"exp": "l200", "period": "p02", "run": "r001", "type": "cal", "timestamp": "20230201T000000Z"},
    {"exp": "l200", "period": "p02", "run": "r001", "type": "phy", "timestamp": "20230201T010000Z"},
]
CHANNELS = (1, 2, 3)
DEFAULT = "{tier}/{type}/{period}/{run}/{exp}-{period}-{run}-{type}-{timestamp}-tier_{tier}.lh5"


def _units(array, units: str):
    return ak.with_parameter(array, "units", units)


def tables(cycle: int, ch: int, n: int = N) -> dict[str, ak.Array]:
    """The raw, dsp and hit tables of one channel of one cycle (deterministic)."""
    rng = np.random.default_rng(1000 * cycle + ch)
    energy = rng.uniform(0, 3000, n)
    counts = rng.integers(0, 4, n)
    values = (rng.integers(0, 1000, (n, WF)) + 10_000 * ch).astype(np.uint16)
    waveform = ak.zip({"t0": _units(np.zeros(n, np.float32), "ns"),
                       "dt": _units(np.full(n, 16.0, np.float32), "ns"),
                       "values": ak.to_regular(ak.Array(values), axis=1)}, depth_limit=1)
    raw = ak.zip({"timestamp": _units(np.arange(n) * 0.01 + cycle * 100.0, "s"),
                  "daqenergy": (energy * 8).astype(np.uint16),
                  "tracelist": ak.unflatten(np.arange(int(counts.sum()), dtype=np.int16), counts),
                  "waveform": waveform}, depth_limit=1)
    dsp = ak.zip({"timestamp": _units(np.arange(n) * 0.01 + cycle * 100.0, "s"),
                  "energy": (energy * 8).astype(np.float32),
                  "tp_0_est": _units(rng.uniform(40_000, 50_000, n), "ns")}, depth_limit=1)
    hit = ak.zip({"energy_cal": _units(energy, "keV"),
                  "is_valid": energy > 100,
                  "aoe": np.where(np.arange(n) % 50 == 0, np.nan, rng.normal(0, 1, n))},
                 depth_limit=1)
    return {"raw": raw, "dsp": dsp, "hit": hit}


def make_tree(root, template: str = DEFAULT, cycles=CYCLES, channels=CHANNELS,
              tiers=("raw", "dsp", "hit"), n: int = N):
    """Write a production-like tree; returns ``{(cycle index, channel): tables}``."""
    data = {}
    for i, fields in enumerate(cycles):
        for ch in channels:
            data[i, ch] = tables(i, ch, n)
        for tier in tiers:
            path = root / template.format(tier=tier, **fields)
            path.parent.mkdir(parents=True, exist_ok=True)
            for ch in channels:  # waveforms encoded as in LEGEND raw files
                write(data[i, ch][tier], path, f"ch{ch}/{tier}",
                      compression={"waveform/values": "radware_sigcompress"})
    return data


def cycle_name(fields: dict) -> str:
    return "-".join(fields[k] for k in ("exp", "period", "run", "type", "timestamp"))


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    root = tmp_path_factory.mktemp("prod") / "tier"
    data = make_tree(root)
    return root, data


@pytest.fixture()
def reads(monkeypatch):
    """Every read the query sources make: (file name, table, fields, rows read), through
    ``read`` or ``sparse.read_rows`` (whose scattered reads are made exact here)."""
    log: list[tuple[str, str, tuple, int]] = []
    original, original_rows = source_mod.read, source_mod.read_rows

    def recording(path, name, *, fields=None, rows=None, index=None):
        out = original(path, name, fields=fields, rows=rows, index=index)
        log.append((str(path).rsplit("/", 1)[-1], name, tuple(fields or ()), len(out)))
        return out

    def recording_rows(path, name, paths, index=None, **kwargs):
        out = original_rows(path, name, paths, index, **kwargs)
        log.append((str(path).rsplit("/", 1)[-1], name, tuple(paths), out.height))
        return out

    monkeypatch.setattr(source_mod, "read", recording)
    monkeypatch.setattr(source_mod, "read_rows", recording_rows)
    monkeypatch.setattr(sparse_mod, "GAP_BYTES", 0)  # read exactly the passing rows
    return log


def rows_read(log, field: str) -> int:
    return sum(n for _, _, fields, n in log if field in fields)


def expected_hits(data, cycles, channels=CHANNELS, mask=None) -> pl.DataFrame:
    parts = []
    for i, fields in enumerate(CYCLES):
        if i not in cycles:
            continue
        for ch in channels:
            t = data[i, ch]
            df = pl.DataFrame({"cycle": cycle_name(fields), "channel": ch,
                               "row": np.arange(N, dtype=np.int64),
                               "hit.energy_cal": np.asarray(t["hit"].energy_cal),
                               "dsp.energy": np.asarray(t["dsp"].energy)})
            parts.append(df)
    out = pl.concat(parts)
    return out if mask is None else out.filter(mask)


# ----------------------------------------------------------------------------- discovery
def test_template_discovery(tmp_path):
    template = "{tier}/{period}/{exp}_{period}_{run}_{timestamp}_{tier}.lh5"
    cycles = [{"exp": "x", "period": "p1", "run": "r7", "timestamp": "20240101T000000Z"},
              {"exp": "x", "period": "p2", "run": "r8", "timestamp": "20240102T000000Z"}]
    make_tree(tmp_path, template, cycles=cycles, channels=(5, 6), tiers=("dsp", "hit"), n=10)
    stray = tmp_path / "dsp/p1/x_p2_r9_20240103T000000Z_dsp.lh5"  # period folder disagrees
    stray.write_bytes(b"")
    ds = Dataset(tmp_path, template=template)
    assert ds.cycles()["cycle"].to_list() == ["x-p1-r7-20240101T000000Z", "x-p2-r8-20240102T000000Z"]
    assert ds.fields == ["exp", "period", "run", "timestamp"]
    assert ds.tiers == ["dsp", "hit"] and ds.unmatched == [stray]
    assert ds.channels().rows() == [(5, 2, 2), (6, 2, 2)]
    got = ds.hits(["hit.energy_cal", "period"], runs="run == 'r8'").collect()
    assert got.height == 20 and set(got["period"]) == {"p2"}
    # one template per tier
    per_tier = Dataset(tmp_path, template={
        "dsp": "dsp/{period}/{exp}_{period}_{run}_{timestamp}_dsp.lh5",
        "hit": "hit/{period}/{exp}_{period}_{run}_{timestamp}_hit.lh5"})
    assert per_tier.cycles().height == 2 and per_tier.tiers == ["dsp", "hit"]
    t = Template("{tier}/{a}/{a}-{b}.lh5")
    assert t.match("raw/x/x-y.lh5") == {"tier": "raw", "a": "x", "b": "y"}
    assert t.match("raw/x/z-y.lh5") is None
    with pytest.raises(LayoutError, match="must contain"):
        Dataset(tmp_path, template="{period}/{run}.lh5")


def test_runs_filter(tree):
    root, data = tree
    ds = Dataset(root)
    assert ds.runs().select("period", "type", "cycles").rows() == [
        ("p01", "cal", 1), ("p01", "phy", 1), ("p02", "cal", 1), ("p02", "phy", 1)]
    got = ds.hits(["hit.energy_cal", "dsp.energy"], runs="period == 'p02' and type == 'phy'").collect()
    assert got.equals(expected_hits(data, {3}))
    got = ds.hits(["hit.energy_cal", "dsp.energy"], runs="timestamp < '20230201T000000Z'").collect()
    assert got.equals(expected_hits(data, {0, 1}))
    assert ds.hits(["hit.energy_cal"], runs="period == 'p09'").collect().height == 0
    with pytest.raises(ColumnError, match="unknown field 'datatype'"):
        ds.hits(["hit.energy_cal"], runs="datatype == 'cal'")


# ----------------------------------------------------------------------------- pushdown
def test_where_is_pushed_into_the_reads(tree, reads):
    root, data = tree
    ds = Dataset(root)
    got = ds.hits(["hit.energy_cal", "dsp.energy"], where="hit.energy_cal > 2900").collect()
    expected = expected_hits(data, {0, 1, 2, 3}, mask=pl.col("hit.energy_cal") > 2900)
    assert got.equals(expected) and 0 < got.height < 200
    # the filter column is read whole, the other column only for the passing rows:
    # without predicate pushdown the source would read all 4 x 3 x 400 rows of dsp.energy
    assert rows_read(reads, "energy_cal") == 4 * 3 * N
    assert rows_read(reads, "energy") == got.height
    # a filter added later on the lazy frame is pushed down too
    reads.clear()
    lazy = ds.hits(["hit.energy_cal", "dsp.energy"]).filter(pl.col("hit.energy_cal") > 2900)
    assert lazy.collect().equals(expected)
    assert rows_read(reads, "energy") == got.height


def test_unit_constants_prune_whole_tables(tree, reads):
    root, data = tree
    ds = Dataset(root)
    got = ds.hits(["dsp.energy"], where="channel == 2 and period == 'p01'").collect()
    assert got.height == 2 * N and set(got["channel"]) == {2}
    assert {name for _, name, _, _ in reads} == {"ch2/dsp"}
    assert {f for f, _, _, _ in reads} == {f"{cycle_name(c)}-tier_dsp.lh5" for c in CYCLES[:2]}
    reads.clear()
    assert ds.hits(["dsp.energy"], channels=[3, "ch1"]).collect()["channel"].unique().sort().to_list() == [1, 3]
    assert {name for _, name, _, _ in reads} == {"ch1/dsp", "ch3/dsp"}


def test_waveforms_read_only_for_passing_rows(tree, reads):
    root, data = tree
    ds = Dataset(root)
    lf = ds.hits(["raw.waveform.values", "hit.energy_cal"], runs="type == 'cal'",
                 where="hit.energy_cal > 2950 and hit.is_valid")
    got = lf.collect()
    assert 0 < got.height < 60
    assert rows_read(reads, "waveform/values") == got.height
    for cycle, ch, row, wf in got.select("cycle", "channel", "row", "raw.waveform.values").iter_rows():
        i = next(k for k, c in enumerate(CYCLES) if cycle_name(c) == cycle)
        assert np.array_equal(wf, np.asarray(data[i, ch]["raw"].waveform["values"][row]))
    # the whole waveform table as a struct
    reads.clear()
    whole = ds.hits(["raw.waveform"], where="hit.energy_cal > 2950", runs="type == 'cal'").collect()
    assert whole.schema["raw.waveform"] == pl.Struct(
        {"dt": pl.Float32, "t0": pl.Float32, "values": pl.Array(pl.UInt16, WF)})  # sorted on disk
    assert rows_read(reads, "waveform/values") == whole.height


def test_sparse_rows_equal_read(tree):
    from pygama_ak.lh5 import read
    from pygama_ak.lh5.arrow import to_polars
    from pygama_ak.query.sparse import read_rows

    f = tree[0] / DEFAULT.format(tier="raw", **CYCLES[0])
    fields = ["waveform/values", "waveform/t0", "tracelist", "timestamp", "daqenergy"]
    full = to_polars(read(f, "ch2/raw", fields=fields)).unnest("waveform", separator="/")
    for index in ([0], [5, 6, 7], [3, 150, 151, 399], list(range(0, N, 7)), []):
        got = read_rows(str(f), "ch2/raw", fields, np.array(index, dtype=np.int64))
        assert got.equals(full[index].select(fields)), index
    hit = tree[0] / DEFAULT.format(tier="hit", **CYCLES[0])
    flags = read_rows(str(hit), "ch1/hit", ["is_valid"], np.array([1, 2, 50]))
    assert flags.schema["is_valid"] == pl.Boolean


def test_head_stops_reading(tree, reads):
    ds = Dataset(tree[0])
    got = ds.hits(["raw.waveform.values"]).head(5).collect()
    assert got.height == 5 and got["row"].to_list() == [0, 1, 2, 3, 4]
    assert rows_read(reads, "waveform/values") == 5


def test_explain_shows_the_pushed_filter(tree):
    plan = Dataset(tree[0]).hits(["dsp.energy"], where="hit.energy_cal > 10").explain()
    assert "PYTHON[pygama_ak.query] SCAN" in plan and 'SELECTION: (col("hit.energy_cal") > 10.0)' in plan


# ----------------------------------------------------------------------------- joins
def test_channel_map_and_parameter_database(tree, tmp_path):
    root, data = tree
    chmap = tmp_path / "chmap.yaml"
    chmap.write_text("DET1: {name: DET1, system: geds, daq: {rawid: 1}, location: {string: 4}}\n"
                     "DET2: {name: DET2, system: spms, daq: {rawid: 2}}\n"
                     "DET3: {name: DET3, system: geds, daq: {rawid: 3}, location: {string: 5}}\n"
                     "DUMMY: {name: DUMMY, system: auxs}\n")
    pars = tmp_path / "pars.json"
    pars.write_text(json.dumps({"ch1": {"threshold": 2900.0}, "ch3": {"threshold": 2990.0}}))
    ds = Dataset(root).with_channel_map(chmap).with_channel_map(pars, prefix="par", key=None)
    got = ds.hits(["name", "chmap.location.string", "par.threshold"], runs="run == 'r000'").collect()
    rows = set(got.select("channel", "name", "chmap.location.string", "par.threshold").unique().rows())
    assert rows == {(1, "DET1", 4, 2900.0), (2, "DET2", None, None), (3, "DET3", 5, 2990.0)}
    geds = ds.hits(["hit.energy_cal"], channels="system == 'geds'").collect()
    assert set(geds["channel"]) == {1, 3} and geds.height == 2 * 4 * N
    by_name = ds.hits(["hit.energy_cal"], channels=["DET2"]).collect()
    assert set(by_name["channel"]) == {2}
    # a per-channel cut from the parameter database
    cut = ds.hits(["hit.energy_cal", "par.threshold"], where="hit.energy_cal > par.threshold").collect()
    assert cut.height > 0 and (cut["hit.energy_cal"] > cut["par.threshold"]).all()
    exp = expected_hits(data, {0, 1, 2, 3}, channels=(1, 3))
    exp = exp.filter(pl.col("hit.energy_cal") > pl.when(pl.col("channel") == 1).then(2900.0).otherwise(2990.0))
    assert cut.select("cycle", "channel", "row").equals(exp.select("cycle", "channel", "row"))
    with pytest.raises(ColumnError, match="only provenance/map/cycle columns"):
        ds.hits(["hit.energy_cal"], channels="hit.energy_cal > 3")


def test_missing_column_and_misaligned_tiers(tmp_path):
    cycles = CYCLES[:1]
    make_tree(tmp_path, cycles=cycles, channels=(1,), tiers=("dsp", "hit"), n=20)
    f = tmp_path / DEFAULT.format(tier="dsp", **cycles[0])
    write(ak.zip({"energy": np.ones(20, np.float32)}), f, "ch2/dsp")  # no timestamp, tp_0_est
    write(ak.zip({"energy_cal": np.ones(21)}), tmp_path / DEFAULT.format(tier="hit", **cycles[0]),
          "ch2/hit")
    ds = Dataset(tmp_path)
    got = ds.hits(["dsp.tp_0_est", "dsp.energy"]).collect()
    assert got.filter(pl.col("channel") == 2)["dsp.tp_0_est"].null_count() == 20
    assert got.filter(pl.col("channel") == 1)["dsp.tp_0_est"].null_count() == 0
    with pytest.raises(LH5DecodeError, match="21 rows, but .*tier_dsp.lh5:/ch2/dsp has 20"):
        ds.hits(["dsp.energy", "hit.energy_cal"]).collect()


def test_events_tcm_with_table_positions(tmp_path):
    make_tree(tmp_path, cycles=CYCLES[:1], channels=(7, 9), tiers=("hit",), n=5)
    tcm = Coincidences(table_key=np.array([0, 1, 1, 0], np.int64),
                       row_in_table=np.array([0, 0, 1, 1], np.int64),
                       offsets=np.array([0, 2, 3, 4], np.int64),
                       tables=["ch7/hit", "ch9/hit"], hash_func=None)
    write_tcm(tcm, tmp_path / DEFAULT.format(tier="tcm", **CYCLES[0]))
    got = Dataset(tmp_path).events(["hit.energy_cal"]).collect()
    assert got.select("event", "channel", "row").rows() == [(0, 7, 0), (0, 9, 0), (1, 9, 1), (2, 7, 1)]
    energies = {ch: np.asarray(tables(0, ch, 5)["hit"].energy_cal) for ch in (7, 9)}
    assert got["hit.energy_cal"].to_list() == [energies[7][0], energies[9][0], energies[9][1],
                                               energies[7][1]]


# ----------------------------------------------------------------------------- cut-flow, output
def test_cutflow_counts(tree):
    root, data = tree
    sel = Dataset(root).selection(
        "hits", ["hit.energy_cal"],
        [("valid", "hit.is_valid"), ("aoe", "abs(hit.aoe) < 2"), ("high", "hit.energy_cal > emin")],
        runs="type == 'cal'", params={"emin": 2000.0})
    flow = sel.cutflow()
    e = np.concatenate([np.asarray(data[i, ch]["hit"].energy_cal) for i in (0, 2) for ch in CHANNELS])
    aoe = np.concatenate([np.asarray(data[i, ch]["hit"].aoe) for i in (0, 2) for ch in CHANNELS])
    valid, good_aoe, high = e > 100, np.abs(aoe) < 2, e > 2000  # NaN A/E fails its cut
    assert flow.total == len(e) == 2 * 3 * N
    assert [s.passed for s in flow.steps] == [valid.sum(), good_aoe.sum(), high.sum()]
    assert [s.cumulative for s in flow.steps] == [valid.sum(), (valid & good_aoe).sum(),
                                                  (valid & good_aoe & high).sum()]
    assert flow.steps[2].expression == "hit.energy_cal > emin"
    assert sel.frame.collect().height == flow.selected
    assert flow.to_polars()["cumulative"].to_list() == [s.cumulative for s in flow.steps]


def test_parquet_lists_units_and_no_overwrite(tree, tmp_path):
    sel = Dataset(tree[0]).selection("hits", ["raw.tracelist", "raw.waveform", "hit.energy_cal",
                                              "dsp.tp_0_est"],
                                     [("high", "hit.energy_cal > 2500")], runs="run == 'r000'")
    out = tmp_path / "sel.parquet"
    n = write_parquet(sel.frame, out, units=sel.units, metadata={"query": "test"})
    expected = sel.frame.collect()
    assert n == expected.height > 0
    table = pq.read_table(out)
    schema = table.schema
    assert pa.types.is_large_list(schema.field("raw.tracelist").type)
    wf = schema.field("raw.waveform").type
    assert pa.types.is_fixed_size_list(wf.field("values").type) and wf.field("values").type.list_size == WF
    assert wf.field("t0").metadata == {b"units": b"ns"}
    assert schema.field("hit.energy_cal").metadata == {b"units": b"keV"}
    assert schema.field("dsp.tp_0_est").metadata == {b"units": b"ns"}
    assert json.loads(schema.metadata[b"pygama_ak"]) == {"query": "test"}
    assert pl.read_parquet(out).equals(expected)
    before = out.read_bytes()
    with pytest.raises(OutputExistsError, match="--overwrite"):
        write_parquet(sel.frame, out)
    assert out.read_bytes() == before
    write_parquet(sel.frame.head(1), out, overwrite=True)
    assert pq.read_table(out).num_rows == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sel.parquet"]  # no temporary left
    empty = tmp_path / "empty.parquet"
    assert write_parquet(sel.frame.filter(pl.col("hit.energy_cal") < 0), empty) == 0
    assert pq.read_table(empty).schema.names == expected.columns


def test_sparse_row_ranges_equal_read(tree):
    from pygama_ak.lh5 import read
    from pygama_ak.lh5.arrow import to_polars
    from pygama_ak.query.sparse import read_rows

    f = tree[0] / DEFAULT.format(tier="raw", **CYCLES[1])
    fields = ["waveform/values", "timestamp", "daqenergy", "tracelist"]
    for rows in ((0, N), (17, 230), (5, 5)):
        expected = to_polars(read(f, "ch3/raw", fields=fields, rows=rows)).unnest(
            "waveform", separator="/").select(fields)
        assert read_rows(str(f), "ch3/raw", fields, rows=rows).equals(expected), rows


def test_events_map_only_channel_filter_and_head(tree, tmp_path):
    import shutil

    data = tree[1]
    root = tmp_path / "tier"
    shutil.copytree(tree[0], root)
    # a TCM per cycle: event i holds row i of channel 1 and of channel 3
    for fields in CYCLES:
        n = N
        tcm = Coincidences(table_key=np.tile(np.array([1, 3], np.int64), n),
                           row_in_table=np.repeat(np.arange(n, dtype=np.int64), 2),
                           offsets=np.arange(0, 2 * n + 1, 2, dtype=np.int64),
                           tables=["ch1/hit", "ch3/hit"], hash_func=r"\d+")
        write_tcm(tcm, root / DEFAULT.format(tier="tcm", **fields))
    chmap = tmp_path / "map.json"
    chmap.write_text(json.dumps({"A": {"name": "A", "daq": {"rawid": 1}},
                                 "C": {"name": "C", "daq": {"rawid": 3}}}))
    ds = Dataset(root).with_channel_map(chmap)
    only_map = ds.events(["chmap.name"], runs="run == 'r000' and type == 'cal'").collect()
    assert only_map.height == 2 * N and only_map["chmap.name"].to_list()[:4] == ["A", "C", "A", "C"]
    one = ds.events(["hit.energy_cal"], channels=[3], runs="type == 'phy'").collect()
    assert set(one["channel"]) == {3} and one.height == 2 * N
    assert one.filter(pl.col("cycle") == cycle_name(CYCLES[1]))["hit.energy_cal"].to_list() == \
        np.asarray(data[1, 3]["hit"].energy_cal).tolist()
    cut = ds.events(["hit.energy_cal", "chmap.name"], where="event < 3 and hit.energy_cal > 0",
                    runs="run == 'r000' and type == 'cal'").collect()
    assert cut.select("event", "channel").rows() == [(0, 1), (0, 3), (1, 1), (1, 3), (2, 1), (2, 3)]
    assert ds.events(["hit.energy_cal"]).head(3).collect().height == 3
