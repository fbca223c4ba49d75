"""Find the SIS3316 event records in a buffer of llamaDAQ event data.

Each event starts with a word whose bits 15–4 are ``fadc << 4 | channel``; its length in
32-bit words is that channel's configured ``event_length``. When every configured channel
has the same length (the usual case) the events sit at a fixed stride and are found with
numpy; otherwise a sequential numba scan (:mod:`.scan`, loaded only then) walks them.
"""

from __future__ import annotations

import numpy as np

FRAME_END = 0  # the buffer ends (possibly inside an event: the rest waits for more data)
FRAME_UNKNOWN = 1  # an event of a channel without a configuration
FRAME_FULL = 2  # the output arrays are full
N_FCH = 1 << 12


def frame_events(
    words: np.ndarray, length_of: np.ndarray, offs: np.ndarray, fchs: np.ndarray
) -> tuple[int, int, int]:
    """Index the complete events of ``words`` (uint32).

    ``length_of[fch]``: event length in words (0: no such channel). Fills ``offs`` (word
    offset) and ``fchs`` of each event; returns ``(events, status, word offset reached)``.
    """
    lengths = np.unique(length_of[length_of > 0])
    if len(lengths) != 1:
        from .scan import scan_events

        return scan_events(words, length_of, offs, fchs)
    length = int(lengths[0])
    n_fit = min(len(words) // length, len(offs))
    starts = np.arange(n_fit, dtype=np.int64) * length
    fch = ((words[starts] >> 4) & 0xFFF).astype(np.int64)
    known = length_of[fch] != 0
    n = n_fit if known.all() else int(np.argmin(known))
    offs[:n] = starts[:n]
    fchs[:n] = fch[:n]
    pos = n * length
    if n < n_fit:
        return n, FRAME_UNKNOWN, pos
    if pos >= len(words):
        return n, FRAME_END, pos
    if n == len(offs):
        return n, FRAME_FULL, pos
    if length_of[(int(words[pos]) >> 4) & 0xFFF] == 0:
        return n, FRAME_UNKNOWN, pos
    return n, FRAME_END, pos


def gather_rows(words: np.ndarray, offs: np.ndarray, width: int) -> np.ndarray:
    """``words[offs[i] : offs[i] + width]`` for every ``i``, as a new C-contiguous 2-D array.

    Events of one channel group mostly follow each other (other channels' events interleave
    now and then), so rows are copied a run of back-to-back events at a time; rows shorter
    than a cache line's worth per run go through one fancy-index gather instead.
    """
    n = len(offs)
    out = np.empty((n, width), dtype=words.dtype)
    if n == 0 or width == 0:
        return out
    breaks = np.flatnonzero(np.diff(offs) != width) + 1
    if len(breaks) * 64 > n * width:  # short runs of short rows: Python per run is slower
        out[:] = words[offs[:, None] + np.arange(width)]
        return out
    starts = [0, *breaks.tolist()]
    stops = [*breaks.tolist(), n]
    for a, b in zip(starts, stops, strict=True):
        first = int(offs[a])
        out[a:b] = words[first : first + (b - a) * width].reshape(b - a, width)
    return out
