"""build_hit against pygama 2.6.2's reference outputs, plus config errors."""

from __future__ import annotations

import json

import awkward as ak
import h5py
import numpy as np
import pytest
from conftest import TESTDATA

from pygama_ak.configs import ConfigError
from pygama_ak.hit.build_hit import build_hit, default_output
from pygama_ak.lh5 import read, write

DSP = TESTDATA / "lh5/prod-ref-l200/generated/tier/dsp/cal/p03/r001"
STAMPS = ("20230318T012144Z", "20230318T012228Z")


@pytest.mark.parametrize("stamp", STAMPS)
@pytest.mark.parametrize("name", ["basic", "aggregations"])
def test_equals_reference(tmp_path, testdata_dir, reference_dir, stamp, name):
    dsp = DSP / f"l200-p03-r001-cal-{stamp}-tier_dsp.lh5"
    ref = reference_dir / f"hit/l200-p03-r001-cal-{stamp}-{name}_hit.lh5"
    out = tmp_path / "hit.lh5"
    counts = build_hit(dsp, out, config=reference_dir / f"configs/hit-{name}.json")
    assert counts == {"ch1084803/hit": 10, "ch1084804/hit": 10, "ch1121600/hit": 10}
    with h5py.File(ref) as fr, h5py.File(out) as fo:
        for table in counts:
            assert fo[table].attrs["datatype"] == fr[table].attrs["datatype"]
            for col in fr[table]:
                r, o = fr[f"{table}/{col}"], fo[f"{table}/{col}"]
                assert o.dtype == r.dtype, f"{table}/{col}"
                assert dict(o.attrs) == dict(r.attrs), f"{table}/{col}"
                if r.dtype.kind == "f":  # floats: relative 1e-12 (same double arithmetic)
                    np.testing.assert_allclose(o[...], r[...], rtol=1e-12, err_msg=col)
                else:  # integers and flags exactly
                    np.testing.assert_array_equal(o[...], r[...], err_msg=col)


def test_only_needed_columns_are_read(tmp_path, testdata_dir, reference_dir, monkeypatch):
    import pygama_ak.lh5 as lh5

    asked: list = []
    real_read = lh5.read

    def spy(*args, **kwargs):
        asked.append(kwargs.get("fields"))
        return real_read(*args, **kwargs)

    monkeypatch.setattr(lh5, "read", spy)
    dsp = DSP / f"l200-p03-r001-cal-{STAMPS[0]}-tier_dsp.lh5"
    build_hit(dsp, tmp_path / "h.lh5", config=reference_dir / "configs/hit-basic.json",
              tables="ch1084803/dsp")
    data_reads = [f for f in asked if f is not None]
    assert [sorted(f) for f in data_reads] == [["A_max", "trapEmax"]]


def test_per_table_configs_and_forward_references(tmp_path):
    dsp = tmp_path / "x_dsp.lh5"
    write(ak.Array({"e": np.arange(5.0), "t": np.arange(5) * 2}), dsp, "ch1/dsp")
    write(ak.Array({"e": np.arange(3.0), "t": np.arange(3)}), dsp, "ch2/dsp")
    cfg1 = {"outputs": ["y", "t"], "operations": {
        "y": {"expression": "x + 1"},  # uses x, defined after it
        "x": {"expression": "e * k", "parameters": {"k": 2.0}, "lgdo_attrs": {"units": "keV"}}}}
    cfg2 = {"operations": {"z": {"expression": "where(t > 0, e / t, -1.0)"}}}
    out = default_output(dsp)
    assert out.name == "x_hit.lh5"
    build_hit(dsp, out, tables_config={"ch1/dsp": cfg1, "ch2/dsp": cfg2})
    one = read(out, "ch1/hit")
    assert one.fields == ["t", "y"]
    assert ak.to_list(one.y) == [1.0, 3.0, 5.0, 7.0, 9.0]
    two = read(out, "ch2/hit")
    assert set(two.fields) == {"e", "t", "z"}
    assert ak.to_list(two.z) == [-1.0, 1.0, 1.0]
    with pytest.raises(FileExistsError, match="output exists"):
        build_hit(dsp, out, tables_config={"ch1/dsp": cfg1, "ch2/dsp": cfg2})


def test_chunking_gives_the_same_result(tmp_path):
    dsp = tmp_path / "big_dsp.lh5"
    rng = np.random.default_rng(3)
    write(ak.Array({"e": rng.normal(size=2500), "f": rng.random(2500) > 0.5}), dsp, "ch1/dsp")
    cfg = {"operations": {"g": {"expression": "sqrt(abs(e)) * 3"}, "ok": {"expression": "f & (e > 0)"}},
           "aggregations": {"flags": {"bit0": "ok", "bit1": "f"}}}
    build_hit(dsp, tmp_path / "a.lh5", config=cfg)
    build_hit(dsp, tmp_path / "b.lh5", config=cfg, chunk_rows=333)
    a, b = read(tmp_path / "a.lh5", "ch1/hit"), read(tmp_path / "b.lh5", "ch1/hit")
    for field in a.fields:
        assert ak.to_list(a[field]) == ak.to_list(b[field])
    assert set(np.unique(ak.to_numpy(a.flags))) <= {0, 1, 2, 3}


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"operations": {"a": {"expression": "b + 1"}, "b": {"expression": "a * 2"}}}, "cycle: a -> b -> a"),
        ({"operations": {"a": {"expression": "nope + 1"}}}, "unknown column 'nope'"),
        ({"operations": {"a": {"expression": "e.__class__"}}}, "dunder"),
        ({"operations": {"a": {"expression": "__import__('os').getcwd()"}}}, "only calls of named functions"),
        ({"operations": {"a": {"expression": "e", "units": "keV"}}}, "unknown key 'units'"),
        ({"operations": {"a": {"expression": "e * k", "parameters": {"k": "1.23"}}}}, "must be a number"),
        ({"outputs": ["missing"], "operations": {}}, "unknown column 'missing'"),
        ({"outputs": "a", "operations": {}}, "'outputs' must be a list"),
        ({"operation": {}}, "unknown key 'operation'"),
    ],
)
def test_bad_configs_are_refused(tmp_path, config, message):
    dsp = tmp_path / "c_dsp.lh5"
    write(ak.Array({"e": [1.0, 2.0]}), dsp, "ch1/dsp")
    cfg_file = tmp_path / "cfg.json"
    cfg_file.write_text(json.dumps(config))
    with pytest.raises(ConfigError, match=message) as err:
        build_hit(dsp, tmp_path / "h.lh5", config=cfg_file)
    assert "cfg.json" in str(err.value)
    assert not (tmp_path / "h.lh5").exists()
