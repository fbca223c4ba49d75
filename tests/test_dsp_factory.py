"""Nodes with ``init_args``: the factory is called once with parsed values, its result applied."""

from __future__ import annotations

import numpy as np
import pytest
from test_dsp_chain import chain_for, raw_table

import pygama_ak.dsp.processors as processors
from pygama_ak.dsp.errors import ChainError
from pygama_ak.dsp.factory import VariableInfo
from pygama_ak.dsp.units import Quantity

CALLS: list = []


def scaler(gain, f_cut, wave, mode="add", **extra):
    """A test factory: records what it was given, returns w_out = w_in * gain * (f_cut · dt)."""
    CALLS.append((gain, f_cut, wave, mode, extra))
    factor = gain * float(f_cut * wave.period)  # MHz · ns: dimensionless

    def apply(w_in, w_out):
        w_out[...] = w_in * factor

    apply.signature = "(n)->(n)"
    apply.types = ["f->f", "d->d"]
    apply.is_block_processor = True
    return apply


@pytest.fixture(autouse=True)
def fake_factory(monkeypatch):
    real = processors.lookup
    monkeypatch.setattr(processors, "lookup", lambda name: scaler if name == "scaler" else real(name))
    CALLS.clear()


def node(init_args, **extra):
    return {"outputs": ["wf_s"], "processors": {"wf_s": {
        "function": "scaler", "module": "dspeed.processors", "args": ["waveform", "wf_s"],
        "init_args": init_args, **extra}}}


def test_init_args_are_parsed_values_and_the_factory_result_runs():
    table = raw_table(n=4)
    chain = chain_for(node(["db.scale.gain", "50*MHz", "waveform", "mode='mul'", "ftype=butter"],
                           defaults={"db.scale.gain": 3}), table)
    (gain, f_cut, wave, mode, extra), = CALLS
    assert gain == 3
    assert f_cut == Quantity.of(50, "MHz")
    assert isinstance(wave, VariableInfo) and wave.name == "waveform" and len(wave) == 800
    assert wave.period == Quantity.of(16.0, "ns")
    assert mode == "mul" and extra == {"ftype": "butter"}  # dspeed 2.4.3 would drop both keywords
    storage = chain.allocate(4)
    values = np.asarray(table.waveform["values"].to_numpy(), dtype=np.float32)
    out = chain.run_block(storage, {"waveform": values, "waveform__t0": np.zeros(4)}, 4)
    np.testing.assert_allclose(out["wf_s"], values * 3 * 0.8, rtol=1e-6)


def test_database_value_reaches_the_factory():
    chain_for(node(["db.scale.gain", "50*MHz", "waveform"]), db={"scale": {"gain": 7}})
    assert CALLS[0][0] == 7


def test_factory_errors_name_the_processor():
    with pytest.raises(ChainError, match=r"processor 'wf_s'.*init_args of scaler"):
        chain_for(node([1, "50*MHz"]))  # no waveform: the factory raises TypeError
