"""``resync`` for native FlashCam FCIO files: garbage between records or inside one record is
skipped to the next 3 valid records; every other record decodes as in the undamaged file and
the summary reports exactly the skipped bytes. Without ``resync`` the damage is an error."""

from __future__ import annotations

import struct
from pathlib import Path

import awkward as ak
import numpy as np
import pytest

from pygama_ak.daq.simulate import simulate_fcio
from pygama_ak.raw import build_raw, open_stream
from pygama_ak.raw.errors import CorruptFileError, DAQFileError, TruncatedFileError
from pygama_ak.raw.fcio import records as R

REAL_FILES = ["th228", "L200-comm-20211130-phy-spms", "l200-p06-r007-cal-20230725T202227Z"]
GARBAGE_LENGTHS = [1, 3, 4, 17, 4096]
SKIP_KEY, RESYNC_KEY = "bytes skipped by resync", "resyncs"


# ----------------------------------------------------------------------------- helpers
def record_offsets(data: bytes) -> list[tuple[int, int]]:
    """(tag, byte offset) of every record after the protocol header (independent tmio walk)."""
    pos, out = 68, []
    while pos + 4 <= len(data):
        v = int.from_bytes(data[pos : pos + 4], "little", signed=True)
        if v < 0:
            out.append((-v, pos))
            pos += 4
            continue
        pos += 4 + v
    return out


def frame_offsets(data: bytes, rec: int) -> list[int]:
    """Byte offsets of the frame-size words of the record at ``rec``."""
    pos, out = rec + 4, []
    while pos + 4 <= len(data):
        v = int.from_bytes(data[pos : pos + 4], "little", signed=True)
        if v < 0:
            break
        out.append(pos)
        pos += 4 + v
    return out


def decode(path: Path, **kw) -> tuple[dict, DAQFileError | None, object]:
    """All batches per decoder (concatenated), the error raised (or None) and the stream."""
    parts: dict = {}
    stream = open_stream(path, **kw)
    exc = None
    try:
        for b in stream.batches():
            parts.setdefault(b.decoder, []).append(b.table)
    except DAQFileError as err:
        exc = err
    return {k: ak.concatenate(v) for k, v in parts.items()}, exc, stream


def without_packet_id(table: ak.Array) -> ak.Array:
    return table[[f for f in table.fields if f != "packet_id"]]


def assert_same_rows(got: ak.Array, want: ak.Array) -> None:
    """Every field except packet_id (records after a skipped one are renumbered) is equal."""
    assert len(got) == len(want)
    assert ak.to_list(without_packet_id(got)) == ak.to_list(without_packet_id(want))


def drop_packet(tables: dict, pid: int) -> dict:
    """The tables without the rows of packet ``pid``."""
    return {k: v[v.packet_id != pid] for k, v in tables.items()}


def packet_id_of(records: list[tuple[int, int]], index: int) -> int:
    """packet_id the stream gives record ``index``: records after the first Config, FSP
    records not counted (files here start with the Config, or FSPConfig + Config)."""
    first = next(i for i, (tag, _) in enumerate(records) if tag == R.CONFIG)
    return sum(1 for tag, _ in records[first + 1 : index + 1] if tag not in R.FSP_TAGS)


def garbage(kind: str, length: int, seed: int) -> bytes:
    """``random`` bytes, or bytes that look like record/frame headers: an Event tag word and
    an impossible frame size, repeated."""
    if kind == "random":
        return np.random.default_rng(seed).integers(0, 256, length, dtype=np.uint8).tobytes()
    pattern = struct.pack("<ii", -R.EVENT, 1 << 30)
    return (pattern * (length // len(pattern) + 1))[:length]


@pytest.fixture(scope="module", params=[False, True], ids=["plain", "fsp"])
def simulated(request, tmp_path_factory) -> tuple[Path, bytes, dict]:
    """A simulated FCIO file (with FSP records or not), its bytes and its undamaged tables."""
    path = tmp_path_factory.mktemp("fcio") / "sim.fcio"
    simulate_fcio(path, 60, n_channels=4, n_samples=300, seed=3, fsp=request.param)
    tables, exc, _ = decode(path)
    assert exc is None
    return path, path.read_bytes(), tables


def insert_before(data: bytes, records: list, index: int, junk: bytes) -> tuple[bytes, int]:
    at = records[index][1]
    return data[:at] + junk + data[at:], at


# ----------------------------------------------------------------------------- garbage
@pytest.mark.parametrize("kind", ["random", "header-like"])
@pytest.mark.parametrize("length", GARBAGE_LENGTHS)
def test_garbage_between_records(simulated, tmp_path, kind, length):
    """Garbage before a record: resync skips exactly it, every record is kept with the values
    of the undamaged file; without resync the file is an error naming the offset."""
    path, data, good = simulated
    records = record_offsets(data)
    bad, at = insert_before(data, records, 25, garbage(kind, length, seed=length))
    damaged = tmp_path / "bad.fcio"
    damaged.write_bytes(bad)

    tables, exc, stream = decode(damaged, resync=True)
    assert exc is None
    assert set(tables) == set(good)
    for name in good:
        assert_same_rows(tables[name], good[name])
    assert stream.stats.skipped[SKIP_KEY] == length
    assert stream.stats.skipped[RESYNC_KEY] == 1
    resync_warnings = [w for w in stream.stats.warnings if "corrupt data at byte" in w]
    assert len(resync_warnings) == 1 and f"offsets {at}..{at + length} " in resync_warnings[0]
    assert str(damaged) in resync_warnings[0]

    summary = build_raw(damaged, tmp_path / "bad.lh5", resync=True, compression=None)
    assert summary.error is None
    assert summary.skipped[SKIP_KEY] == length and summary.skipped[RESYNC_KEY] == 1
    assert summary.bytes_read == len(bad)

    # without resync the unchanged tmio framing (any tag up to 10⁹, frames up to 157 MB)
    # may read random garbage as frames and fail later (often truncated at the end)
    with pytest.raises(DAQFileError) as info:
        build_raw(damaged, tmp_path / "strict.lh5", compression=None)
    if kind == "header-like" and length >= 8:  # an Event tag, then a 1 GiB frame
        assert isinstance(info.value, CorruptFileError) and info.value.offset == at


def test_several_resyncs(simulated, tmp_path):
    """Three damaged places: three resyncs, the skipped bytes add up."""
    _, data, good = simulated
    records = record_offsets(data)
    bad = data
    for index, length in ((40, 17), (20, 4096), (5, 3)):  # back to front: offsets stay valid
        bad, _ = insert_before(bad, records, index, garbage("random", length, seed=index))
    damaged = tmp_path / "bad.fcio"
    damaged.write_bytes(bad)
    tables, exc, stream = decode(damaged, resync=True, chunk_bytes=1 << 12)
    assert exc is None
    for name in good:
        assert_same_rows(tables[name], good[name])
    assert stream.stats.skipped[SKIP_KEY] == 17 + 4096 + 3
    assert stream.stats.skipped[RESYNC_KEY] == 3


@pytest.mark.parametrize("chunk_bytes", [1 << 12, 1 << 22])
def test_overwritten_record(simulated, tmp_path, chunk_bytes):
    """Random bytes over the frame headers in the middle of one event record: that record
    is skipped (its bytes reported), every other one is kept, across chunk boundaries."""
    _, data, good = simulated
    records = record_offsets(data)
    index = next(i for i in range(30, len(records)) if records[i][0] == R.SPARSE_EVENT)
    start, end = records[index][1], records[index + 1][1]
    frames = frame_offsets(data, start)
    junk = garbage("random", 24, seed=7)
    bad = bytearray(data)
    bad[frames[3] : frames[3] + len(junk)] = junk
    damaged = tmp_path / "bad.fcio"
    damaged.write_bytes(bytes(bad))

    tables, exc, stream = decode(damaged, resync=True, chunk_bytes=chunk_bytes)
    assert exc is None
    want = drop_packet(good, packet_id_of(records, index))  # its FSPEvent row too
    assert len(want["FCEventDecoder"]) < len(good["FCEventDecoder"])
    assert set(tables) == set(want)
    for name in want:
        assert_same_rows(tables[name], want[name])
    assert stream.stats.skipped[SKIP_KEY] == end - start
    assert stream.stats.skipped[RESYNC_KEY] == 1

    _, exc, _ = decode(damaged)
    assert isinstance(exc, DAQFileError) and str(start) in str(exc)


def test_bad_trace_index_is_skipped(simulated, tmp_path):
    """Valid framing but a trace index outside the Config (content corruption): with resync
    the record is skipped like a framing error; without, CorruptFileError at its offset."""
    _, data, good = simulated
    records = record_offsets(data)
    index = next(i for i in range(30, len(records)) if records[i][0] == R.SPARSE_EVENT)
    start, end = records[index][1], records[index + 1][1]
    trace_list = frame_offsets(data, start)[6] + 4  # the u16 trace indices
    bad = bytearray(data)
    bad[trace_list : trace_list + 2] = b"\xff\x7f"
    damaged = tmp_path / "bad.fcio"
    damaged.write_bytes(bytes(bad))

    tables, exc, stream = decode(damaged, resync=True)
    assert exc is None
    want = drop_packet(good, packet_id_of(records, index))  # its FSPEvent row too
    assert set(tables) == set(want)
    for name in want:
        assert_same_rows(tables[name], want[name])
    assert stream.stats.skipped[SKIP_KEY] == end - start
    assert stream.stats.skipped[RESYNC_KEY] == 1

    _, exc, _ = decode(damaged)
    assert isinstance(exc, CorruptFileError) and exc.offset == start
    assert exc.record == "SparseEvent"


def test_frame_size_overrunning_the_end(simulated, tmp_path):
    """A frame size inside the limits that runs past the end of the file, with valid records
    after it: corruption (the record is skipped), not truncation; without resync the file
    looks cut at that record."""
    _, data, good = simulated
    records = record_offsets(data)
    index = len(records) - 8
    while records[index][0] != R.SPARSE_EVENT:
        index += 1
    start, end = records[index][1], records[index + 1][1]
    last_frame = frame_offsets(data, start)[-1]
    bad = bytearray(data)
    bad[last_frame : last_frame + 4] = struct.pack("<i", len(data) - last_frame)
    damaged = tmp_path / "bad.fcio"
    damaged.write_bytes(bytes(bad))

    tables, exc, stream = decode(damaged, resync=True)
    assert exc is None
    want = drop_packet(good, packet_id_of(records, index))
    for name in want:
        assert_same_rows(tables[name], want[name])
    assert stream.stats.skipped[SKIP_KEY] == end - start
    assert stream.stats.skipped[RESYNC_KEY] == 1

    _, exc, _ = decode(damaged)
    assert isinstance(exc, TruncatedFileError)


# ----------------------------------------------------------------------------- edges
def test_corrupt_config_cannot_be_resynced(simulated, tmp_path):
    """A corrupt first Config: a clear CorruptFileError even with resync."""
    _, data, _ = simulated
    records = record_offsets(data)
    config = next(off for tag, off in records if tag == R.CONFIG)
    bad = bytearray(data)
    bad[config + 4 : config + 8] = struct.pack("<i", 0x7FFFFFFF)
    damaged = tmp_path / "bad.fcio"
    damaged.write_bytes(bytes(bad))
    _, exc, _ = decode(damaged, resync=True)
    assert isinstance(exc, CorruptFileError) and exc.offset == config
    assert "before the first Config" in str(exc) and "frame size" in str(exc)


def test_truncated_end_stays_truncated(simulated, tmp_path):
    """resync is for corruption in the middle: a file cut inside its last record still
    raises TruncatedFileError, after every complete record."""
    _, data, _ = simulated
    records = record_offsets(data)
    cut = records[-1][1] + 30
    damaged = tmp_path / "cut.fcio"
    damaged.write_bytes(data[:cut])
    _, exc, stream = decode(damaged, resync=True)
    cut_record = records[-2] if records[-2][0] in R.FSP_TAGS else records[-1]  # FSP + record
    assert isinstance(exc, TruncatedFileError) and exc.offset == cut_record[1]
    assert stream.stats.skipped[SKIP_KEY] == 0


def test_garbage_at_the_end(simulated, tmp_path):
    """Garbage after the last record: skipped to the end of the file (no resync point)."""
    _, data, good = simulated
    damaged = tmp_path / "tail.fcio"
    damaged.write_bytes(data + b"\xff" * 37)
    tables, exc, stream = decode(damaged, resync=True)
    assert exc is None
    assert_same_rows(tables["FCEventDecoder"], good["FCEventDecoder"])
    assert stream.stats.skipped[SKIP_KEY] == 37 and stream.stats.skipped[RESYNC_KEY] == 0


# ----------------------------------------------------------------------------- real files
@pytest.mark.parametrize("name", REAL_FILES)
def test_real_file_garbage(testdata_dir, tmp_path, name):
    """The real FCIO files with 4096 random bytes before the record at 2/3 of the file and 17
    before the one at 1/3 (one place for a file of 3 records): every record kept, the values
    of the undamaged decode, one resync per place."""
    path = testdata_dir / "fcio" / f"{name}.fcio"
    data = path.read_bytes()
    good, good_exc, _ = decode(path)
    records = record_offsets(data)
    places = sorted({max(2, len(records) // 3), max(2, 2 * len(records) // 3)}, reverse=True)
    lengths = [4096, 17][: len(places)]
    bad = data
    for index, length in zip(places, lengths):  # back to front: offsets stay valid
        bad, _ = insert_before(bad, records, index, garbage("random", length, seed=index))
    damaged = tmp_path / f"{name}.fcio"
    damaged.write_bytes(bad)
    tables, exc, stream = decode(damaged, resync=True)
    assert type(exc) is type(good_exc)  # th228 is cut at the end: still truncated
    assert set(tables) == set(good)
    for decoder in good:
        assert_same_rows(tables[decoder], good[decoder])
    assert stream.stats.skipped[SKIP_KEY] == sum(lengths)
    assert stream.stats.skipped[RESYNC_KEY] == len(places)


# ----------------------------------------------------------------------------- CLI
def test_cli_resync_flag(simulated, tmp_path):
    """``pygama-ak raw build --resync`` on an FCIO file: decodes past the garbage and
    reports the skipped bytes; without it the file is an error."""
    import typer
    from typer.testing import CliRunner

    from pygama_ak.cli.raw import app as raw_app

    root = typer.Typer()
    root.add_typer(raw_app, name="raw")

    @root.command()
    def other() -> None:  # a second command keeps "raw" a sub-command
        pass

    _, data, good = simulated
    records = record_offsets(data)
    bad, _ = insert_before(data, records, 25, garbage("header-like", 17, seed=0))
    path = tmp_path / "bad.fcio"
    path.write_bytes(bad)
    runner = CliRunner()
    out = tmp_path / "bad.lh5"
    res = runner.invoke(root, ["raw", "build", str(path), "-o", str(out), "--resync"])
    assert res.exit_code == 0, res.output
    assert SKIP_KEY in res.output and "17" in res.output
    res = runner.invoke(root, ["raw", "build", str(path), "-o", str(out), "--overwrite"])
    assert res.exit_code == 1 and "corrupt" in res.output
