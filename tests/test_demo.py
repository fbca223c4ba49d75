"""The README's demo runs end to end on its embedded default and its numbers make sense."""

from __future__ import annotations

import awkward as ak
import numpy as np

from pygama_ak import demo
from pygama_ak.lh5 import read


def test_demo_end_to_end(tmp_path, capsys):
    assert demo.main([str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "by multiplicity" in out
    assert "second run" in out and "up to date 2" in out  # the rerun skips every output
    tier = tmp_path / "gen" / "tier"
    evt = read(sorted((tier / "evt").glob("*.lh5")), "evt")
    hit = read(tier / "hit" / "th228-c0-tier_hit.lh5", "ch1600/hit")
    assert ak.parameters(hit.energy)["units"] == "keV"
    # the calibrated single-detector spectrum shows the 208Tl line where it belongs
    single = ak.to_numpy(evt.energy_sum)[ak.to_numpy(evt.multiplicity) == 1]
    near = single[np.abs(single - 2614.5) < 10]
    assert len(near) >= 5 and abs(np.median(near) - 2614.5) < 3
    # every event's multiplicity equals the number of gathered energies
    assert ak.to_list(ak.num(evt.energy)) == ak.to_list(evt.multiplicity)
    assert (tmp_path / "ch1600-raw.parquet").exists()
    import polars as pl

    selected = pl.read_parquet(tmp_path / "tl208-hits.parquet")
    assert len(selected) >= 5 and (abs(selected["hit.energy"] - 2614.5) < 5).all()
