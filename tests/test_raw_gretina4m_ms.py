"""GRETINA4M multisampling (MJD firmware, ``FtCnt`` > 0): synthetic files whose record
tails the simulator presums as the firmware does (:func:`gretina4m_multisample`), decoded
and re-expanded (:mod:`pygama_ak.raw.orca.gretina4m`) and compared with the full-rate
waveforms they were made from.

Oracle: the stored samples come back bit for bit (``waveform_raw``, and the full-rate part
of ``waveform``); a stretch that is linear through the switch point (constant included)
comes back exactly when Mrpsdv = 0 and otherwise within the floor of the divider,
1.5·(div − 1)/ps adc; a smooth (exponential) tail within the stated interpolation bound;
the length is 2018 − FtCnt + ps·FtCnt; channels with FtCnt = 0 are decoded as before.
"""

from __future__ import annotations

import numpy as np
import pytest

from pygama_ak.daq import simulate_orca as S
from pygama_ak.raw import CorruptFileError, open_stream
from pygama_ak.raw.orca import gretina4m as G

PS = (2, 4, 8, 10)
DIV = (1, 2, 4, 8)
N = 2018


def batches(path) -> list:
    return [b for b in open_stream(path).batches() if not isinstance(b.table, str)]


def ramp_through_switch(settings):
    """Full-rate waveforms: a random constant, then from 40 samples before the switch
    point a line of random integer slope (0 included) to the end."""

    def make(rng, ch, n):
        ft, rate, _ = settings.get(ch, (0, 0, 0))
        n0 = N - ft
        a = int(rng.integers(-300, 300))
        b = int(rng.integers(-2, 3))
        t = np.arange(n)
        return a + b * np.clip(t - (n0 - 40), 0, None)

    return make


def check_rows(path, truth):
    """The decoded rows in the simulator's record order (matched by their unique 48-bit
    timestamps: records of one packet may land in different batches), keys checked."""
    got = {}
    for b in batches(path):
        for i, ts in enumerate(b.table.timestamp.to_numpy().tolist()):
            got[ts] = (b.table[i], int(b.keys[i]))
    assert len(got) == len(truth["timestamp"])
    assert [got[ts][1] for ts in truth["timestamp"]] == truth["key"]
    return [got[ts][0] for ts in truth["timestamp"]]


@pytest.mark.parametrize("mrpsrt", [0, 1, 2, 3])
def test_linear_tail_is_reexpanded_exactly(tmp_path, mrpsrt):
    """Channels 0–3 multisampled with Mrpsdv 0–3 (all 16 combinations over the
    parametrisation) and various FtCnt: stored samples exact, lengths by the formula, linear
    tails exact for div 1 and within 1.5·(div − 1)/ps otherwise."""
    ps = PS[mrpsrt]
    settings = {ch: (max(1, 300 // ps - 7 * ch), mrpsrt, ch) for ch in range(4)}
    settings[3] = (1, mrpsrt, 3)  # a single presum: extrapolated on both sides
    path = tmp_path / "ms.orca"
    truth = S.simulate_gretina4m_orca(
        path,
        6,
        records_per_packet=4,
        multisampling=settings,
        full_rate=ramp_through_switch(settings),
    )
    lengths = {}
    for b in batches(path):
        ch = int(b.table.channel[0])
        ft, _, _ = settings[ch]
        assert np.all(b.table.channel.to_numpy() == ch)  # one setting per channel here
        values = b.table.waveform["values"].to_numpy()
        assert (
            values.dtype == np.float32
            and b.table.waveform_raw["values"].to_numpy().dtype == np.int16
        )
        lengths[ch] = values.shape[1]
        assert values.shape[1] == N - ft + ps * ft == G.ms_length(ft, ps)
        assert np.all(b.table.waveform.dt.to_numpy() == 10.0)
    assert sorted(lengths) == [0, 1, 2, 3]
    rows = check_rows(path, truth)
    n_checked = 0
    for row, full, stored, ch in zip(rows, truth["full"], truth["values"], truth["channel"]):
        ft, _, dv = settings[ch]
        div = DIV[dv]
        raw = row.waveform_raw["values"].to_numpy()
        wf = row.waveform["values"].to_numpy()
        assert np.array_equal(raw, stored)
        assert np.array_equal(wf[: N - ft], full[: N - ft])  # the full-rate part, exact
        assert len(wf) == len(full)
        err = wf.astype(np.float64) - full
        if div == 1:
            assert np.max(np.abs(err)) < 1e-3
        else:
            assert np.max(np.abs(err)) <= (1.5 if ft > 1 else 2.0) * (div - 1) / ps + 1e-3
        n_checked += 1
    assert n_checked == 24


def test_smooth_tail_within_interpolation_bound(tmp_path):
    """A rounded exponential decay (τ = 200 samples, no noise) through the switch point:
    |error| ≤ 2·(0.5 + (div − 1)/ps) + ps²·max|f''| (rounding of the samples, the divider's
    floor, linear interpolation between and extrapolation past the block centres)."""
    settings = {0: (60, 3, 0), 1: (100, 1, 2), 2: (200, 0, 1), 3: (40, 2, 3)}
    tau, amp = 200.0, 1500.0

    def make(rng, ch, n):
        ft = settings[ch][0]
        t = np.arange(n) - (N - ft - 300)
        return np.rint(np.where(t < 0, 0.0, amp * np.exp(-np.clip(t, 0, None) / tau)))

    path = tmp_path / "ms.orca"
    truth = S.simulate_gretina4m_orca(path, 4, multisampling=settings, full_rate=make)
    rows = check_rows(path, truth)
    f2 = amp / tau**2
    for row, full, ch in zip(rows, truth["full"], truth["channel"]):
        ft, rate, dv = settings[ch]
        ps, div = PS[rate], DIV[dv]
        err = np.abs(row.waveform["values"].to_numpy() - full)
        assert err[: N - ft].max() == 0
        assert err.max() <= 2 * (0.5 + (div - 1) / ps) + ps**2 * f2


def test_plain_and_multisampled_channels_in_one_file(tmp_path):
    """FtCnt 0 on channels 0 and 3: their rows are the int16 2018-sample table as before
    (no ``waveform_raw``); channels 1 and 2 are re-expanded, in their own batches."""
    settings = {1: (50, 3, 0), 2: (120, 1, 1)}
    path = tmp_path / "mixed.orca"
    truth = S.simulate_gretina4m_orca(path, 10, records_per_packet=3, multisampling=settings)
    seen = set()
    for b in batches(path):
        chans = set(b.table.channel.to_numpy().tolist())
        if chans <= {0, 3}:
            assert b.table.fields == [
                "packet_id",
                "energy",
                "timestamp",
                "crate",
                "card",
                "channel",
                "board_id",
                "waveform",
            ]
            assert b.table.waveform["values"].to_numpy().shape[1] == N
            assert b.table.waveform["values"].to_numpy().dtype == np.int16
        else:
            assert len(chans) == 1 and "waveform_raw" in b.table.fields
        seen |= chans
    assert seen == {0, 1, 2, 3}
    rows = check_rows(path, truth)
    for row, full, stored, ch, e, ts in zip(
        rows, truth["full"], truth["values"], truth["channel"], truth["energy"], truth["timestamp"]
    ):
        assert int(row.energy) == e and int(row.timestamp) == ts
        if ch in (0, 3):
            assert np.array_equal(row.waveform["values"].to_numpy(), stored)
            assert np.array_equal(stored, full)
        else:
            assert np.array_equal(row.waveform_raw["values"].to_numpy(), stored)
            ft = settings[ch][0]
            assert np.array_equal(row.waveform["values"].to_numpy()[: N - ft], full[: N - ft])


def test_multisampled_rows_write_to_lh5(tmp_path):
    """build_raw writes the float32 re-expanded and the int16 raw waveforms per channel."""
    from pygama_ak.lh5 import read
    from pygama_ak.raw import build_raw

    settings = {1: (50, 3, 0)}
    path = tmp_path / "ms.orca"
    truth = S.simulate_gretina4m_orca(path, 4, multisampling=settings)
    out = tmp_path / "ms.lh5"
    build_raw(path, out, compression=None)
    import h5py

    with h5py.File(out) as f:
        names = list(f)
    key = S.ccc(2, 9, 1)
    name = next(n for n in names if n.endswith(str(key)))
    t = read(out, name)
    n1 = truth["channel"].count(1)
    assert len(t) == n1 > 0
    assert np.asarray(t.waveform["values"]).shape == (n1, G.ms_length(50, 10))


def _set_header_integer(path, field: bytes, new: int):
    """Change the first value of ``field``'s array in the XML header (same byte length)."""
    data = bytearray(path.read_bytes())
    at = data.index(b"<key>" + field + b"</key>")
    i = data.index(b"<integer>", at) + len(b"<integer>")
    j = data.index(b"</integer>", i)
    old = bytes(data[i:j])
    assert len(str(new)) == len(old), (old, new)
    data[i:j] = str(new).encode()
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    ("field", "value"), [(b"FtCnt", 2018), (b"FtCnt", -100), (b"Mrpsrt", 7), (b"Mrpsdv", 9)]
)
def test_bad_multisampling_setting_names_file_and_field(tmp_path, field, value):
    """FtCnt beyond the record (or negative), or a rate/divider index out of range, on a
    channel that has records: CorruptFileError naming the file, card, channel and field."""
    settings = {0: (1000, 1, 1)}
    path = tmp_path / "bad.orca"
    truth = S.simulate_gretina4m_orca(path, 10, multisampling=settings)
    assert 0 in truth["channel"]
    _set_header_integer(path, field, value)
    with pytest.raises(CorruptFileError) as info:
        batches(path)
    msg = str(info.value)
    assert (
        str(path) in msg and f"(field: {field.decode()})" in msg and f"{field.decode()}[0]" in msg
    )


def test_presum_encoder_is_the_firmware_floor():
    """The simulator's encoder: a right shift (floor, also for negative sums), 16-bit wrap."""
    full = np.concatenate([np.zeros(N - 2, np.int64), [-3, -4, 5, 6]])
    got = S.gretina4m_multisample(full, 2, 0, 2)  # ps 2, div 4
    assert got[-2:].tolist() == [-2, 2]  # floor(-7/4) = -2, floor(11/4) = 2
    big = np.concatenate([np.zeros(N - 1, np.int64), [20000, 20000]])
    assert S.gretina4m_multisample(big, 1, 0, 0)[-1] == 40000 - 65536
    with pytest.raises(ValueError):
        S.gretina4m_multisample(np.zeros(N), 3, 0, 0)
