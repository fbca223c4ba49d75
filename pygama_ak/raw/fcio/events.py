"""Event, SparseEvent and EventHeader records → per-record and per-trace arrays (numba).

Two passes over a run of event records that share one Config: :func:`count_traces` checks
each record's frames and counts its traces, then :func:`decode_events` fills pre-sized
arrays in record order: the header words (kept from record to record where a frame is
missing, as the FCIO reader does), trace indices, FPGA trace headers, waveforms (Event and
SparseEvent only) and the dead-time bookkeeping of :mod:`.deadtime`.

Per-record int32 columns (``REC_*`` indices): event type, number of traces, the 4 timestamp
words, the 7 time-offset words, the 5 dead-region words and the dead-region channel range.
"""

from __future__ import annotations

import numba
import numpy as np

from .deadtime import tracker_update
from .framing import read_i32
from .records import EVENT, SPARSE_EVENT

# per-record int32 columns
REC_TYPE, REC_NTRACES = 0, 1
REC_TS = 2  # eventnumber, pps, ticks, maxticks
REC_TO = 6  # mu_offset_sec, mu_offset_usec, to_master_sec, delta_mu_usec, abs_delta_mu_usec,
# to_start_sec, to_start_usec
REC_DR = 13  # start pps, start ticks, stop pps, stop ticks, maxticks
REC_DR_CH_IDX, REC_DR_CH_LEN = 18, 19
N_REC_COLS = 20

# header state kept between records: 3 arrays of 10 words + their sizes + type
ST_TO, ST_TS, ST_DR = 0, 10, 20
ST_TO_SIZE, ST_TS_SIZE, ST_DR_SIZE, ST_TYPE = 30, 31, 32, 33
N_STATE = 34

# errors of a record's content (the framing itself is checked by the scanner)
ERR_NONE = 0
ERR_NO_TRACES = 1  # Event without (or with a short) traces frame
ERR_TRACE_INDEX = 2  # a trace index outside the configured traces
ERR_TRACE_FRAME = 3  # a SparseEvent trace frame missing or shorter than the waveform
ERR_DEAD_BUFFER = 4  # more than 2048 pending dead intervals on one channel
ERR_FRAMES = 5  # fewer frames than the record's header needs

ERROR_TEXT = {
    ERR_NO_TRACES: "traces frame missing or shorter than the Config's traces × samples",
    ERR_TRACE_INDEX: "trace index outside the Config's traces",
    ERR_TRACE_FRAME: "trace frame missing or shorter than the Config's samples",
    ERR_DEAD_BUFFER: "more than 2048 pending dead intervals on one channel",
    ERR_FRAMES: "record has fewer frames than its header announces",
}


@numba.njit(cache=True, nogil=True, inline="always")
def _u16(buf, p):
    return np.uint16(np.int64(buf[p]) | (np.int64(buf[p + 1]) << 8))


@numba.njit(cache=True, nogil=True)
def count_traces(buf, tags, offs, nframes, sel, maxtraces, tracesamples, out_ntr):
    """Check records ``sel`` and write their trace counts to ``out_ntr``.

    Returns ``(n_ok, err, err_val)``: records ``sel[:n_ok]`` are valid; ``err`` tells what is
    wrong with ``sel[n_ok]`` (``ERR_NONE`` when all are valid).
    """
    tr_bytes = 2 * tracesamples
    for i in range(len(sel)):
        r = sel[i]
        tag = tags[r]
        nf = nframes[r]
        p = offs[r] + 4
        if tag == EVENT:
            if nf < 5:
                return i, ERR_NO_TRACES, nf
            for _ in range(4):
                p += 4 + read_i32(buf, p)
            if read_i32(buf, p) < maxtraces * tr_bytes:
                return i, ERR_NO_TRACES, read_i32(buf, p)
            out_ntr[i] = maxtraces
            continue
        if nf < 7:  # SparseEvent and EventHeader: 5 header frames + trace list + more
            return i, ERR_FRAMES, nf
        for _ in range(5):
            p += 4 + read_i32(buf, p)
        if tag == SPARSE_EVENT:
            s = read_i32(buf, p)
            num = read_i32(buf, p + 4) if s >= 4 else 0
            p += 4 + s
            s = read_i32(buf, p)
            num = max(min(num, s // 2), 0)  # FCIO clips num_traces to the trace list
            if nf < 7 + num:
                return i, ERR_TRACE_FRAME, num
        else:  # EVENT_HEADER: trace list, then 2 header words per listed trace
            s = read_i32(buf, p)
            num = min(s // 2, read_i32(buf, p + 4 + s) // 4)
        q = p + 4
        p += 4 + s
        for j in range(num):
            c = _u16(buf, q + 2 * j)
            if c >= maxtraces:
                return i, ERR_TRACE_INDEX, c
            if tag == SPARSE_EVENT:
                if read_i32(buf, p) < tr_bytes:
                    return i, ERR_TRACE_FRAME, read_i32(buf, p)
                p += 4 + read_i32(buf, p)
        out_ntr[i] = num
    return len(sel), ERR_NONE, 0


@numba.njit(cache=True, nogil=True, inline="always")
def _read_words(buf, p, state, at):
    """Copy up to 10 int32 words of the frame at ``p`` into ``state[at:]``; return the count."""
    s = read_i32(buf, p)
    k = s // 4
    if k > 10:
        k = 10
    for j in range(k):
        state[at + j] = read_i32(buf, p + 4 + 4 * j)
    return k


@numba.njit(cache=True, nogil=True)
def decode_events(
    buf,
    buf16,
    tags,
    offs,
    nframes,
    sel,
    ntr,
    cfg,
    state,
    trig_en,
    dead_ns,
    dint_ns,
    ring_begin,
    ring_end,
    ring_write,
    ring_read,
    ring_fill,
    scratch,
    out_rec,
    out_unix_ns,
    out_chan,
    out_theader,
    out_dint,
    out_dead,
    out_run,
    out_life,
    out_wf,
):
    """Decode records ``sel`` (validated by :func:`count_traces`) in file order.

    ``cfg``: adcs, traces (adcs+triggers), eventsamples, gps. Fills ``out_rec``
    [record, N_REC_COLS], ``out_unix_ns`` [record], per-trace ``out_chan``, ``out_theader``
    [trace, 2], the dead-time columns in ns, and ``out_wf`` [trace of Event/SparseEvent,
    samples]. Returns ``(n_done, err, err_val)``.
    """
    adcs = cfg[0]
    maxtraces = cfg[1]
    es = cfg[2]
    gps = cfg[3]
    tracesamples = es + 2
    t = 0  # trace row
    w = 0  # waveform row
    for i in range(len(sel)):
        r = sel[i]
        tag = tags[r]
        nf = nframes[r]
        p = offs[r] + 4
        # header frames in FCIO order (all present: checked by count_traces)
        if read_i32(buf, p) >= 4:
            state[ST_TYPE] = read_i32(buf, p + 4)
        p += 4 + read_i32(buf, p)
        p += 4 + read_i32(buf, p)  # pulser (float), not stored
        state[ST_TO_SIZE] = _read_words(buf, p, state, ST_TO)
        p += 4 + read_i32(buf, p)
        state[ST_TS_SIZE] = _read_words(buf, p, state, ST_TS)
        p += 4 + read_i32(buf, p)
        n = ntr[i]
        q_traces = 0
        q_list = 0
        if tag == EVENT:
            q_traces = p + 4
            p += 4 + read_i32(buf, p)
            if nf >= 6:
                state[ST_DR_SIZE] = _read_words(buf, p, state, ST_DR)
                p += 4 + read_i32(buf, p)
            state[ST_DR + 5] = 0  # FCIO sets the dead-region channel range of full events
            state[ST_DR + 6] = maxtraces
        else:
            state[ST_DR_SIZE] = _read_words(buf, p, state, ST_DR)
            p += 4 + read_i32(buf, p)
            if tag == SPARSE_EVENT:
                p += 4 + read_i32(buf, p)  # num_traces (clipped into ntr already)
            q_list = p + 4
            p += 4 + read_i32(buf, p)
        # per-record columns
        out_rec[i, REC_TYPE] = state[ST_TYPE]
        out_rec[i, REC_NTRACES] = n
        for j in range(4):
            out_rec[i, REC_TS + j] = state[ST_TS + j]
        for j in range(7):
            out_rec[i, REC_TO + j] = state[ST_TO + j]
        for j in range(5):
            out_rec[i, REC_DR + j] = state[ST_DR + j]
        if state[ST_DR_SIZE] >= 7:
            out_rec[i, REC_DR_CH_IDX] = state[ST_DR + 5]
            out_rec[i, REC_DR_CH_LEN] = state[ST_DR + 6]
        else:
            out_rec[i, REC_DR_CH_IDX] = 0
            out_rec[i, REC_DR_CH_LEN] = adcs
        # times and dead-time bookkeeping
        fpga_ns = np.int64(1_000_000_000) * state[ST_TS + 1] + 4 * np.int64(state[ST_TS + 2])
        if gps != 0:
            out_unix_ns[i] = fpga_ns + np.int64(1_000_000_000) * state[ST_TO + 2]
        else:
            out_unix_ns[i] = (
                fpga_ns + np.int64(1_000_000_000) * state[ST_TO] + 1000 * np.int64(state[ST_TO + 1])
            )
        ok = tracker_update(
            state[ST_TYPE],
            fpga_ns,
            state[ST_DR : ST_DR + 10],
            state[ST_TO + 5],
            state[ST_TO + 6],
            adcs,
            trig_en,
            dead_ns,
            dint_ns,
            ring_begin,
            ring_end,
            ring_write,
            ring_read,
            ring_fill,
            scratch,
        )
        if not ok:
            return i, ERR_DEAD_BUFFER, 0
        # traces
        if tag == EVENT:
            for j in range(n):
                c = j
                h = q_traces + 2 * tracesamples * j
                _trace(buf, buf16, h, es, c, t, w, out_chan, out_theader, out_wf)
                _times(
                    c, fpga_ns, t, trig_en, dead_ns, dint_ns, out_dint, out_dead, out_run, out_life
                )
                t += 1
                w += 1
        elif tag == SPARSE_EVENT:
            for j in range(n):
                c = np.int64(_u16(buf, q_list + 2 * j))
                _trace(buf, buf16, p + 4, es, c, t, w, out_chan, out_theader, out_wf)
                _times(
                    c, fpga_ns, t, trig_en, dead_ns, dint_ns, out_dint, out_dead, out_run, out_life
                )
                p += 4 + read_i32(buf, p)
                t += 1
                w += 1
        else:
            qh = p + 4
            for j in range(n):
                c = np.int64(_u16(buf, q_list + 2 * j))
                out_chan[t] = c
                out_theader[t, 0] = _u16(buf, qh + 4 * j)
                out_theader[t, 1] = _u16(buf, qh + 4 * j + 2)
                _times(
                    c, fpga_ns, t, trig_en, dead_ns, dint_ns, out_dint, out_dead, out_run, out_life
                )
                t += 1
    return len(sel), ERR_NONE, 0


@numba.njit(cache=True, nogil=True, inline="always")
def _trace(buf, buf16, h, es, c, t, w, out_chan, out_theader, out_wf):
    """Trace ``c`` whose 2 header words start at byte ``h``: header, then ``es`` samples."""
    out_chan[t] = c
    out_theader[t, 0] = _u16(buf, h)
    out_theader[t, 1] = _u16(buf, h + 2)
    q = h + 4
    if q % 2 == 0:
        out_wf[w, :] = buf16[q // 2 : q // 2 + es]
    else:
        for s in range(es):
            out_wf[w, s] = _u16(buf, q + 2 * s)


@numba.njit(cache=True, nogil=True, inline="always")
def _times(c, fpga_ns, t, trig_en, dead_ns, dint_ns, out_dint, out_dead, out_run, out_life):
    run = fpga_ns - trig_en[c]
    out_dint[t] = dint_ns[c]
    out_dead[t] = dead_ns[c]
    out_run[t] = run
    out_life[t] = run - dead_ns[c]
