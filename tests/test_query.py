"""Dataset queries on the real p03 cal tiers: hits equal a hand-written join of the tiers,
events equal the TCM (and an evt file built here), the legend-metadata channel map joins."""

from __future__ import annotations

import shutil

import awkward as ak
import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from pygama_ak.lh5 import read
from pygama_ak.lh5.arrow import to_polars
from pygama_ak.query.columns import ColumnError
from pygama_ak.query.dataset import Dataset

TIER = "lh5/prod-ref-l200/generated/tier"
CYCLES = ("l200-p03-r001-cal-20230318T012144Z", "l200-p03-r001-cal-20230318T012228Z")
CHANNELS = (1084803, 1084804, 1121600)
CHMAP = "legend/metadata/hardware/configuration/channelmaps"


@pytest.fixture(scope="module")
def tier_dir(testdata_dir):
    return testdata_dir / TIER


@pytest.fixture(scope="module")
def ds(tier_dir):
    return Dataset(tier_dir)


def _file(tier_dir, tier: str, cycle: str):
    return tier_dir / f"{tier}/cal/p03/r001/{cycle}-tier_{tier}.lh5"


def _hand_join(tier_dir, fields: dict[str, list[str]]) -> pl.DataFrame:
    """Read each tier's channel table with ``read`` and join on (cycle, channel, row)."""
    parts = []
    for cycle in CYCLES:
        for ch in CHANNELS:
            frame = None
            for tier, cols in fields.items():
                df = to_polars(read(_file(tier_dir, tier, cycle), f"ch{ch}/{tier}", fields=cols))
                df = df.rename({c: f"{tier}.{c}" for c in cols}).with_row_index("row")
                df = df.with_columns(pl.col("row").cast(pl.Int64), cycle=pl.lit(cycle),
                                     channel=pl.lit(ch, dtype=pl.Int64))
                frame = df if frame is None else frame.join(df, on=["cycle", "channel", "row"])
            parts.append(frame)
    out = pl.concat(parts)
    names = [f"{t}.{c}" for t, cols in fields.items() for c in cols]
    return out.select("cycle", "channel", "row", *names)


def test_discovery(ds, tier_dir):
    cycles = ds.cycles()
    assert cycles["cycle"].to_list() == ["l200-p03-r000-cal-20230311T235840Z", *CYCLES]
    assert ds.tiers == ["raw", "dsp", "hit", "tcm"]
    assert ds.hit_tiers == ["raw", "dsp", "hit"] and ds.event_tiers == []
    # the p14 file sits in run folder r005 but is named r004: reported, not guessed
    assert [p.name for p in ds.unmatched] == ["l200-p14-r004-cal-20250606T010224Z-tier_raw.lh5"]
    runs = ds.runs()
    assert runs.select("run", "cycles", "raw", "dsp", "hit", "tcm").rows() == [
        ("r000", 1, 0, 1, 0, 0), ("r001", 2, 2, 2, 2, 2)]
    channels = ds.channels()
    assert channels.rows() == [(1084803, 2, 2, 2), (1084804, 2, 2, 2), (1104000, 0, 1, 0),
                               (1121600, 2, 2, 2)]
    assert ds.cycles(runs="run == 'r000'").height == 1


def test_hits_equal_hand_written_join(ds, tier_dir):
    fields = {"raw": ["timestamp", "daqenergy", "baseline"],
              "dsp": ["tp_0_est", "cuspEmax", "trapEmax"],
              "hit": ["cuspEmax_ctc_cal", "is_valid_cal", "AoE_Classifier"]}
    names = [f"{t}.{c}" for t, cols in fields.items() for c in cols]
    got = ds.hits(names, runs="period == 'p03' and type == 'cal'").collect()
    expected = _hand_join(tier_dir, fields)
    assert got.height == 60
    assert_frame_equal(got, expected)


def test_hits_bare_names_where_and_units(ds, tier_dir):
    expected = _hand_join(tier_dir, {"dsp": ["tp_0_est"], "hit": ["cuspEmax_ctc_cal", "is_valid_cal"]})
    expected = expected.filter((pl.col("hit.cuspEmax_ctc_cal") > 500) & pl.col("hit.is_valid_cal"))
    got = ds.hits(["tp_0_est", "cuspEmax_ctc_cal"], runs="run == 'r001'",
                  where="cuspEmax_ctc_cal > 500 and is_valid_cal").collect()
    assert got.height == expected.height == 9
    assert got["tp_0_est"].to_list() == expected["dsp.tp_0_est"].to_list()
    assert got["cuspEmax_ctc_cal"].to_list() == expected["hit.cuspEmax_ctc_cal"].to_list()
    with pytest.raises(ColumnError, match="ambiguous: raw.timestamp, dsp.timestamp, hit.timestamp, cycle.timestamp"):
        ds.hits(["timestamp"])
    with pytest.raises(ColumnError, match="no column 'cuspEmax_ctc'"):
        ds.hits(["cuspEmax_ctc"])
    sel = ds.selection("hits", ["dsp.tp_0_est", "raw.waveform"], [("all", "row >= 0")])
    assert sel.units == {"dsp.tp_0_est": "ns", "raw.waveform": {"t0": "ns", "dt": "ns"}}


def test_hits_waveforms_equal_read(ds, tier_dir):
    got = ds.hits(["raw.waveform.values", "hit.cuspEmax_ctc_cal"], runs="run == 'r001'",
                  channels=[1084804], where="hit.cuspEmax_ctc_cal > 2000").collect()
    assert got.select("cycle", "row").rows() == [(CYCLES[0], 0), (CYCLES[0], 2), (CYCLES[1], 0)]
    for cycle, row, wf in zip(got["cycle"], got["row"], got["raw.waveform.values"]):
        values = read(_file(tier_dir, "raw", cycle), "ch1084804/raw",
                      fields=["waveform/values"], index=[row]).waveform["values"]
        assert np.array_equal(wf.to_numpy(), np.asarray(values[0]))


def test_sparse_rows_equal_read_on_real_files(tier_dir):
    from pygama_ak.query.sparse import read_rows

    cases = [(_file(tier_dir, "raw", CYCLES[0]), "ch1084803/raw",
              ["waveform/values", "tracelist", "baseline", "timestamp"], [1, 4, 5, 9]),
             (tier_dir / "raw/cal/p14/r005/l200-p14-r004-cal-20250606T010224Z-tier_raw.lh5",
              "ch1107202/raw", ["waveform_windowed/values", "waveform_presummed/values",
                                "timestamp"], [1]),
             (_file(tier_dir, "hit", CYCLES[1]), "ch1121600/hit",
              ["is_valid_cal", "cuspEmax_ctc_cal"], [0, 2, 3, 8])]
    for path, table, fields, index in cases:
        full = to_polars(read(path, table, fields=fields))
        full = full.unnest([c for c, d in full.schema.items() if isinstance(d, pl.Struct)],
                           separator="/")
        got = read_rows(str(path), table, fields, np.array(index))
        assert got.equals(full[index].select(fields)), (path.name, table)


def test_events_equal_tcm(ds, tier_dir):
    got = ds.events(["hit.cuspEmax_ctc_cal", "dsp.tp_0_est"]).collect()
    parts = []
    for cycle in CYCLES:
        tcm = read(_file(tier_dir, "tcm", cycle), "hardware_tcm_1")
        counts = ak.to_numpy(ak.num(tcm.table_key))
        parts.append(pl.DataFrame({
            "cycle": [cycle] * int(counts.sum()),
            "event": np.repeat(np.arange(len(counts)), counts),
            "channel": ak.to_numpy(ak.flatten(tcm.table_key)).astype(np.int64),
            "row": ak.to_numpy(ak.flatten(tcm.row_in_table)).astype(np.int64)}))
    tcm_rows = pl.concat(parts)
    assert_frame_equal(got.select("cycle", "event", "channel", "row"), tcm_rows)
    hits = ds.hits(["hit.cuspEmax_ctc_cal", "dsp.tp_0_est"]).collect()
    joined = tcm_rows.join(hits, on=["cycle", "channel", "row"], maintain_order="left")
    assert_frame_equal(got, joined)
    # a where on hit columns keeps the TCM order
    sel = ds.events(["hit.cuspEmax_ctc_cal"], where="hit.cuspEmax_ctc_cal > 1000").collect()
    assert_frame_equal(sel, got.select(sel.columns).filter(pl.col("hit.cuspEmax_ctc_cal") > 1000))
    with pytest.raises(ColumnError, match="no evt tier"):
        ds.events(["cycle.run"])


def test_events_read_evt_tier(tier_dir, reference_dir, tmp_path):
    from pygama_ak.evt.build_evt import build_evt

    root = tmp_path / "tier"
    for tier in ("dsp", "hit", "tcm"):
        shutil.copytree(tier_dir / f"{tier}/cal/p03/r001", root / f"{tier}/cal/p03/r001")
    evt_files = []
    for cycle in CYCLES:
        f = {t: root / f"{t}/cal/p03/r001/{cycle}-tier_{t}.lh5" for t in ("tcm", "hit", "dsp")}
        out = root / f"evt/cal/p03/r001/{cycle}-tier_evt.lh5"
        out.parent.mkdir(parents=True, exist_ok=True)
        build_evt((f["tcm"], "hardware_tcm_1"), {"hit": (f["hit"], "hit", "ch{}"),
                                                 "dsp": (f["dsp"], "dsp", "ch{}")},
                  reference_dir / "configs/evt-basic.yaml", out)
        evt_files.append(out)
    ds = Dataset(root)
    assert ds.event_tiers == ["evt"]
    got = ds.events(["multiplicity", "evt.energy_sum", "evt.energy", "evt.timestamp"]).collect()
    expected = pl.concat([
        to_polars(read(f, "evt", fields=["multiplicity", "energy_sum", "energy", "timestamp"]))
        .with_row_index("event").with_columns(pl.col("event").cast(pl.Int64), cycle=pl.lit(c))
        for c, f in zip(CYCLES, evt_files)])
    assert got.columns == ["cycle", "event", "multiplicity", "evt.energy_sum", "evt.energy",
                           "evt.timestamp"]
    assert got.height == 46
    assert_frame_equal(got, expected.select("cycle", "event", *(pl.col(c).alias(n) for c, n in (
        ("multiplicity", "multiplicity"), ("energy_sum", "evt.energy_sum"),
        ("energy", "evt.energy"), ("timestamp", "evt.timestamp")))))
    sel = ds.events(["evt.energy_sum"], where="multiplicity == 2").collect()
    assert sel.height == expected.filter(pl.col("multiplicity") == 2).height > 0
    # evt columns next to hit columns: the TCM exploded, each hit with its event's fields
    mixed = ds.events(["evt.multiplicity", "hit.cuspEmax_ctc_cal"]).collect()
    assert mixed.height == 60
    per_event = mixed.group_by("cycle", "event").agg(
        (pl.col("hit.cuspEmax_ctc_cal") > 25).sum().alias("n"), pl.col("evt.multiplicity").first())
    assert (per_event["n"] == per_event["evt.multiplicity"].cast(pl.UInt32)).all()


def test_channel_map_join(tier_dir, testdata_dir):
    ds = Dataset(tier_dir).with_channel_map(testdata_dir / CHMAP)
    got = ds.hits(["chmap.name", "system", "location.string"], runs="run == 'r001'").collect()
    names = dict(got.select("channel", "chmap.name").unique().rows())
    assert names == {1084803: "V00048A", 1084804: "V01240A", 1121600: "V00048B"}
    assert set(got["system"]) == {"geds"}
    strings = dict(got.select("channel", "location.string").unique().rows())
    assert strings == {1084803: 10, 1084804: 10, 1121600: 8}
    by_name = ds.hits(["hit.cuspEmax_ctc_cal"], channels=["V00048B"]).collect()
    assert set(by_name["channel"]) == {1121600} and by_name.height == 20
    by_expr = ds.hits(["hit.cuspEmax_ctc_cal"], channels="location.string == 10").collect()
    assert set(by_expr["channel"]) == {1084803, 1084804}
    listing = ds.channels(runs="run == 'r001'")
    assert listing.filter(pl.col("channel") == 1084803)["chmap.name"].item() == "V00048A"
