"""Find the SIS3316 event records in a buffer of llamaDAQ event data (numba).

Each event starts with a word whose bits 15–4 are ``fadc << 4 | channel``; its length in
32-bit words is that channel's configured ``event_length``.
"""

from __future__ import annotations

import numba as nb
import numpy as np

FRAME_END = 0  # the buffer ends (possibly inside an event: the rest waits for more data)
FRAME_UNKNOWN = 1  # an event of a channel without a configuration
FRAME_FULL = 2  # the output arrays are full
N_FCH = 1 << 12


@nb.njit(cache=True, nogil=True)
def frame_events(
    words: np.ndarray, length_of: np.ndarray, offs: np.ndarray, fchs: np.ndarray
) -> tuple[int, int, int]:
    """Index the complete events of ``words`` (uint32).

    ``length_of[fch]``: event length in words (0: no such channel). Fills ``offs`` (word
    offset) and ``fchs`` of each event; returns ``(events, status, word offset reached)``.
    """
    pos = 0
    n = 0
    nwords = len(words)
    while pos < nwords:
        if n == len(offs):
            return n, FRAME_FULL, pos
        fch = (words[pos] >> 4) & 0xFFF
        length = length_of[fch]
        if length == 0:
            return n, FRAME_UNKNOWN, pos
        if pos + length > nwords:
            return n, FRAME_END, pos
        offs[n] = pos
        fchs[n] = fch
        n += 1
        pos += length
    return n, FRAME_END, pos
