"""Write FCIO streams: synthetic test files, round trips and scaled benchmark inputs.

Every function returns ``bytes``; concatenate them (``protocol_header()`` first) and write
the result to a file. Field order and frame layout follow the FCIO writer (one frame per
scalar, arrays as one frame each).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from . import records as R


def frame(payload: bytes | np.ndarray) -> bytes:
    """One tmio data frame: int32 byte count + payload."""
    data = payload.tobytes() if isinstance(payload, np.ndarray) else bytes(payload)
    return np.int32(len(data)).tobytes() + data


def record(tag: int, *payloads: bytes | np.ndarray) -> bytes:
    """One record: int32 ``-tag`` then one frame per payload."""
    return np.int32(-tag).tobytes() + b"".join(frame(p) for p in payloads)


def protocol_header(name: bytes = R.PROTOCOL_NAME) -> bytes:
    """The tmio protocol header that starts every FCIO stream."""
    return np.int32(R.PROTOCOL_TAG).tobytes() + name.ljust(R.PROTOCOL_SIZE, b"\0")


def _i32(v) -> np.ndarray:
    return np.asarray(v, dtype="<i4")


def config(
    *,
    adcs: int,
    eventsamples: int,
    triggers: int = 0,
    blprecision: int = 1,
    sumlength: int = 1,
    adcbits: int = 16,
    mastercards: int = 1,
    triggercards: int = 0,
    adccards: int = 1,
    gps: int = 0,
    tracemap: Sequence[int] | None = None,
    streamid: int | None = None,
) -> bytes:
    """A Config record; ``tracemap``/``streamid`` None → omitted (old files lack them)."""
    frames = [
        _i32(v)
        for v in (
            adcs,
            triggers,
            eventsamples,
            blprecision,
            sumlength,
            adcbits,
            mastercards,
            triggercards,
            adccards,
            gps,
        )
    ]
    if tracemap is not None:
        frames.append(np.asarray(tracemap, dtype="<u4"))
        if streamid is not None:
            frames.append(_i32(streamid))
    return record(R.CONFIG, *frames)


def tracemap_entry(card_address: int, card_input: int) -> int:
    """``(address << 16) | input``, as FCIO stores a channel."""
    return (int(card_address) << 16) | int(card_input)


def _header_frames(type_, pulser, timeoffset, timestamp):
    return [_i32(type_), np.float32(pulser), _i32(timeoffset), _i32(timestamp)]


def event(
    traces: np.ndarray,
    *,
    timestamp: Sequence[int],
    timeoffset: Sequence[int] = (0,) * 10,
    deadregion: Sequence[int] | None = (0,) * 10,
    type_: int = 1,
    pulser: float = 0.0,
) -> bytes:
    """A full Event: ``traces`` is u16 [adcs+triggers, eventsamples+2] (2 header words first)."""
    frames = _header_frames(type_, pulser, timeoffset, timestamp)
    frames.append(np.ascontiguousarray(traces, dtype="<u2"))
    if deadregion is not None:
        frames.append(_i32(deadregion))
    return record(R.EVENT, *frames)


def sparse_event(
    trace_list: Sequence[int],
    traces: np.ndarray,
    *,
    timestamp: Sequence[int],
    timeoffset: Sequence[int] = (0,) * 10,
    deadregion: Sequence[int] = (0,) * 10,
    type_: int = 1,
    pulser: float = 0.0,
) -> bytes:
    """A SparseEvent: ``traces`` is u16 [len(trace_list), eventsamples+2]."""
    frames = _header_frames(type_, pulser, timeoffset, timestamp)
    frames += [_i32(deadregion), _i32(len(trace_list)), np.asarray(trace_list, dtype="<u2")]
    frames += [np.ascontiguousarray(t, dtype="<u2") for t in traces]
    return record(R.SPARSE_EVENT, *frames)


def event_header(
    trace_list: Sequence[int],
    theaders: np.ndarray,
    *,
    timestamp: Sequence[int],
    timeoffset: Sequence[int] = (0,) * 10,
    deadregion: Sequence[int] = (0,) * 10,
    type_: int = 1,
    pulser: float = 0.0,
) -> bytes:
    """An EventHeader: ``theaders`` is u16 [len(trace_list), 2] (FPGA baseline, energy)."""
    frames = _header_frames(type_, pulser, timeoffset, timestamp)
    frames += [
        _i32(deadregion),
        np.asarray(trace_list, dtype="<u2"),
        np.ascontiguousarray(theaders, dtype="<u2"),
    ]
    return record(R.EVENT_HEADER, *frames)


def card_status(
    *,
    reqid: int,
    status: int = 1,
    eventno: int = 0,
    pps: int = 0,
    ticks: int = 0,
    maxticks: int = 249_999_999,
    environment: Sequence[int] = (),
    ctilinks: Sequence[int] = (),
    linkstates: Sequence[int] = (),
    errors: Sequence[int] = (0, 0, 0, 0),
    othererrors: Sequence[int] = (0,) * 5,
) -> np.ndarray:
    """One card's status block (295 u32 words = 1180 bytes)."""
    words = np.zeros(R.CARD_STATUS_WORDS, dtype="<u4")
    words[:10] = [
        reqid,
        status,
        eventno,
        pps,
        ticks,
        maxticks,
        len(environment),
        len(ctilinks),
        len(linkstates),
        0,
    ]
    words[10:14] = errors  # total, environment, cti, link
    words[14:19] = othererrors
    words[19 : 19 + len(environment)] = np.asarray(environment, dtype="<i4").view("<u4")
    words[35 : 35 + len(ctilinks)] = ctilinks
    words[39 : 39 + len(linkstates)] = linkstates
    return words


def status(
    cards: Sequence[np.ndarray],
    *,
    statustime: Sequence[int],
    status_: int = 1,
    size: int | None = None,
) -> bytes:
    """A Status record with one frame per card block (truncated to ``size`` bytes if given)."""
    size = R.CARD_STATUS_WORDS * 4 if size is None else int(size)
    frames = [_i32(status_), _i32(statustime), _i32(len(cards)), _i32(size)]
    frames += [np.asarray(c, dtype="<u4").tobytes()[:size] for c in cards]
    return record(R.STATUS, *frames)


# ----------------------------------------------------------------------------- FSP records
def fsp_write_flags(
    *,
    consecutive: bool = False,
    extended: bool = False,
    hwm_multiplicity: bool = False,
    hwm_prescaled: bool = False,
    wps_sum: bool = False,
    wps_coincident_sum: bool = False,
    wps_prescaled: bool = False,
    ct_multiplicity: bool = False,
    write: bool = False,
) -> np.ndarray:
    """libfsp's 24-byte ``FSPWriteFlags`` struct (event and trigger flag unions, write)."""
    from .fsp import WRITE_FLAGS

    flags = np.zeros(1, dtype=WRITE_FLAGS)
    for name, value in (
        ("consecutive", consecutive),
        ("extended", extended),
        ("hwm_multiplicity", hwm_multiplicity),
        ("hwm_prescaled", hwm_prescaled),
        ("wps_sum", wps_sum),
        ("wps_coincident_sum", wps_coincident_sum),
        ("wps_prescaled", wps_prescaled),
        ("ct_multiplicity", ct_multiplicity),
    ):
        flags[name] = int(value)
    flags["write"] = int(write)
    return flags.view(np.uint8)


def _flag_bits(bits: int) -> np.ndarray:
    """An 8-byte flag union (uint8 flags overlaid on a uint64) from its integer value."""
    return np.asarray([bits], dtype="<u8")


def fsp_config(values: dict) -> bytes:
    """An FSPConfig record (48 frames, libfsp ``FCIOPutFSPConfig`` order) from table values.

    ``values`` holds every :data:`.fsp.CONFIG_COLUMNS` field by name; the ``*_nsec`` windows
    are split into seconds and nanoseconds, labels are written as ``char[8]`` each, and the
    enabled write flags are given by their union values (``trg_enabled_write_flags_event``,
    ``trg_enabled_write_flags_trigger``).
    """
    from .fsp import CONFIG_LAYOUT, LABEL_BYTES

    frames: list[bytes | np.ndarray] = []
    for name, kind in CONFIG_LAYOUT:
        if kind == "label[]":
            labels = values[name]
            frames.append(
                b"".join(bytes(s)[: LABEL_BYTES - 1].ljust(LABEL_BYTES, b"\0") for s in labels)
            )
        elif kind.endswith("[]"):
            frames.append(np.asarray(values[name], dtype="<" + kind[:-2]))
        elif kind == "write_flags":
            raw = np.zeros(24, dtype=np.uint8)
            raw[:8] = _flag_bits(values["trg_enabled_write_flags_event"]).view(np.uint8)
            raw[8:16] = _flag_bits(values["trg_enabled_write_flags_trigger"]).view(np.uint8)
            frames.append(raw)
        elif kind == "flags":
            frames.append(_flag_bits(values[name]))
        elif kind in ("s", "ns"):
            sec, nsec = divmod(int(values[f"{name}_nsec"]), 1_000_000_000)
            frames.append(np.asarray([sec if kind == "s" else nsec], dtype="<i8"))
        else:
            frames.append(np.asarray([values[name]], dtype="<" + kind))
    return record(R.FSP_CONFIG, *frames)


def fsp_event(
    *,
    write_flags: np.ndarray | None = None,
    proc_flags: Sequence[int] = (0, 0, 0),
    nconsecutive: int = 0,
    hwm: Sequence = (0, 0, 0, 0),
    wps: Sequence = (0.0, 0, 0, 0.0, 0),
    ct_trace_idx: Sequence[int] = (),
    ct_max: Sequence[int] = (),
    sub_events: Sequence[tuple[int, int, float]] = (),
    hwm_prescaled_trace_idx: Sequence[int] | None = (),
) -> bytes:
    """An FSPEvent record as libfsp's ``FCIOPutFSPEvent`` writes it.

    ``hwm`` = (hw_multiplicity, max_value, min_value, sw_multiplicity); ``wps`` = (sum_value,
    sum_offset, sum_multiplicity, max_single_peak_value, max_single_peak_offset);
    ``sub_events`` = (start, stop, wps_max) triples; ``proc_flags`` = the HWM, WPS and CT flag
    unions. ``hwm_prescaled_trace_idx`` None omits the last frame (libfsp before it was
    added); otherwise it is written as libfsp does: ``n`` int-sized slots of the u16 array.
    """
    from .fsp import HWM_OBS, WPS_OBS

    if write_flags is None:
        write_flags = fsp_write_flags()
    hwm_obs = np.array([tuple(hwm)], dtype=HWM_OBS)
    wps_obs = np.array([tuple(wps)], dtype=WPS_OBS)
    sub = list(sub_events)
    frames: list[bytes | np.ndarray] = [
        np.asarray(write_flags, dtype=np.uint8),
        np.asarray(proc_flags, dtype="<u8"),
        _i32([nconsecutive]),
        hwm_obs.view(np.uint8),
        wps_obs.view(np.uint8),
        _i32(ct_trace_idx),
        np.asarray(ct_max, dtype="<u2"),
        _i32([s[0] for s in sub]),
        _i32([s[1] for s in sub]),
        np.asarray([s[2] for s in sub], dtype="<f4"),
    ]
    if hwm_prescaled_trace_idx is not None:
        n = len(hwm_prescaled_trace_idx)
        slots = np.zeros(2 * n, dtype="<u2")  # the int writer takes 4·n bytes of the u16 array
        slots[:n] = hwm_prescaled_trace_idx
        frames.append(slots)
    return record(R.FSP_EVENT, *frames)


def fsp_status(stats: dict) -> bytes:
    """An FSPStatus record: libfsp's 112-byte ``FSPStats`` struct (fields by name)."""
    from .fsp import FSP_STATS

    row = np.zeros(1, dtype=FSP_STATS)
    for name, value in stats.items():
        row[name] = value
    return record(R.FSP_STATUS, row.view(np.uint8))
