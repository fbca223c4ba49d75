"""The processing-chain engine: config normalisation, argument grammar, units, grids, types.

These tests use numpy functions as processors so they check the engine, not the kernels.
"""

from __future__ import annotations

import awkward as ak
import numpy as np
import pytest

from pygama_ak.dsp.build_dsp import build_dsp, input_columns
from pygama_ak.dsp.chain import ProcessingChain
from pygama_ak.dsp.config import channel_database, parse_config, substitute_db
from pygama_ak.dsp.errors import ChainError
from pygama_ak.dsp.units import Quantity, in_samples
from pygama_ak.lh5 import write

AMAX = {"signature": "(n),()->()", "types": ["fi->f", "di->d"]}
ARGMAX = {"signature": "(n),()->()", "types": ["fi->l", "di->l"]}


def raw_table(n: int = 6, samples: int = 800, t0: float = 0.0, dtype=np.uint16, seed: int = 3) -> ak.Array:
    rng = np.random.default_rng(seed)
    wf = rng.integers(100, 200, size=(n, samples)).astype(dtype)
    peak = rng.integers(100, samples - 100, size=n)
    wf[np.arange(n), peak] = 1000
    waveform = ak.zip({
        "t0": ak.with_parameter(np.full(n, t0, np.float32), "units", "ns"),
        "dt": ak.with_parameter(np.full(n, 16.0, np.float32), "units", "ns"),
        "values": wf,
    }, depth_limit=1)
    return ak.zip({"baseline": np.full(n, 150, np.uint16), "waveform": waveform,
                   "timestamp": ak.with_parameter(np.arange(n, dtype=np.float64), "units", "s")}, depth_limit=1)


@pytest.fixture()
def raw_file(tmp_path):
    path = tmp_path / "raw.lh5"
    write(raw_table(), path, "ch1/raw")
    write(raw_table(t0=100.0, seed=4), path, "ch2/raw")
    return path


def chain_for(config: dict, table: ak.Array | None = None, db: dict | None = None) -> ProcessingChain:
    return ProcessingChain(parse_config(config), input_columns(table if table is not None else raw_table()), db)


# -- units ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(("value", "unit", "samples"), [
    (10, "us", 624.9999999999999), (3.008, "us", 187.99999999999997), (3, "us", 187.49999999999997),
    (128, "ns", 8.0), (2, "us", 124.99999999999999), (4.8, "us", 299.99999999999994),
])
def test_time_to_samples_takes_dspeeds_floating_point_path(value, unit, samples):
    assert in_samples(Quantity.of(value, unit), 16.0, "ns") == samples
    # so rounding half-to-even gives dspeed's sample counts: 3 us -> 187, not 188
    assert int(np.round(in_samples(Quantity.of(3, "us"), 16.0, "ns"))) == 187


def test_frequency_converts_to_a_fraction_of_the_sampling_rate():
    assert in_samples(Quantity.of(6.25, "MHz"), 16.0, "ns") == pytest.approx(0.1)


# -- config normalisation --------------------------------------------------------------------------
def test_node_forms_are_normalised():
    cfg = parse_config({"outputs": ["a", "b", "c"], "processors": {
        "a": "dspeed.processors.bl_subtract(waveform, baseline, a(unit='ADC'))",
        "b": {"function": "numpy.amax", "args": ["waveform", 1, "b"], "kwargs": AMAX},
        "c, d": {"function": "b * 2", "unit": "ns"},
    }})
    a, b, c = cfg.nodes["a"], cfg.nodes["b"], cfg.nodes["c"]
    assert (a.module, a.function, a.args) == ("dspeed.processors", "bl_subtract", ["waveform", "baseline", "a(unit='ADC')"])
    assert (b.module, b.function, b.signature) == ("numpy", "amax", "(n),()->()")
    assert c.is_expression and c.args == ["b * 2"] and cfg.nodes["d"] is c


@pytest.mark.parametrize(("processors", "message"), [
    ({"a": {"function": "amax", "module": "numpy", "args": [], "colour": 1}}, "unknown key 'colour'"),
    ({"a": {"module": "numpy"}}, "missing key 'function'"),
    ({"a": {"function": "amax", "module": "numpy"}}, "needs 'args'"),
    ({"a": {"function": "numpy.amax", "module": "numpy", "args": []}}, "module path and 'module'"),
    ({"a": {"function": "b + 1", "args": ["b"]}}, "'args' given for the expression"),
    ({"a": {"function": "amax", "module": "numpy", "args": [], "kwargs": {"colour": 1}}}, "kwargs.colour"),
])
def test_bad_nodes_name_config_processor_and_key(processors, message):
    with pytest.raises(ChainError, match=message) as err:
        parse_config({"outputs": ["a"], "processors": processors})
    assert "processor 'a'" in str(err.value)


def test_unknown_top_level_key_is_refused(tmp_path):
    path = tmp_path / "cfg.json"
    path.write_text('{"outputs": [], "processors": {}, "outptus": []}')
    with pytest.raises(ChainError, match=rf"{path}: unknown key 'outptus'"):
        parse_config(path)


# -- database ------------------------------------------------------------------------------------
def test_database_is_looked_up_per_channel_with_node_defaults():
    db = {"ch1": {"pz": {"tau": "400*us"}}}
    assert channel_database(db, "ch1/raw") == {"pz": {"tau": "400*us"}}
    assert channel_database(db, "ch2/raw") == {}
    assert channel_database({"pz": {"tau": 5}}, "raw") == {"pz": {"tau": 5}}  # flat only for a bare table
    assert substitute_db("db.pz.tau", {"pz": {"tau": 7}}, {}, "w") == 7
    assert substitute_db("db.pz.tau/2", {}, {"db.pz.tau": "10*us"}, "w") == "10*us/2"
    with pytest.raises(ChainError, match="db.pz.tau is not in the database and the processor has no default"):
        substitute_db("db.pz.tau", {}, {}, "cfg: processor 'x'")


def test_channel_database_changes_that_channel_only(raw_file):
    cfg = {"outputs": ["scaled"], "processors": {
        "scaled": {"function": "timestamp * db.k.f", "defaults": {"db.k.f": 2}}}}
    out = build_dsp(raw_file, config=cfg, database={"ch2": {"k": {"f": 10}}})
    assert out["ch1/dsp"].scaled.to_list() == [2.0 * i for i in range(6)]
    assert out["ch2/dsp"].scaled.to_list() == [10.0 * i for i in range(6)]


# -- the argument grammar ------------------------------------------------------------------------
@pytest.mark.parametrize(("expression", "message"), [
    ("waveform.__class__ + 1", "unknown attribute '__class__'"),
    ("__import__('os')", "unknown function '__import__'"),
    ("open('x')", "unknown function 'open'"),
    ("waveform ** 2", "operator Pow is not allowed"),
    ("[x for x in waveform]", "ListComp is not allowed"),
    ("lambda: 1", "Lambda is not allowed"),
    ("nosuchcolumn + 1", "'nosuchcolumn' is neither an input column nor produced"),
    ("1 < baseline < 3", "chained comparisons"),
])
def test_expressions_outside_the_grammar_are_refused(expression, message):
    with pytest.raises(ChainError, match=message):
        chain_for({"outputs": ["x"], "processors": {"x": expression}})


def test_circular_references_are_reported():
    with pytest.raises(ChainError, match="circular reference a -> b -> a"):
        chain_for({"outputs": ["a"], "processors": {"a": "b + 1", "b": "a * 2"}})


def test_unknown_outputs_are_skipped_and_listed():
    chain = chain_for({"outputs": ["x", "nothing"], "processors": {"x": "baseline + 1"}})
    assert chain.outputs == ["x"] and chain.skipped == ["nothing"]


def test_constant_expressions_fold_with_units():
    chain = chain_for({"outputs": ["k"], "processors": {
        "k": {"function": "amax", "module": "numpy", "kwargs": AMAX,
              "args": ["waveform[:round((128*ns+2*us)/waveform.period)]", 1, "k"]}}})
    view = next(v for v in chain.vars.values() if v.kind == "view")
    assert view.shape == (133,)  # (128 ns + 2 us) / 16 ns


def test_slices_in_time_units_shift_and_scale_the_grid():
    chain = chain_for({"outputs": ["m"], "processors": {
        "m": {"function": "amax", "module": "numpy", "kwargs": AMAX, "args": ["waveform[1*us:10*us:2]", 1, "m"]}}})
    view = next(v for v in chain.vars.values() if v.kind == "view")
    assert view.shape == (282,)  # samples 62, 64, ..., 624
    assert view.grid.period == 32.0 and view.grid.offset == 992.0 and view.grid.offset_var == "waveform__t0"


def test_only_needed_columns_are_inputs():
    chain = chain_for({"outputs": ["x"], "processors": {"x": "baseline + 1"}})
    assert chain.needed_inputs() == ["baseline"]


def test_unsigned_waveforms_give_float32_and_int32_give_float64():
    cfg = {"outputs": ["half"], "processors": {"half": "waveform * 0.5"}}
    assert chain_for(cfg).vars["half"].dtype == np.float32
    assert chain_for(cfg, raw_table(dtype=np.int32)).vars["half"].dtype == np.float64


def test_pinned_types_that_do_not_fit_are_refused():
    cfg = {"outputs": ["m"], "processors": {
        "m": {"function": "amax", "module": "numpy", "args": ["waveform", 1, "m"],
              "kwargs": {"signature": "(n),()->()", "types": ["fi->f"]}}}}
    chain_for(cfg)  # uint16 fits float32
    with pytest.raises(ChainError, match=r"no type signature in \['fi->f'\] matches"):
        chain_for(cfg, raw_table(dtype=np.int64))


# -- time points ---------------------------------------------------------------------------------
def test_time_points_are_written_as_index_times_period_plus_t0(raw_file):
    cfg = {"outputs": ["tp_peak", "tp_later", "tp_raw"], "processors": {
        "tp_peak": {"function": "argmax", "module": "numpy", "args": ["waveform", 1, "tp_peak"],
                    "kwargs": ARGMAX, "unit": "ns"},
        "tp_later": "tp_peak + 1*us",
        "tp_raw": {"function": "argmax", "module": "numpy", "args": ["waveform[100:]", 1, "tp_raw"],
                   "kwargs": ARGMAX, "unit": "ns"},
    }}
    out = build_dsp(raw_file, config=cfg)
    for table, t0 in (("ch1", 0.0), ("ch2", 100.0)):
        wf = raw_table(t0=t0, seed=3 if t0 == 0 else 4).waveform["values"].to_numpy()
        peak = wf.argmax(axis=1)
        dsp = out[f"{table}/dsp"]
        np.testing.assert_array_equal(dsp.tp_peak.to_numpy(), peak * 16 + t0)
        # 1 us = 62.5 samples: added as a float in samples of the waveform grid
        np.testing.assert_allclose(dsp.tp_later.to_numpy(), (peak + 62.5) * 16 + t0)
        # a slice starting at sample 100 moves the grid: the written time is still absolute
        np.testing.assert_array_equal(dsp.tp_raw.to_numpy(), (wf[:, 100:].argmax(axis=1) + 100) * 16 + t0)
        assert ak.parameters(dsp.tp_peak)["units"] == "ns"


def test_units_of_expressions_follow_their_operands(raw_file):
    cfg = {"outputs": ["m", "ratio", "scaled"], "processors": {
        "m": {"function": "amax", "module": "numpy", "args": ["waveform", 1, "m"], "kwargs": AMAX, "unit": "ADC"},
        "scaled": {"function": "m * 16", "unit": "ns"},  # unit is ignored on expressions, as in dspeed
        "ratio": "scaled / m",
    }}
    dsp = build_dsp(raw_file, config=cfg)["ch1/dsp"]
    assert ak.parameters(dsp.scaled)["units"] == "ADC"
    assert ak.parameters(dsp.ratio)["units"] == "ADC/ADC"
    np.testing.assert_allclose(dsp.ratio.to_numpy(), 16.0)


def test_output_file_is_atomic_and_not_overwritten(raw_file, tmp_path):
    cfg = {"outputs": ["x", "timestamp"], "processors": {"x": "baseline * 2"}}
    out = tmp_path / "dsp.lh5"
    assert build_dsp(raw_file, out, config=cfg) == {"ch1/dsp": 6, "ch2/dsp": 6}
    from pygama_ak.lh5 import read

    table = read(out, "ch1/dsp")
    assert table.x.to_list() == [300] * 6
    assert ak.parameters(table.timestamp)["units"] == "s"  # copied through with its attributes
    with pytest.raises(FileExistsError):
        build_dsp(raw_file, out, config=cfg)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_chunks_and_blocks_do_not_change_results(raw_file):
    cfg = {"outputs": ["m"], "processors": {
        "m": {"function": "amax", "module": "numpy", "args": ["waveform[0:50]", 1, "m"], "kwargs": AMAX}}}
    whole = build_dsp(raw_file, config=cfg)
    pieces = build_dsp(raw_file, config=cfg, chunk_rows=4, block_rows=3)
    assert whole["ch1/dsp"].m.to_list() == pieces["ch1/dsp"].m.to_list()
    from pygama_ak.lh5.keep_open import held_tables

    assert held_tables() == 0  # the raw file is not left open


def test_identical_calls_are_computed_once(raw_file):
    cfg = {"outputs": ["a", "b", "c"], "processors": {
        "a": {"function": "amax", "module": "numpy", "args": ["waveform", 1, "a"], "kwargs": AMAX, "unit": "ADC"},
        "b": {"function": "amax", "module": "numpy", "args": ["waveform", 1, "b"], "kwargs": AMAX, "unit": "ADC"},
        "c": {"function": "amax", "module": "numpy", "args": ["waveform[1:]", 1, "c"], "kwargs": AMAX, "unit": "ADC"},
    }}
    chain = chain_for(cfg)
    assert len(chain.steps) == 2 and chain.vars["a"] is chain.vars["b"]
    dsp = build_dsp(raw_file, config=cfg)["ch1/dsp"]
    assert dsp.a.to_list() == dsp.b.to_list()
    assert ak.parameters(dsp.b)["units"] == "ADC"


def test_dsp_build_command(raw_file, tmp_path):
    import json

    from typer.testing import CliRunner

    from pygama_ak.cli.app import app

    config = tmp_path / "dsp.json"
    config.write_text(json.dumps({"outputs": ["x"], "processors": {
        "x": {"function": "baseline * db.k.f", "defaults": {"db.k.f": 2}}}}))
    db = tmp_path / "db.json"
    db.write_text(json.dumps({"ch2": {"k": {"f": 3}}}))
    out = tmp_path / "out_dsp.lh5"
    runner = CliRunner()
    result = runner.invoke(app, ["dsp", "build", str(raw_file), "--config", str(config), "--db", str(db),
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "2 tables, 12 rows" in result.output
    from pygama_ak.lh5 import read

    assert read(out, "ch2/dsp").x.to_list() == [450] * 6
    again = runner.invoke(app, ["dsp", "build", str(raw_file), "--config", str(config), "--out", str(out)])
    assert again.exit_code != 0 and "--overwrite" in again.output
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"outputs": ["x"], "processors": {"x": "open('f')"}}))
    result = runner.invoke(app, ["dsp", "build", str(raw_file), "--config", str(bad), "--out", str(tmp_path / "b.lh5")])
    assert result.exit_code != 0 and "unknown function 'open'" in result.output


@pytest.mark.parametrize(("rows", "chunk", "tail"), [(10, 3, 2), (1000, 1000, 4), (7, 1, 20), (0, 5, 4), (4001, 1000, 4)])
def test_taper_cuts_the_last_chunks_and_keeps_every_row_in_order(rows, chunk, tail):
    from pygama_ak.dsp.build_dsp import taper

    tasks = [("src", a, min(a + chunk, rows), "cfg") for a in range(0, max(rows, 1), chunk)]
    cut = taper(tasks, tail)
    starts_stops = [(t[1], t[2]) for t in cut]
    covered = [r for a, b in starts_stops for r in range(a, b)]
    assert covered == list(range(rows))
    assert all(t[0] == "src" and t[3] == "cfg" for t in cut)
    assert cut[: max(len(tasks) - tail, 0)] == tasks[: max(len(tasks) - tail, 0)]
    if rows and chunk >= 4:
        assert max(b - a for a, b in starts_stops[-tail:]) <= -(-chunk // 4)


@pytest.mark.parametrize("jobs", [1, 2])
def test_an_empty_table_is_skipped_with_a_warning(tmp_path, jobs):
    """A channel without events has no waveform period to build a chain from: its table is
    left out with a warning naming it, and the other tables are processed."""
    path = tmp_path / "raw.lh5"
    for ch, n in (("ch1", 0), ("ch2", 50)):
        values = np.random.default_rng(0).integers(0, 1000, (n, 100)).astype(np.uint16)
        wf = ak.zip({"t0": ak.with_parameter(np.zeros(n, np.float32), "units", "ns"),
                     "dt": ak.with_parameter(np.full(n, 16, np.float32), "units", "ns"),
                     "values": values}, depth_limit=1)
        write(ak.zip({"waveform": wf, "energy": np.arange(n, dtype=np.float64)}, depth_limit=1), path, f"{ch}/raw")
    cfg = {"outputs": ["m"], "processors": {
        "m": {"function": "amax", "module": "numpy", "args": ["waveform[0:50]", 1, "m"], "kwargs": AMAX}}}
    with pytest.warns(UserWarning, match="ch1/raw has no rows: no ch1/dsp table written"):
        counts = build_dsp(path, tmp_path / "dsp.lh5", config=cfg, jobs=jobs, chunk_rows=7)
    assert counts == {"ch2/dsp": 50}
    from pygama_ak.lh5 import read

    m = read(tmp_path / "dsp.lh5", "ch2/dsp").m.to_list()
    assert m == np.random.default_rng(0).integers(0, 1000, (50, 100)).astype(np.uint16)[:, :50].max(axis=1).tolist()
