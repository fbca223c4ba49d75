"""ORCA → raw LH5: the two real ORCA files (FlashCam packets; ORCA-wrapped FCIO) against
legend-daq2lh5 1.7.1's outputs, truncation at many offsets, corruption and ``resync``.

Packet boundaries are found by the small independent walk below, not by pygama_ak. Where
daq2lh5 writes a wrong value (daq.md §8 Q5: ``waveform.dt`` always 16 ns), the test asserts
the true value and says why.
"""

from __future__ import annotations

from pathlib import Path

import awkward as ak
import h5py
import numpy as np
import pytest
from helpers import datasets, deadline

from pygama_ak.lh5 import read
from pygama_ak.raw import (
    CorruptFileError,
    DAQFileError,
    TruncatedFileError,
    build_raw,
    detect_format,
    open_stream,
)

FILES = {
    "geds": "orca/fc/L200-comm-20220519-phy-geds.orca",
    "p14": "orca/fcio/l200-p14-r004-cal-20250606T010224Z.orca",
}


# ----------------------------------------------------------------------------- helpers
def packets(data: bytes) -> list[tuple[int, int, int]]:
    """(byte offset, length in bytes, data id) of every packet: an independent walk."""
    out, pos = [], 0
    while pos + 4 <= len(data):
        w0 = int.from_bytes(data[pos : pos + 4], "little")
        if w0 >> 31:
            n, did = 1, w0 >> 26
        else:
            n, did = w0 & 0x3FFFF, w0 >> 18
            if n == 0:
                n = int.from_bytes(data[pos + 4 : pos + 8], "little")
        out.append((pos, 4 * n, did))
        pos += 4 * n
    return out


def attr(obj, key):
    v = obj.attrs.get(key)
    return v.decode() if isinstance(v, bytes) else v


def decode(path, **kw) -> tuple[dict, DAQFileError | None, object]:
    """Rows per decoder (header: 1), the error (or None) and the stream, without writing."""
    stream = open_stream(path, **kw)
    rows: dict = {}
    try:
        with deadline(30):
            for b in stream.batches():
                n = 1 if isinstance(b.table, str) else len(b.table)
                rows[b.decoder] = rows.get(b.decoder, 0) + n
    except DAQFileError as exc:
        return rows, exc, stream
    return rows, None, stream


@pytest.fixture(scope="module")
def converted(testdata_dir, tmp_path_factory):
    """Each real ORCA file converted once with the default routing (gzip, like daq2lh5)."""
    folder = tmp_path_factory.mktemp("orca")
    out = {}
    for name, rel in FILES.items():
        out[name] = folder / f"{name}.lh5"
        build_raw(testdata_dir / rel, out[name])
    return out


# ----------------------------------------------------------------------------- real files
@pytest.mark.parametrize("name", FILES)
def test_detected_as_orca(name, testdata_dir):
    assert detect_format(testdata_dir / FILES[name]).name == "ORCA"


@pytest.mark.parametrize("name", FILES)
def test_tables_fields_dtypes_units(name, converted, reference_dir):
    """Same tables (incl. daq2lh5's key-list names like ``ORFCIOEvent_0``), fields, dtypes,
    datatype and units attributes as daq2lh5's default routing."""
    ref_path = reference_dir / "raw" / f"{Path(FILES[name]).name}.lh5"
    with h5py.File(ref_path) as ref, h5py.File(converted[name]) as ours:
        assert set(ours) == set(ref)
        for table in ref:
            assert attr(ours[table], "datatype") == attr(ref[table], "datatype"), table
            if isinstance(ref[table], h5py.Dataset):
                continue
            r, o = datasets(ref[table]), datasets(ours[table])
            assert set(o) == set(r), table
            for path, robj in r.items():
                where = f"{table}/{path}"
                assert attr(o[path], "datatype") == attr(robj, "datatype"), where
                assert attr(o[path], "units") == attr(robj, "units"), where
                if isinstance(robj, h5py.Dataset):
                    assert o[path].dtype == robj.dtype, where
                    assert o[path].compression == "gzip", where


@pytest.mark.parametrize("name", FILES)
def test_every_value_equals_daq2lh5(name, converted, reference_dir):
    """Every dataset (header JSON string, run records, listener config, every waveform field,
    ORCA-wrapped FCIO config and events) is bit-identical to daq2lh5's. Both files hold only
    16-bit (62.5 MHz) listeners with events, where daq2lh5's fixed 16 ns ``dt`` (Q5) is right."""
    ref_path = reference_dir / "raw" / f"{Path(FILES[name]).name}.lh5"
    with h5py.File(ref_path) as ref, h5py.File(converted[name]) as ours:
        n = 0
        for path, robj in datasets(ref).items():
            if isinstance(robj, h5py.Dataset):
                o, r = ours[path][()], robj[()]
                assert np.shape(o) == np.shape(r) and np.array_equal(o, r), path
                n += 1
        assert n > 20


def test_packet_ids_are_file_indices(converted, testdata_dir):
    """packet_id = index of the packet in the file (header = 0), from the independent walk."""
    data = (testdata_dir / FILES["geds"]).read_bytes()
    ids = [i for i, (_, _, did) in enumerate(packets(data)) if did == 3]  # ADC waveforms
    assert read(converted["geds"], "ORFlashCamADCWaveform/packet_id").to_numpy().tolist() == ids


def test_dt_is_the_true_sampling_period(testdata_dir, tmp_path):
    """Q5: daq2lh5 writes dt = 16 ns whatever the firmware. A listener config saying 12 ADC
    bits (250 MHz firmware) must give 4 ns: patch the geds file's config packet."""
    data = bytearray((testdata_dir / FILES["geds"]).read_bytes())
    config = next(off for off, _, did in packets(bytes(data)) if did == 4)
    assert int.from_bytes(data[config + 24 : config + 28], "little") == 16  # w6: adcbits
    data[config + 24 : config + 28] = (12).to_bytes(4, "little")
    path = tmp_path / "adc12.orca"
    path.write_bytes(bytes(data))
    out = tmp_path / "adc12.lh5"
    build_raw(path, out, compression=None)
    assert read(out, "ORFlashCamListenerConfig/adcbits").to_numpy().tolist() == [12]
    dt = read(out, "ORFlashCamADCWaveform/waveform/dt").to_numpy()
    assert len(dt) == 67 and np.all(dt == 4.0)


def test_small_chunks_give_identical_tables(testdata_dir):
    """Packets spanning chunk boundaries (and a buffer grown for a long packet) decode the
    same as with the default chunk size."""
    for rel in FILES.values():
        full, small = {}, {}
        for parts, kw in ((full, {}), (small, {"chunk_bytes": 4096, "out_bytes": 50_000})):
            for b in open_stream(testdata_dir / rel, **kw).batches():
                if not isinstance(b.table, str):
                    parts.setdefault(b.decoder, []).append(b.table)
        assert set(full) == set(small)
        for dec in full:
            a, b = ak.concatenate(full[dec]), ak.concatenate(small[dec])
            assert ak.to_list(a) == ak.to_list(b), dec


# ----------------------------------------------------------------------------- truncation
def _cuts(data: bytes) -> list[int]:
    """Offsets: inside the header, at and around every kind of packet boundary, mid-packet."""
    pk = packets(data)
    hdr = pk[0][1]
    cuts = {0, 3, 4, 7, 8, 100, hdr // 2, hdr - 1}
    for off, size, _ in pk[1:8] + pk[-3:]:
        cuts |= {off, off + 1, off + 4, off + 6, off + 8, off + size // 2, off + size - 1}
    return sorted(c for c in cuts if c < len(data))


@pytest.mark.parametrize("name", FILES)
def test_cut_at_many_offsets(name, testdata_dir, tmp_path):
    """Cut the file at many offsets (mid-header, mid-word, mid-packet): never a crash or a
    hang, always a TruncatedFileError naming file and offset of the cut packet, and the rows
    of every complete packet before it (counted with the independent walk)."""
    data = (testdata_dir / FILES[name]).read_bytes()
    full, err, _ = decode(testdata_dir / FILES[name])
    assert err is None
    pk = packets(data)
    per_packet = {3: "ORFlashCamADCWaveformDecoder", 4: "ORFlashCamListenerConfigDecoder"}
    if name == "geds":
        per_packet[7] = "ORRunDecoderForRun"
    else:  # p14: 6 config, 7 event (one SparseEvent trace each), 3 run
        per_packet = {
            6: "ORFCIOConfigDecoder",
            7: "ORFCIOEventDecoder",
            3: "ORRunDecoderForRun",
        }
    path = tmp_path / "cut.orca"
    for cut in _cuts(data):
        path.write_bytes(data[:cut])
        rows, exc, _ = decode(path, fmt="ORCA")
        complete = [p for p in pk if p[0] + p[1] <= cut]
        if cut > 0 and cut in {p[0] for p in pk}:  # a cut between packets: a shorter file
            assert exc is None, (cut, exc)
        else:
            assert isinstance(exc, TruncatedFileError), (cut, exc)
            cut_packet = next(p for p in pk if p[0] + p[1] > cut)
            assert exc.offset == cut_packet[0], cut
            assert str(path) in str(exc)
            assert exc.records_done == len(complete), cut
        expected: dict = {"OrcaHeaderDecoder": 1} if complete else {}
        for _, _, did in complete[1:]:
            dec = per_packet[did]
            expected[dec] = expected.get(dec, 0) + 1
        assert rows == expected, cut
    assert sum(full.values()) == sum(1 for p in pk if p[2] in per_packet) + 1


def test_truncated_file_written_then_raised(testdata_dir, tmp_path):
    """build_raw on a cut file: the output holds every complete packet, then the error;
    ``on_error="warn"`` keeps the message in the summary."""
    data = (testdata_dir / FILES["geds"]).read_bytes()
    pk = packets(data)
    off, size, _ = pk[40]
    path = tmp_path / "cut.orca"
    path.write_bytes(data[: off + size // 3])
    out = tmp_path / "cut.lh5"
    with pytest.raises(TruncatedFileError) as info:
        build_raw(path, out, compression=None)
    assert info.value.offset == off and "ORFlashCamADCWaveform" in str(info.value)
    n_wf = sum(1 for p in pk[:40] if p[2] == 3)
    assert len(read(out, "ORFlashCamADCWaveform")) == n_wf
    summary = build_raw(path, out, compression=None, overwrite=True, on_error="warn")
    assert summary.error == str(info.value)
    assert summary.tables[f"{out}:ORFlashCamADCWaveform"] == n_wf


# ----------------------------------------------------------------------------- corruption
def _with_garbage(data: bytes, after_packet: int, garbage: bytes) -> tuple[bytes, int]:
    off, size, _ = packets(data)[after_packet]
    at = off + size
    return data[:at] + garbage + data[at:], at


def test_unknown_data_id_is_corruption(testdata_dir, tmp_path):
    """A word whose data id the header does not list: CorruptFileError at its offset, the
    packets before it kept."""
    data = (testdata_dir / FILES["geds"]).read_bytes()
    bad, at = _with_garbage(data, 10, (0x3FF << 18 | 4).to_bytes(4, "little") + bytes(12))
    path = tmp_path / "bad.orca"
    path.write_bytes(bad)
    rows, exc, _ = decode(path)
    assert isinstance(exc, CorruptFileError) and exc.offset == at and "data id" in str(exc)
    assert rows["ORFlashCamADCWaveformDecoder"] == 10 - 3  # packets 4..10


@pytest.mark.parametrize("n_garbage", [1, 6, 12, 401])
def test_resync_skips_garbage(testdata_dir, tmp_path, n_garbage):
    """resync=True skips to the next 3 valid packets (byte-wise, so unaligned garbage too)
    and reports the skipped bytes; every packet after it is decoded. Garbage of 0xff bytes:
    no offset inside it starts a valid packet."""
    data = (testdata_dir / FILES["geds"]).read_bytes()
    garbage = b"\xff" * n_garbage
    bad, at = _with_garbage(data, 20, garbage)
    path = tmp_path / "bad.orca"
    path.write_bytes(bad)
    rows, exc, stream = decode(path, resync=True)
    assert exc is None
    assert rows["ORFlashCamADCWaveformDecoder"] == 67
    assert stream.stats.skipped["bytes skipped by resync"] == n_garbage
    out = tmp_path / "bad.lh5"
    summary = build_raw(path, out, resync=True, compression=None)
    assert summary.skipped["bytes skipped by resync"] == n_garbage
    good = tmp_path / "good.lh5"
    build_raw(testdata_dir / FILES["geds"], good, compression=None)
    a = read(out, "ORFlashCamADCWaveform/waveform/values").to_numpy()
    b = read(good, "ORFlashCamADCWaveform/waveform/values").to_numpy()
    assert np.array_equal(a, b)
    with pytest.raises(CorruptFileError) as info:
        build_raw(path, tmp_path / "strict.lh5", compression=None)
    assert info.value.offset == at


def test_cli_resync_flag(testdata_dir, tmp_path):
    """``pygama-ak raw build --resync`` decodes past garbage and reports the skipped bytes;
    without it the corrupt file is an error (the packets before are kept)."""
    import typer
    from typer.testing import CliRunner

    from pygama_ak.cli.raw import app as raw_app

    root = typer.Typer()
    root.add_typer(raw_app, name="raw")

    @root.command()
    def other() -> None:  # a second command keeps "raw" a sub-command
        pass

    data = (testdata_dir / FILES["geds"]).read_bytes()
    bad, _ = _with_garbage(data, 30, b"\xff" * 10)
    path = tmp_path / "bad.orca"
    path.write_bytes(bad)
    runner = CliRunner()
    out = tmp_path / "bad.lh5"
    res = runner.invoke(root, ["raw", "build", str(path), "-o", str(out), "--resync"])
    assert res.exit_code == 0, res.output
    assert "bytes skipped by resync" in res.output and "10 " in res.output
    assert len(read(out, "ORFlashCamADCWaveform")) == 67
    res = runner.invoke(root, ["raw", "build", str(path), "-o", str(out), "--overwrite"])
    assert res.exit_code == 1 and "corrupt" in res.output
    assert len(read(out, "ORFlashCamADCWaveform")) == 30 - 3


def test_batches_bounded_by_chunk_size(testdata_dir):
    """Memory: a batch holds the packets of one input chunk, whatever the file size (no
    preallocation for 8192 worst-case rows): 64 KiB chunks give ≤ 5 traces of 12.9 kB."""
    sizes = [
        len(b.table)
        for b in open_stream(testdata_dir / FILES["geds"], chunk_bytes=1 << 16).batches()
        if b.decoder == "ORFlashCamADCWaveformDecoder"
    ]
    assert sum(sizes) == 67 and max(sizes) <= 5


def test_resync_garbage_at_the_end(testdata_dir, tmp_path):
    """Garbage after the last packet: resync skips it to the end of the file (no hang)."""
    data = (testdata_dir / FILES["geds"]).read_bytes()
    path = tmp_path / "tail.orca"
    path.write_bytes(data + b"\xff" * 37)
    rows, exc, stream = decode(path, resync=True)
    assert exc is None and rows["ORFlashCamADCWaveformDecoder"] == 67
    assert stream.stats.skipped["bytes skipped by resync"] == 37
    rows, exc, _ = decode(path)
    assert isinstance(exc, CorruptFileError) and exc.offset == len(data)


def test_corrupt_wrapped_fcio_record(testdata_dir, tmp_path):
    """An impossible tmio frame size inside an ORCA-FCIO event packet: CorruptFileError at
    that packet, the configs and events before it kept."""
    data = bytearray((testdata_dir / FILES["p14"]).read_bytes())
    events = [off for off, _, did in packets(bytes(data)) if did == 7]
    bad = events[2]
    assert int.from_bytes(data[bad + 12 : bad + 16], "little", signed=True) == -6  # SparseEvent
    data[bad + 16 : bad + 20] = (2**30).to_bytes(4, "little")
    path = tmp_path / "bad.orca"
    path.write_bytes(bytes(data))
    rows, exc, _ = decode(path)
    assert isinstance(exc, CorruptFileError) and exc.offset == bad, exc
    assert "ORFCIO" in str(exc) and str(path) in str(exc)
    assert rows["ORFCIOEventDecoder"] == 2 and rows["ORFCIOConfigDecoder"] == 2


def test_broken_header_xml(testdata_dir, tmp_path):
    """A header whose plist does not parse: CorruptFileError at the XML, nothing decoded."""
    data = bytearray((testdata_dir / FILES["geds"]).read_bytes())
    data[200:210] = b"<" * 10
    path = tmp_path / "bad.orca"
    path.write_bytes(bytes(data))
    rows, exc, _ = decode(path)
    assert isinstance(exc, CorruptFileError) and exc.offset == 8 and "plist" in str(exc)
    assert rows == {} and exc.records_done == 0
