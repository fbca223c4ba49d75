"""FSP (libfsp software trigger) records in native and ORCA-wrapped FCIO → FSPConfig, FSPEvent and
FSPStatus tables.

No real test file holds FSP records (the legend-testdata FCIO and ORCA-FCIO files were written
without the software trigger), so every test uses streams written by our own FCIO writer
(``encode.fsp_*``, frames in libfsp's ``FCIOPutFSP*`` order) through ``simulate_fcio(...,
fsp=True)`` and :func:`~pygama_ak.daq.simulate_orca.wrap_fcio_in_orca`: the round trip checks
every field against the encoded value, the packet ids against the annotated records, and the
behaviour on cut and malformed records.
"""

from __future__ import annotations

import numpy as np
import pytest

from pygama_ak.daq.simulate import fsp_truth, simulate_fcio
from pygama_ak.daq.simulate_orca import wrap_fcio_in_orca
from pygama_ak.lh5 import read
from pygama_ak.raw import DAQFileError, TruncatedFileError, build_raw, open_stream
from pygama_ak.raw.fcio import encode as E
from pygama_ak.raw.fcio.fsp import CONFIG_COLUMNS, FSP_STATS

N_EVENTS = 40
MAXT = 249_999_999

#: daq2lh5 1.7.1 dtypes (fc_fsp_decoder.py); "[]" = vector of vectors, "str[]" = labels
VECTOR_KINDS = {"i4[]": "int32[]", "f4[]": "float32[]", "u2[]": "uint16[]", "label[]": "str[]"}
CONFIG_DTYPES = {"packet_id": "uint32"} | {
    name: VECTOR_KINDS[kind] if kind in VECTOR_KINDS else np.dtype(kind).name
    for name, kind, _, _ in CONFIG_COLUMNS
}
EVENT_DTYPES = {
    "packet_id": "uint32",
    **{
        f"is_{n}": "bool"
        for n in (
            "written",
            "extended",
            "consecutive",
            "hwm_prescaled",
            "hwm_multiplicity",
            "wps_sum",
            "wps_coincident_sum",
            "wps_prescaled",
            "ct_multiplicity",
        )
    },
    "obs_wps_sum_value": "float32",
    "obs_wps_sum_offset": "int32",
    "obs_wps_sum_multiplicity": "int32",
    "obs_wps_max_peak_value": "float32",
    "obs_wps_max_peak_offset": "int32",
    "obs_hwm_hw_multiplicity": "int32",
    "obs_hwm_sw_multiplicity": "int32",
    "obs_hwm_max_value": "uint16",
    "obs_hwm_min_value": "uint16",
    "obs_ct_multiplicity": "int32",
    "obs_ct_trace_idx": "int32[]",
    "obs_ct_max": "uint16[]",
    "obs_ps_hwm_prescaled_trace_idx": "uint16[]",
    "obs_evt_nconsecutive": "int32",
}
STATUS_DTYPES = {"packet_id": "uint32"} | {
    n: ("int32" if n.startswith(("n_", "dt_n_")) else "float64") for n in FSP_STATS.names
}


# ----------------------------------------------------------------------------- helpers
def dtype_of(column) -> str:
    """``int32``, ``int32[]`` (vectors) or ``str[]`` (vectors of strings)."""
    layout = column.layout
    if layout.is_list:
        inner = layout.content
        if (inner.parameters or {}).get("__array__") in ("string", "bytestring"):
            return "str[]"
        return f"{inner.data.dtype.name}[]"
    return layout.data.dtype.name


def expected_event_columns(events: list[dict]) -> dict[str, list]:
    """What the FSPEvent table must hold for the encoded events (float32 where stored so)."""
    f32 = lambda v: float(np.float32(v))  # noqa: E731
    out: dict[str, list] = {name: [] for name in EVENT_DTYPES if name != "packet_id"}
    flag_columns = {
        "is_written": "write",
        "is_extended": "extended",
        "is_consecutive": "consecutive",
        "is_hwm_prescaled": "hwm_prescaled",
        "is_hwm_multiplicity": "hwm_multiplicity",
        "is_wps_sum": "wps_sum",
        "is_wps_coincident_sum": "wps_coincident_sum",
        "is_wps_prescaled": "wps_prescaled",
        "is_ct_multiplicity": "ct_multiplicity",
    }
    for ev in events:
        for column, flag in flag_columns.items():
            out[column].append(bool(ev["write_flags"][flag]))
        s_val, s_off, s_mult, p_val, p_off = ev["wps"]
        out["obs_wps_sum_value"].append(f32(s_val))
        out["obs_wps_sum_offset"].append(s_off)
        out["obs_wps_sum_multiplicity"].append(s_mult)
        out["obs_wps_max_peak_value"].append(f32(p_val))
        out["obs_wps_max_peak_offset"].append(p_off)
        hw, hmax, hmin, sw = ev["hwm"]
        out["obs_hwm_hw_multiplicity"].append(hw)
        out["obs_hwm_sw_multiplicity"].append(sw)
        out["obs_hwm_max_value"].append(hmax)
        out["obs_hwm_min_value"].append(hmin)
        out["obs_ct_multiplicity"].append(len(ev["ct_trace_idx"]))
        out["obs_ct_trace_idx"].append(list(ev["ct_trace_idx"]))
        out["obs_ct_max"].append(list(ev["ct_max"]))
        out["obs_ps_hwm_prescaled_trace_idx"].append(list(ev["hwm_prescaled_trace_idx"] or []))
        out["obs_evt_nconsecutive"].append(ev["nconsecutive"])
    return out


def expected_config_row(values: dict) -> dict:
    row = {}
    for name, kind, _, _ in CONFIG_COLUMNS:
        v = values[name]
        if kind == "label[]":
            row[name] = [s.decode() for s in v]
        elif kind.endswith("[]"):
            row[name] = np.asarray(v, dtype="<" + kind[:-2]).tolist()
        else:
            row[name] = np.asarray(v, dtype="<" + kind).item()
    return row


def check_fsp_tables(cfg, ev, st, truth, n_events: int) -> None:
    """Every field of the three tables equals what was encoded."""
    assert dict(zip(cfg.fields, map(dtype_of, (cfg[f] for f in cfg.fields)))) == CONFIG_DTYPES
    assert len(cfg.fields) == 47
    assert len(cfg) == 1
    got = cfg[0].to_list()
    got.pop("packet_id")
    assert got == expected_config_row(truth["config"])
    assert dict(zip(ev.fields, map(dtype_of, (ev[f] for f in ev.fields)))) == EVENT_DTYPES
    assert len(ev) == n_events
    for name, values in expected_event_columns(truth["events"][:n_events]).items():
        assert ev[name].to_list() == values, name
    assert dict(zip(st.fields, map(dtype_of, (st[f] for f in st.fields)))) == STATUS_DTYPES
    assert len(st) == len(truth["status"])
    for name in FSP_STATS.names:
        assert st[name].to_list() == [s[name] for s in truth["status"]], name


def rows_by_decoder(path, **kw) -> tuple[dict, DAQFileError | None, object]:
    """Decoded batches per decoder (concatenated keys and packet ids) and the error, if any."""
    stream = open_stream(path, **kw)
    out: dict = {}
    err = None
    try:
        for b in stream.batches():
            keys, pids = out.setdefault(b.decoder, ([], []))
            keys.extend(b.keys.tolist())
            pids.extend(b.table.packet_id.to_list())
    except DAQFileError as exc:
        err = exc
    return out, err, stream


@pytest.fixture(scope="module")
def fsp_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("fsp") / "fsp.fcio"
    return simulate_fcio(path, N_EVENTS, n_samples=64, seed=3, fsp=True)


# ----------------------------------------------------------------------------- native FCIO
def test_round_trip_every_field(fsp_file, tmp_path):
    """simulate → build_raw: the FSP tables have daq2lh5's names, fields and dtypes, and every
    value equals what was encoded; FSP records are counted as records, nothing is skipped."""
    out = build_raw(fsp_file, tmp_path / "fsp.lh5")
    truth = fsp_truth(N_EVENTS, seed=3)
    assert out.records == {
        "Config": 1,
        "FSPConfig": 1,
        "SparseEvent": N_EVENTS,
        "FSPEvent": N_EVENTS,
        "Status": 2,
        "FSPStatus": 2,
    }
    assert not out.skipped
    f = out.outputs[0]
    check_fsp_tables(
        read(f, "FSPConfig"), read(f, "FSPEvent"), read(f, "FSPStatus"), truth, N_EVENTS
    )


def test_packet_ids_shared_with_annotated_records(fsp_file, tmp_path):
    """An FSP record and the record it annotates share one packet_id: FSPEvent rows ↔ the
    events (one id per event), FSPStatus ↔ FCStatus, FSPConfig ↔ FCConfig (0)."""
    f = build_raw(fsp_file, tmp_path / "fsp.lh5").outputs[0]
    ev_pids = read(f, "FCEvent").packet_id.to_numpy()
    per_event = ev_pids[np.r_[True, np.diff(ev_pids) != 0]]
    assert len(per_event) == N_EVENTS
    assert read(f, "FSPEvent").packet_id.to_list() == per_event.tolist()
    st_pids = read(f, "FCStatus").packet_id.to_list()
    assert read(f, "FSPStatus").packet_id.to_list() == sorted(set(st_pids)) and st_pids
    assert read(f, "FSPConfig").packet_id.to_list() == read(f, "FCConfig").packet_id.to_list()
    assert read(f, "FCConfig").packet_id.to_list() == [0]
    # FSP records do not count as packets: events are numbered 1, 2, ... as without FSP
    assert per_event[:3].tolist() == [1, 2, 3]


def test_keys_and_small_chunks(fsp_file, tmp_path):
    """Keys are swtid_{streamid}/config|event|status; 4 KiB chunks (an FSP record and its
    event often in different chunks) give the same rows as one chunk."""
    whole, err, _ = rows_by_decoder(fsp_file)
    small, err2, _ = rows_by_decoder(fsp_file, chunk_bytes=4096)
    assert err is None and err2 is None
    assert set(whole["FSPEventDecoder"][0]) == {"swtid_0/event"}
    assert whole["FSPConfigDecoder"][0] == ["swtid_0/config"]
    assert whole["FSPStatusDecoder"][0] == ["swtid_0/status"] * 2
    for name in ("FSPConfigDecoder", "FSPEventDecoder", "FSPStatusDecoder", "FCEventDecoder"):
        assert small[name] == whole[name], name
    out = build_raw(
        fsp_file,
        tmp_path / "routed.lh5",
        out_spec={"FSPEventDecoder": {"fsp/{key}": {"key_list": ["swtid_*/event"]}}},
    )
    assert out.tables == {f"{tmp_path / 'routed.lh5'}:fsp/swtid_0/event": N_EVENTS}


def test_config_after_config_evt_hdr_and_old_layout(tmp_path):
    """An FSPConfig after its Config (libfsp writes it before) belongs to that Config; an
    FSPEvent before an EventHeader is keyed /evt_hdr; the older 10-frame FSPEvent (no
    prescaled-trace frame) decodes with empty prescaled traces."""
    truth = fsp_truth(3, seed=5)
    evs = truth["events"]
    tm = [E.tracemap_entry(0x20, i) for i in range(3)]
    hdr = np.array([[100, 5], [200, 6]], dtype=np.uint16)

    def fsp_ev(i, **kw):
        ev = dict(evs[i], **kw)
        ev["write_flags"] = E.fsp_write_flags(**ev["write_flags"])
        return E.fsp_event(**ev)

    path = tmp_path / "mixed.fcio"
    path.write_bytes(
        E.protocol_header()
        + E.config(adcs=3, eventsamples=4, tracemap=tm, streamid=0x10002)
        + E.fsp_config(truth["config"])
        + fsp_ev(0)
        + E.event_header([0, 2], hdr, timestamp=[0, 1, 0, MAXT])
        + fsp_ev(1, hwm_prescaled_trace_idx=None)
        + E.event(np.zeros((3, 6), np.uint16), timestamp=[1, 1, 5, MAXT])
        + E.fsp_status(truth["status"][0])
        + E.status([E.card_status(reqid=0)], statustime=[1, 0, 2, 0, 0, 0, 0, 0, 0, 0])
    )
    rows, err, stream = rows_by_decoder(path)
    assert err is None and not stream.stats.skipped
    assert rows["FSPConfigDecoder"] == (["swtid_2/config"], [0])
    keys, pids = rows["FSPEventDecoder"]
    assert sorted(zip(pids, keys)) == [(1, "swtid_2/evt_hdr"), (2, "swtid_2/event")]
    assert rows["FSPStatusDecoder"] == (["swtid_2/status"], [3])
    f = build_raw(path, tmp_path / "mixed.lh5").outputs[0]
    ev = read(f, "FSPEvent")
    expected = expected_event_columns(evs[:2])
    expected["obs_ps_hwm_prescaled_trace_idx"][1] = []
    for name, values in expected.items():
        assert ev[name].to_list() == values, name
    assert read(f, "FSPConfig").packet_id.to_list() == [0]
    # wrapped in ORCA: the FSPEvent rows go to the decoder of the record they annotate
    orca = wrap_fcio_in_orca(tmp_path / "mixed.orca", path, fcid=2, card_address=0x20)
    f = build_raw(orca, tmp_path / "mixed_orca.lh5").outputs[0]
    hdr_rows = read(f, "ORFCIOEventHeader_swtid_2/evt_hdr")
    ev_rows = read(f, "ORFCIOEvent_swtid_2/event")
    assert hdr_rows.obs_ct_trace_idx.to_list() == expected["obs_ct_trace_idx"][:1]
    assert ev_rows.obs_ct_trace_idx.to_list() == expected["obs_ct_trace_idx"][1:]
    assert (
        hdr_rows.packet_id.to_list()
        == read(f, "ORFCIOEventHeader_fcid_2/evt_hdr").packet_id.to_list()
    )


def test_malformed_records_skipped_with_warning(tmp_path):
    """FSP records without libfsp's layout are skipped and counted; the warning names the
    file, byte offset, record type and field."""
    truth = fsp_truth(1, seed=5)
    ev = dict(truth["events"][0], ct_trace_idx=[0, 1], ct_max=[7])
    ev["write_flags"] = E.fsp_write_flags(**ev["write_flags"])
    tm = [E.tracemap_entry(0x20, i) for i in range(3)]
    head = E.protocol_header() + E.config(adcs=3, eventsamples=4, tracemap=tm, streamid=0)
    bad_event = E.fsp_event(**ev)
    short_config = E.record(8, *[np.int32(1)] * 10)
    path = tmp_path / "bad.fcio"
    path.write_bytes(
        head
        + bad_event
        + E.event(np.zeros((3, 6), np.uint16), timestamp=[0, 1, 0, MAXT])
        + short_config
        + E.event(np.zeros((3, 6), np.uint16), timestamp=[1, 1, 5, MAXT])
    )
    rows, err, stream = rows_by_decoder(path)
    assert err is None
    assert "FSPEventDecoder" not in rows and "FSPConfigDecoder" not in rows
    assert stream.stats.skipped == {"FSPEvent": 1, "FSPConfig": 1}
    (w_event,) = [w for w in stream.stats.warnings if "FSPEvent" in w]
    (w_config,) = [w for w in stream.stats.warnings if "FSPConfig" in w]
    assert str(path) in w_event and f"byte offset {len(head)}" in w_event
    assert "FSPEvent" in w_event and "field ct_max" in w_event
    cfg_off = (
        len(head)
        + len(bad_event)
        + len(E.event(np.zeros((3, 6), np.uint16), timestamp=[0, 1, 0, MAXT]))
    )
    assert f"byte offset {cfg_off}" in w_config and "FSPConfig" in w_config
    assert "field trg_post_trigger_window" in w_config  # the 11th frame is missing
    assert len(rows["FCEventDecoder"][0]) == 6


def _records(data: bytes) -> list[tuple[int, int, int]]:
    """(tag, start, end) of each record: an independent tmio walk."""
    pos, out = 68, []
    while pos < len(data):
        v = int.from_bytes(data[pos : pos + 4], "little", signed=True)
        if v < 0:
            out.append([-v, pos, pos + 4])
        else:
            out[-1][2] = pos + 4 + v
        pos = out[-1][2]
    return [tuple(r) for r in out]


def test_truncation_inside_fsp_records(fsp_file, tmp_path):
    """Cut inside an FSPConfig, FSPEvent or FSPStatus record (or inside the record it
    annotates): TruncatedFileError naming the FSP record type and its byte offset, after every
    complete record before it was decoded; a cut before the FSP record is a shorter file."""
    data = fsp_file.read_bytes()
    recs = _records(data)
    fsp_events = [r for r in recs if r[0] == 9]
    targets = [r for r in recs if r[0] in (8, 10)] + [fsp_events[0], fsp_events[17]]
    path = tmp_path / "cut.fcio"
    for tag, start, end in targets:
        nxt = next(r for r in recs if r[1] == end)  # the record it annotates
        index = recs.index((tag, start, end))
        cuts = sorted(
            {
                start + 1,
                start + 4,
                start + 6,
                start + 8,
                (start + end) // 2,
                end - 1,
                end,
                end + 4,
                (end + nxt[2]) // 2,
                nxt[2] - 1,
            }
        )
        for cut in cuts:
            path.write_bytes(data[:cut])
            rows, err, stream = rows_by_decoder(path)
            assert isinstance(err, TruncatedFileError), (tag, cut)
            name = {8: "FSPConfig", 9: "FSPEvent", 10: "FSPStatus"}[tag]
            assert name in str(err) and err.offset == start, (tag, cut, err)
            # inside the tag word the reader can only guess the type (as for any record)
            assert err.record == (name if cut >= start + 4 else "incomplete"), (tag, cut, err)
            assert str(path) in str(err) and f"byte offset {start}" in str(err)
            assert err.records_done == index, (tag, cut)
            before = recs[:index]
            n_fsp_ev = sum(r[0] == 9 for r in before)
            assert len(rows.get("FSPEventDecoder", ([], []))[0]) == n_fsp_ev, (tag, cut)
            n_status = sum(r[0] == 10 for r in before)
            assert len(rows.get("FSPStatusDecoder", ([], []))[0]) == n_status, (tag, cut)
        path.write_bytes(data[:start])
        _, err, _ = rows_by_decoder(path)
        assert err is None or start == 68  # (a file of only the header has no Config)


# ----------------------------------------------------------------------------- ORCA-wrapped
def test_orca_wrapped_fsp_records(fsp_file, tmp_path):
    """The same records wrapped in ORCA-FCIO packets (an FSP record in the packet of the
    record it annotates): daq2lh5's tables ORFCIOConfig_swtid_0/config, ORFCIOEvent_swtid_0/
    event and ORFCIOStatus_swtid_0/status hold the native values, with the ORCA packet ids of
    the annotated packets; without fspEnabled in the listener, daq2lh5 writes no FSP table."""
    orca = wrap_fcio_in_orca(tmp_path / "fsp.orca", fsp_file)
    out = build_raw(orca, tmp_path / "orca.lh5")
    f = out.outputs[0]
    truth = fsp_truth(N_EVENTS, seed=3)
    cfg = read(f, "ORFCIOConfig_swtid_0/config")
    ev = read(f, "ORFCIOEvent_swtid_0/event")
    st = read(f, "ORFCIOStatus_swtid_0/status")
    check_fsp_tables(cfg, ev, st, truth, N_EVENTS)
    assert cfg.packet_id.to_list() == read(f, "ORFCIOConfig_fcid_0/config").packet_id.to_list()
    ev_pids = read(f, "ORFCIOEvent_0").packet_id.to_numpy()
    per_event = ev_pids[np.r_[True, np.diff(ev_pids) != 0]]
    assert ev.packet_id.to_list() == per_event.tolist()
    assert st.packet_id.to_list() == sorted(set(read(f, "ORFCIOStatus_0").packet_id.to_list()))
    assert not out.skipped
    off = build_raw(
        wrap_fcio_in_orca(tmp_path / "nofsp.orca", fsp_file, fsp_enabled=False),
        tmp_path / "nofsp.lh5",
    )
    assert not [t for t in off.tables if "swtid" in t]
    assert sum(n for t, n in off.tables.items() if t.endswith("ORFCIOEvent")) == sum(
        n for t, n in out.tables.items() if t.endswith("ORFCIOEvent_0")
    )
