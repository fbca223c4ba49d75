"""tmio framing of FCIO streams: find record boundaries in a byte buffer (numba).

:func:`scan_records` walks the int32 words that separate frames: a negative word is a tag
(it starts a record), a non-negative one is the byte count of the data frame that follows.
It fills caller-owned arrays with one entry per complete record and stops at the first
record that does not fit in the buffer, so a reader can refill and resume there.
"""

from __future__ import annotations

import numba
import numpy as np

from .records import (
    CONFIG,
    FSP_STATUS,
    MAX_FRAME_BYTES,
    MAX_TAG,
    PROTOCOL_SIZE,
    PROTOCOL_TAG,
    PSEUDO_ORPHAN,
    PSEUDO_PROTOCOL,
)

#: scan outcomes
SCAN_MORE = 0  # the buffer ends inside a record (or exactly at a record boundary): read more
SCAN_FULL = 1  # the output arrays are full: process them and call again
SCAN_END = 2  # end of file reached at a record boundary
SCAN_TRUNCATED = 3  # end of file inside a record
SCAN_CORRUPT = 4  # a forbidden tag or an impossible frame size


@numba.njit(cache=True, nogil=True, inline="always")
def read_i32(buf: np.ndarray, p: int) -> int:
    """Little-endian int32 at byte offset ``p`` of a uint8 buffer (any alignment)."""
    v = (
        np.int64(buf[p])
        | (np.int64(buf[p + 1]) << 8)
        | (np.int64(buf[p + 2]) << 16)
        | (np.int64(buf[p + 3]) << 24)
    )
    if v >= 2147483648:
        v -= 4294967296
    return v


@numba.njit(cache=True, nogil=True)
def scan_records(buf, n, pos, eof, tags, offs, ends, nframes):
    """Index the complete records of ``buf[pos:n]`` (see :func:`scan_records_limited`)."""
    return scan_records_limited(
        buf, n, pos, eof, tags, offs, ends, nframes, MAX_TAG, MAX_FRAME_BYTES, False, False
    )


@numba.njit(cache=True, nogil=True)
def scan_records_limited(
    buf, n, pos, eof, tags, offs, ends, nframes, max_tag, max_frame, stop_after_config, strict
):
    """Index the complete records of ``buf[pos:n]``; tags above ``max_tag`` and frames of more
    than ``max_frame`` bytes are corrupt, and with ``strict`` a tagged record without frames
    followed by another record; ``stop_after_config``: return ``SCAN_FULL`` after each
    Config record (so the caller can tighten the limits before the events that follow).

    Fills ``tags`` (record tag, or a pseudo tag), ``offs`` (offset of the tag word),
    ``ends`` (offset after the last frame) and ``nframes``. Returns ``(count, next_pos,
    status, err_pos, err_val)``: ``next_pos`` is where the next call starts (the first
    record not indexed); for ``SCAN_TRUNCATED``, ``err_pos`` is the word or frame that is
    cut and ``err_val`` the bytes it needs; for ``SCAN_CORRUPT`` the offending word and
    its value.
    """
    cap = len(tags)
    k = 0
    while True:
        if k == cap:
            return k, pos, SCAN_FULL, -1, 0
        if pos == n:
            return k, pos, (SCAN_END if eof else SCAN_MORE), -1, 0
        if pos + 4 > n:
            return k, pos, (SCAN_TRUNCATED if eof else SCAN_MORE), pos, 4
        v = read_i32(buf, pos)
        if v == PROTOCOL_TAG:
            if pos + 4 + PROTOCOL_SIZE > n:
                return k, pos, (SCAN_TRUNCATED if eof else SCAN_MORE), pos, 4 + PROTOCOL_SIZE
            tags[k] = PSEUDO_PROTOCOL
            offs[k] = pos
            ends[k] = pos + 4 + PROTOCOL_SIZE
            nframes[k] = 0
            k += 1
            pos += 4 + PROTOCOL_SIZE
            continue
        if v < -max_tag:
            return k, pos, SCAN_CORRUPT, pos, v
        if v < 0:
            tag = -v
            p = pos + 4
        else:  # data frames before any tag: tmio skips them
            tag = PSEUDO_ORPHAN
            p = pos
        nf = 0
        while True:
            if p == n:
                if eof:
                    break
                return k, pos, SCAN_MORE, -1, 0
            if p + 4 > n:
                if eof:  # a cut word: the record ends here, the next call reports the cut
                    break
                return k, pos, SCAN_MORE, -1, 0
            s = read_i32(buf, p)
            if s < 0:
                if strict and nf == 0 and tag != PSEUDO_ORPHAN:
                    return k, pos, SCAN_CORRUPT, pos, v
                break
            if s > max_frame:
                return k, pos, SCAN_CORRUPT, p, s
            if p + 4 + s > n:
                return k, pos, (SCAN_TRUNCATED if eof else SCAN_MORE), p, 4 + s
            p += 4 + s
            nf += 1
        tags[k] = tag
        offs[k] = pos
        ends[k] = p
        nframes[k] = nf
        k += 1
        pos = p
        if stop_after_config and tag == CONFIG:
            return k, pos, SCAN_FULL, -1, 0


@numba.njit(cache=True, nogil=True)
def find_sync(buf, n, start, eof, max_frame, n_chain, short_at_eof):
    """First byte offset ≥ ``start`` of ``buf[:n]`` where ``n_chain`` consecutive records are
    valid: a known tag (1–10), at least one frame, every frame of at most ``max_frame`` bytes
    and inside the buffer, and the record followed by a tag word (negative). With
    ``short_at_eof``, at the end of the file a shorter chain counts if it has at least one
    complete record (a cut record after it is then reported by the scanner as truncation).

    Returns ``(offset, found)``; not found: ``offset`` is where to resume the search once more
    bytes are in the buffer (or, at the end of the file, ``n``: nothing valid remains).
    """
    p = start
    while p + 4 <= n:
        q = p
        ok = True
        at_end = False  # the chain reaches the end of the buffer
        complete = 0  # records of the chain with all their frames
        for _ in range(n_chain):
            if q + 4 > n:
                at_end = True
                break
            v = read_i32(buf, q)
            if v > -1 or v < -FSP_STATUS:
                ok = False
                break
            q += 4
            nf = 0
            cut = False
            while True:
                if q + 4 > n:
                    at_end = True
                    break
                s = read_i32(buf, q)
                if s < 0:
                    break
                if s > max_frame:
                    ok = False
                    break
                if q + 4 + s > n:
                    at_end = cut = True
                    break
                q += 4 + s
                nf += 1
            if not ok or (nf == 0 and not at_end):
                ok = False
                break
            if nf > 0 and not cut:
                complete += 1
            if at_end:
                break
        if ok and at_end and not eof:  # the chain may go on after the end of the buffer
            return p, False
        if ok and complete >= 1 and (complete == n_chain or (at_end and short_at_eof)):
            return p, True  # at the end of the file, a shorter chain counts
        p += 1
    return (n if eof else p), False
