"""Truncated and corrupt FCIO files: every complete record before the damage is kept, the
error names the file, the byte offset and the record type, and nothing hangs or crashes."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import deadline

from pygama_ak.lh5 import read
from pygama_ak.raw import (
    CorruptFileError,
    DAQFileError,
    TruncatedFileError,
    UnknownFormatError,
    build_raw,
    open_stream,
)
from pygama_ak.raw.fcio import encode as E

MAXT = 249_999_999


def decode(path):
    """(records decoded, FCEvent rows, error or None), without writing."""
    stream = open_stream(path)
    rows = 0
    try:
        for b in stream.batches():
            if b.decoder == "FCEventDecoder":
                rows += len(b.table)
    except DAQFileError as exc:
        return exc.records_done, rows, exc
    return sum(stream.stats.records.values()), rows, None


# a small stream with every record type: (bytes, traces in FCEvent, frames before which a cut
# leaves a record that still looks complete — only the Config: old files stop at 10 frames)
def synthetic_records():
    tm = [E.tracemap_entry(0x40, i) for i in range(3)]
    rng = np.random.default_rng(5)

    def wf(n):
        return rng.integers(0, 2**16, size=(n, 6), dtype=np.uint16)

    cards = [
        E.card_status(reqid=0, environment=range(13)),
        E.card_status(reqid=0x2000, environment=range(15), linkstates=[1, 2]),
    ]
    return [
        (E.config(adcs=3, eventsamples=4, tracemap=tm, streamid=0), 0),
        (E.sparse_event([0, 2], wf(2), timestamp=[0, 1, 10, MAXT]), 2),
        (E.event(wf(3), timestamp=[1, 1, 20, MAXT]), 3),
        # card blocks cut to 160 bytes (a shorter frame is valid): keeps the test quick
        (E.status(cards, statustime=[1, 0, 5, 0, 0, 0, 0, 0, 0, 0], size=160), 0),
        (E.event_header([1], np.array([[3, 4]]), timestamp=[2, 1, 30, MAXT]), 0),
        (E.sparse_event([1], wf(1), timestamp=[3, 1, 40, MAXT]), 1),
        (E.event(wf(3), timestamp=[4, 1, 50, MAXT]), 3),
    ]


def frame_ends(record: bytes) -> list[int]:
    """Offsets (within the record) where each of its frames ends."""
    pos, ends = 4, []
    while pos < len(record):
        pos += 4 + int.from_bytes(record[pos : pos + 4], "little")
        ends.append(pos)
    return ends


def test_cut_at_every_offset(tmp_path):
    """Cut a 7-record stream at every byte: the complete records are decoded and the first
    incomplete one is reported with its offset (a cut exactly between records is a valid
    shorter file). A Config cut after its 10th or 11th frame looks like an old-format Config
    (no tracemap, no streamid) and is taken as complete."""
    recs = synthetic_records()
    data = E.protocol_header() + b"".join(r for r, _ in recs)
    starts = np.cumsum([68] + [len(r) for r, _ in recs])
    path = tmp_path / "cut.fcio"
    with deadline(60):
        for cut in range(len(data) + 1):
            path.write_bytes(data[:cut])
            if cut == 0:
                with pytest.raises(UnknownFormatError):
                    decode(path)
                continue
            done, rows, exc = decode(path)
            k = int(np.searchsorted(starts, cut, side="right")) - 1  # record the cut falls in
            complete = k if cut > 68 or cut == 68 else 0
            if 0 <= k < len(recs) and cut > starts[k]:  # inside record k
                inside = cut - starts[k]
                old_format = [e for e in frame_ends(recs[0][0])[9:] if e <= inside < e + 4]
                if k == 0 and old_format:  # a complete 10- or 11-frame Config
                    complete = 1
                    if inside == old_format[0]:
                        assert exc is None, cut
                    else:  # and the cut first word of the next record (or frame)
                        assert isinstance(exc, TruncatedFileError), cut
                        assert exc.offset == starts[0] + old_format[0], cut
                else:
                    assert isinstance(exc, TruncatedFileError), cut
                    assert exc.offset == starts[k], cut
                    assert f"byte offset {starts[k]}" in str(exc) and str(path) in str(exc)
            elif cut < 68:
                assert isinstance(exc, TruncatedFileError) and exc.offset == 0, cut
                assert "protocol header" in str(exc)
            else:
                assert exc is None, (cut, exc)
            assert done == complete, cut
            assert rows == sum(n for _, n in recs[:complete]), cut


@pytest.mark.parametrize("where", ["tag", "frame header", "waveform", "status", "last frame"])
def test_truncated_real_file_written_then_raised(testdata_dir, tmp_path, where):
    """build_raw on a cut real file: the output holds every complete record, then the error."""
    data = (testdata_dir / "fcio" / "L200-comm-20211130-phy-spms.fcio").read_bytes()
    # record boundaries: an independent walk
    pos, starts, tags = 68, [], []
    while pos < len(data):
        v = int.from_bytes(data[pos : pos + 4], "little", signed=True)
        if v < 0:
            starts.append(pos)
            tags.append(-v)
            pos += 4
        else:
            pos += 4 + v
    k = {
        "tag": 20,
        "frame header": 21,
        "waveform": 30,
        "status": tags.index(4),
        "last frame": len(starts) - 1,
    }[where]
    start = starts[k]
    end = starts[k + 1] if k + 1 < len(starts) else len(data)
    cut = {
        "tag": start + 2,
        "frame header": start + 4 + 8 + 2,
        "waveform": start + 400,
        "status": start + 1000,
        "last frame": end - 1,
    }[where]
    path = tmp_path / "cut.fcio"
    path.write_bytes(data[:cut])
    out = tmp_path / "cut.lh5"
    with pytest.raises(TruncatedFileError) as info:
        build_raw(path, out, compression=None)
    exc = info.value
    name = {4: "Status", 6: "SparseEvent"}[tags[k]] if where != "tag" else "incomplete"
    assert exc.offset == start and name in str(exc) and str(path) in str(exc)
    events_before = sum(1 for t in tags[:k] if t == 6)
    assert exc.records_done == k  # the Config and the records before the cut one
    assert len(read(out, "FCEvent")) == 6 * events_before
    summary = build_raw(path, out, compression=None, overwrite=True, on_error="warn")
    assert summary.error == str(exc) and summary.tables[f"{out}:FCEvent"] == 6 * events_before


def test_corrupt_records(tmp_path):
    """Forbidden tags, impossible frame sizes and trace indices outside the Config are
    corruption: the records before are kept, the error names offset and record type."""
    recs = synthetic_records()
    head = E.protocol_header() + recs[0][0] + recs[1][0]
    off = len(head)

    def run(tail: bytes):
        path = tmp_path / "bad.fcio"
        path.write_bytes(head + tail)
        with deadline(10):
            return decode(path)

    done, rows, exc = run(np.int32(-2_000_000_000).tobytes() + recs[2][0])
    assert isinstance(exc, CorruptFileError) and exc.offset == off and "forbidden tag" in str(exc)
    assert (done, rows) == (2, 2)
    bad_size = bytearray(recs[2][0])
    bad_size[4:8] = np.int32(2**30).tobytes()  # a frame larger than any valid one
    done, rows, exc = run(bytes(bad_size))
    assert isinstance(exc, CorruptFileError) and exc.offset == off and "frame size" in str(exc)
    assert (done, rows) == (2, 2)
    bad_index = E.sparse_event([7], np.zeros((1, 6), np.uint16), timestamp=[0, 1, 0, MAXT])
    done, rows, exc = run(bad_index + recs[2][0])
    assert isinstance(exc, CorruptFileError) and exc.offset == off
    assert "SparseEvent" in str(exc) and "trace index" in str(exc)
    assert (done, rows) == (2, 2)
    short = E.event(np.zeros((2, 6), np.uint16), timestamp=[0, 1, 0, MAXT])  # 2 of 3 traces
    done, rows, exc = run(short)
    assert isinstance(exc, CorruptFileError) and "Event" in str(exc) and (done, rows) == (2, 2)


def test_not_fcio(tmp_path):
    """Other content is refused by content, not by file name."""
    path = tmp_path / "x.fcio"
    path.write_bytes(b"hello world, not a DAQ file" * 4)
    with pytest.raises(UnknownFormatError, match="x.fcio"):
        build_raw(path, tmp_path / "x.lh5")
    assert not (tmp_path / "x.lh5").exists()
