"""llamaDAQ framing: the fixed-stride numpy path equals the sequential numba scan; rows are
gathered as plain fancy indexing would."""

from __future__ import annotations

import numpy as np
import pytest

from pygama_ak.raw.llama.framing import (
    FRAME_END,
    FRAME_FULL,
    FRAME_UNKNOWN,
    N_FCH,
    frame_events,
    gather_rows,
)
from pygama_ak.raw.llama.scan import scan_events


def _buffer(rng, length_of, n_events, unknown_at=None, tail=0):
    fchs = np.flatnonzero(length_of)
    words = []
    for i in range(n_events):
        fch = int(rng.choice(fchs)) if i != unknown_at else 0xABC
        event = rng.integers(0, 2**32, int(length_of[fch]) or 5, dtype=np.uint64).astype(np.uint32)
        event[0] = (event[0] & ~np.uint32(0xFFF0)) | np.uint32(fch << 4)
        words.append(event)
    words.append(np.full(tail, (int(fchs[0]) << 4), np.uint32))
    return np.concatenate(words).astype(np.uint32)


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("uniform", [True, False])
def test_numpy_framing_equals_the_sequential_scan(seed, uniform):
    rng = np.random.default_rng(seed)
    length_of = np.zeros(N_FCH, np.int64)
    for k, fch in enumerate((0x010, 0x011, 0x023)):
        length_of[fch] = 12 if uniform else 12 + 3 * k
    words = _buffer(rng, length_of, int(rng.integers(0, 40)),
                    unknown_at=int(rng.integers(0, 50)) if seed % 3 == 0 else None,
                    tail=int(rng.integers(0, 12)))
    for cap in (len(words) // 12 + 1, 3, 0):
        a_offs, a_fchs = np.full(cap, -1, np.int64), np.full(cap, -1, np.int64)
        b_offs, b_fchs = a_offs.copy(), a_fchs.copy()
        got = frame_events(words, length_of, a_offs, a_fchs)
        want = scan_events(words, length_of, b_offs, b_fchs)
        assert tuple(int(x) for x in got) == tuple(int(x) for x in want)
        n = got[0]
        assert np.array_equal(a_offs[:n], b_offs[:n]) and np.array_equal(a_fchs[:n], b_fchs[:n])
        assert got[1] in (FRAME_END, FRAME_FULL, FRAME_UNKNOWN)


def test_an_unknown_channel_stops_the_framing_there():
    length_of = np.zeros(N_FCH, np.int64)
    length_of[0x010] = 4
    words = np.array([0x100, 1, 2, 3, 0x100, 1, 2, 3, 0x990, 1, 2, 3], np.uint32)
    offs, fchs = np.empty(10, np.int64), np.empty(10, np.int64)
    assert frame_events(words, length_of, offs, fchs) == (2, FRAME_UNKNOWN, 8)
    assert list(offs[:2]) == [0, 4] and list(fchs[:2]) == [0x010, 0x010]


@pytest.mark.parametrize("width", [0, 1, 3, 40, 700])
@pytest.mark.parametrize("layout", ["back to back", "interleaved", "runs", "one", "none"])
def test_gather_rows_equals_fancy_indexing(width, layout):
    rng = np.random.default_rng(width)
    n = {"one": 1, "none": 0}.get(layout, 50)
    if layout == "back to back":
        gaps = np.zeros(n, np.int64)
    elif layout == "interleaved":
        gaps = np.full(n, 5, np.int64)
    else:
        gaps = np.where(rng.random(n) < 0.3, rng.integers(1, 9, n), 0)
    offs = np.cumsum(gaps + width) - width
    offs = offs - (offs[0] if n else 0) + 2
    words = rng.integers(0, 2**32, int(offs[-1] + width + 3) if n else 4, dtype=np.uint64)
    words = words.astype(np.uint32)
    got = gather_rows(words, offs, width)
    assert got.shape == (n, width) and got.dtype == np.uint32 and got.flags.c_contiguous
    np.testing.assert_array_equal(got, words[offs[:, None] + np.arange(width)])
    if n and width:
        got[0, 0] ^= 1  # a copy: writing it leaves the buffer alone
        assert words[offs[0]] != got[0, 0]
