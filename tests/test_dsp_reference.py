"""build_dsp equals dspeed 2.4.3 on every reference file (``$PYGAMA_AK_REFERENCE/dsp``).

Floats: relative 1e-5, plus an absolute 1e-5 of the column's largest value for values near zero
(e.g. ``bl_mean`` of a baseline-subtracted waveform is ~0 and its last float32 bit is not
relative to itself); NaN in exactly the same rows. Integers and vector lengths exactly.
Columns that differ more are listed in ``EXPLAINED`` with the reason.
"""

from __future__ import annotations

import awkward as ak
import numpy as np
import pytest

from pygama_ak.dsp.build_dsp import build_dsp
from pygama_ak.lh5 import read

P03 = "lh5/prod-ref-l200/generated/tier/raw/cal/p03/r001"
CHDB = {"pz": {"tau": "400*us"}, "etrap": {"rise": "8*us", "flat": "2.016*us"}}
RUNS = ["20230318T012144Z", "20230318T012228Z"]
CASES = [
    *[(f"{P03}/l200-p03-r001-cal-{r}-tier_raw.lh5", f"l200-p03-r001-cal-{r}-icpc_dsp.lh5", "dsp-icpc.json",
       {"pz": {"tau": 27460.5}}) for r in RUNS],
    *[(f"{P03}/l200-p03-r001-cal-{r}-tier_raw.lh5", f"l200-p03-r001-cal-{r}-icpc-chdb_dsp.lh5", "dsp-icpc.json",
       dict.fromkeys(["ch1084803", "ch1084804", "ch1121600"], CHDB)) for r in RUNS],
    ("lh5/LDQTA_r117_20200110T105115Z_cal_geds_raw.lh5", "LDQTA_r117_20200110T105115Z_cal_geds-icpc_dsp.lh5",
     "dsp-icpc.json", None),
    ("lh5/L200-comm-20211130-phy-spms.lh5", "L200-comm-20211130-phy-spms-sipm_dsp.lh5", "dsp-sipm.json", None),
]
# column -> (relative tolerance, why)
_FFT = ("the CUSP/ZAC 'valid' convolutions use a circular FFT of the input's length (6144) instead "
        "of scipy's n+m-1 (12000): the same sums rounded differently in float32, measured up to "
        "3e-5 relative on small values (a pile-up row's zacEftp of 7.7 ADC) and <= 4e-7 elsewhere")
EXPLAINED: dict[str, tuple[float, str]] = {c: (5e-5, _FFT) for c in ("cuspEmax", "cuspEftp", "zacEmax", "zacEftp")}


def _tables(path) -> list[str]:
    import h5py

    with h5py.File(path, "r") as f:
        return [f"{k}/dsp" for k in f if "dsp" in f[k]]


def assert_column_equal(ours: ak.Array, ref: ak.Array, where: str) -> None:
    if ref.ndim == 2:  # vector outputs: same lengths, same values
        np.testing.assert_array_equal(ak.num(ours), ak.num(ref), err_msg=f"{where}: vector lengths")
        ours, ref = ak.flatten(ours), ak.flatten(ref)
    a, b = ak.to_numpy(ours), ak.to_numpy(ref)
    assert a.dtype == b.dtype, f"{where}: dtype {a.dtype} != {b.dtype}"
    if b.dtype.kind != "f":
        np.testing.assert_array_equal(a, b, err_msg=where)
        return
    np.testing.assert_array_equal(np.isnan(a), np.isnan(b), err_msg=f"{where}: NaN rows")
    ok = ~np.isnan(b)
    name = where.rsplit(".", 1)[-1]
    rtol = EXPLAINED.get(name, (1e-5, ""))[0]
    scale = float(np.max(np.abs(b[ok]))) if ok.any() else 0.0
    np.testing.assert_allclose(a[ok], b[ok], rtol=rtol, atol=1e-5 * scale, err_msg=where)


@pytest.mark.parametrize(("raw", "ref", "config", "database"), CASES, ids=[c[1] for c in CASES])
def test_dsp_equals_dspeed(testdata_dir, reference_dir, raw, ref, config, database):
    ref_path = reference_dir / "dsp" / ref
    out = build_dsp(testdata_dir / raw, config=reference_dir / "configs" / config, database=database)
    tables = _tables(ref_path)
    assert sorted(out) == sorted(tables)
    for table in tables:
        expected = read(ref_path, table)
        ours = out[table]
        assert sorted(ours.fields) == sorted(expected.fields), table
        for field in expected.fields:
            assert ak.parameters(ours[field]).get("units") == ak.parameters(expected[field]).get("units"), \
                f"{table}.{field}: units"
            assert_column_equal(ours[field], expected[field], f"{ref}:{table}.{field}")


def test_two_processes_write_the_same_file_as_one(testdata_dir, reference_dir, tmp_path):
    """--jobs 2 (this process and a forked worker sharing 4-row chunks) equals dspeed too."""
    raw, ref, config, database = CASES[0]
    ref_path = reference_dir / "dsp" / ref
    out = tmp_path / "two.lh5"
    build_dsp(testdata_dir / raw, out, config=reference_dir / "configs" / config, database=database,
              jobs=2, chunk_rows=4)
    for table in _tables(ref_path):
        expected, ours = read(ref_path, table), read(out, table)
        assert len(ours) == len(expected), table
        for field in expected.fields:
            assert_column_equal(ours[field], expected[field], f"jobs=2 {table}.{field}")
