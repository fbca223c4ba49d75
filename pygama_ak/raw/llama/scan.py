"""Sequential scan for SIS3316 event records of different lengths (numba; see :mod:`.framing`)."""

from __future__ import annotations

import numba as nb
import numpy as np

from .framing import FRAME_END, FRAME_FULL, FRAME_UNKNOWN


@nb.njit(cache=True, nogil=True)
def scan_events(
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
