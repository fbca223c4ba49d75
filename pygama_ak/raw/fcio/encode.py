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
