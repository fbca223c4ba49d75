"""``radware_sigcompress`` numba kernels over flat buffers (content + offsets).

Format (legend-data-format-specs, radware-sigcompress v1.0 by D. Radford, as written by
lgdo/lh5): per waveform a stream of 16-bit words stored big-endian. Word 0 is the sample
count ``N``; then sections, each starting on a fresh word:

* absolute: ``nw``, ``nb`` (< 32), ``min`` — then ``nw`` values ``s[k] - min`` of ``nb`` bits;
* difference: ``nw``, ``nb + 32``, ``s[j]``, ``min`` — then ``nw - 1`` values
  ``s[k] - s[k-1] - min`` of ``nb`` bits.

Values are packed MSB first, the last word of a section is zero-filled on the right, and the
word count of the whole waveform is padded to an even number (4-byte multiple). Samples are
``s = int16_wrap(x + shift)``; decoding gives ``x = s - shift``.

The section split (48-sample probe, sections of at most 128 samples, minimum of 2 bits,
absolute mode on ties, the ±16000 start of the difference range) is reproduced exactly, so
the bytes are identical to lh5 0.3.0.

Every kernel works on all rows in one call and never touches memory outside its arrays: the
encoder checks its worst-case bound (:func:`max_encoded_bytes`) before each section and the
decoder checks every section header and payload against the row's byte range.
"""

from __future__ import annotations

import numba
import numpy as np

PROBE = 48
"""Samples looked at to choose the mode and bit width of a section."""
MAX_SECTION = 128
"""Most samples in one section."""
MAX_SAMPLES = 32767
"""Longest waveform the format can hold (the count word is read as int16 by lgdo)."""

# error codes returned by the decoder (row, code, detail); messages in ``codecs.__init__``
ERR_RANGE = 1  # byte offsets outside the buffer or decreasing
ERR_NO_HEADER = 2  # fewer than 2 bytes in the row
ERR_COUNT = 3  # header sample count != decoded size (detail: header count)
ERR_SECTION_TRUNC = 4  # section header runs past the row end
ERR_NW = 5  # section sample count 0 or beyond the waveform (detail: nw)
ERR_NB = 6  # impossible bit width (detail: raw nb word)
ERR_PAYLOAD_TRUNC = 7  # section payload runs past the row end


def max_encoded_bytes(n_samples: np.ndarray) -> np.ndarray:
    """Worst-case encoded size in bytes for waveforms of ``n_samples`` samples.

    Every section holds at least ``min(48, remaining)`` samples, so there are at most
    ``ceil(N / 48)`` of them; a section of ``nw`` samples takes at most ``3 + nw`` words
    (absolute: 3 header words + ``ceil(nw * nb / 16)`` with ``nb <= 16``; difference: 4 header
    words + ``ceil((nw - 1) * nb / 16)``). With the count word and one pad word:
    ``N + 3 * ceil(N / 48) + 2`` words.
    """
    n = np.asarray(n_samples, dtype=np.int64)
    return 2 * (n + 3 * ((n + PROBE - 1) // PROBE) + 2)


@numba.njit(cache=True, nogil=True)
def _put16(out: np.ndarray, pos: int, value: int) -> None:
    """Store the low 16 bits of ``value`` big-endian at byte ``pos``."""
    out[pos] = (value >> 8) & 0xFF
    out[pos + 1] = value & 0xFF


@numba.njit(cache=True, nogil=True)
def _bits_for(span: int) -> int:
    """Smallest bit width >= 2 whose mask covers ``span`` (capped at 16)."""
    nb = 2
    while nb < 16 and span > (1 << nb) - 1:
        nb += 1
    return nb


@numba.njit(cache=True, nogil=True)
def _encode_row(s: np.ndarray, dst: np.ndarray) -> int:
    """Encode the wrapped int16 samples ``s`` into ``dst``; bytes written, or -1 if full."""
    n = s.size
    cap = dst.size
    if cap < 2:
        return -1
    _put16(dst, 0, n)
    pos = 2
    j = 0
    while j < n:
        # probe: value range and difference range of the next <= 48 samples
        hi1 = s[j]
        lo1 = s[j]
        hi2 = -16000
        lo2 = 16000
        i = j + 1
        stop = min(n, j + PROBE)
        while i < stop:
            v = s[i]
            hi1 = max(hi1, v)
            lo1 = min(lo1, v)
            d = v - s[i - 1]
            hi2 = max(hi2, d)
            lo2 = min(lo2, d)
            i += 1
        stop = min(n, j + MAX_SECTION)
        absolute = hi1 - lo1 <= hi2 - lo2
        if absolute:
            nb = _bits_for(hi1 - lo1)
            lim = (1 << nb) - 1
            while i < stop:  # grow while the value range still fits nb bits
                v = s[i]
                if max(hi1, v) - min(lo1, v) > lim:
                    break
                hi1 = max(hi1, v)
                lo1 = min(lo1, v)
                i += 1
        else:
            nb = _bits_for(hi2 - lo2)
            lim = (1 << nb) - 1
            while i < stop:  # grow while the difference range still fits nb bits
                d = s[i] - s[i - 1]
                if max(hi2, d) - min(lo2, d) > lim:
                    break
                hi2 = max(hi2, d)
                lo2 = min(lo2, d)
                i += 1
        nw = i - j

        if pos + 2 * (4 + nw) > cap:  # a section never takes more than 4 + nw words
            return -1
        _put16(dst, pos, nw)
        acc = 0  # pending bits, MSB first
        nbits = 0
        if absolute:
            _put16(dst, pos + 2, nb)
            _put16(dst, pos + 4, lo1)
            pos += 6
            for k in range(j, i):
                acc = (acc << nb) | (s[k] - lo1)
                nbits += nb
                if nbits >= 16:
                    nbits -= 16
                    _put16(dst, pos, acc >> nbits)
                    pos += 2
                    acc &= (1 << nbits) - 1
        else:
            _put16(dst, pos + 2, nb + 32)
            _put16(dst, pos + 4, s[j])
            _put16(dst, pos + 6, lo2)
            pos += 8
            for k in range(j + 1, i):
                acc = (acc << nb) | (s[k] - s[k - 1] - lo2)
                nbits += nb
                if nbits >= 16:
                    nbits -= 16
                    _put16(dst, pos, acc >> nbits)
                    pos += 2
                    acc &= (1 << nbits) - 1
        if nbits > 0:
            _put16(dst, pos, acc << (16 - nbits))
            pos += 2
        j = i

    if pos % 4 != 0:  # even number of words per waveform
        if pos + 2 > cap:
            return -1
        _put16(dst, pos, 0)
        pos += 2
    return pos


@numba.njit(cache=True, nogil=True)
def encode_rows(
    content: np.ndarray,
    offsets: np.ndarray,
    shift: int,
    out: np.ndarray,
    out_offsets: np.ndarray,
) -> int:
    """Encode rows ``content[offsets[r]:offsets[r+1]]`` into ``out`` (uint8).

    ``out_offsets`` (n+1, int64) receives the byte end offsets (``out_offsets[0] = 0``).
    Returns -1, or the row index at which ``out`` would have overflowed (never happens when
    ``out`` has :func:`max_encoded_bytes` room; nothing is written past ``out.size``).
    """
    n_rows = offsets.size - 1
    longest = 0
    for r in range(n_rows):
        longest = max(longest, offsets[r + 1] - offsets[r])
    scratch = np.empty(longest, dtype=np.int64)  # one row as wrapped int16 samples

    pos = 0
    out_offsets[0] = 0
    for r in range(n_rows):
        row = content[offsets[r] : offsets[r + 1]]
        s = scratch[: row.size]
        for k in range(row.size):
            s[k] = ((np.int64(row[k]) + shift + 32768) & 0xFFFF) - 32768
        written = _encode_row(s, out[pos:])
        if written < 0:
            return r
        pos += written
        out_offsets[r + 1] = pos
    return -1


@numba.njit(cache=True, nogil=True)
def decode_rows(
    enc: np.ndarray,
    byte_offsets: np.ndarray,
    out_offsets: np.ndarray,
    shift: int,
    out: np.ndarray,
) -> tuple[int, int, int]:
    """Decode every row ``enc[byte_offsets[r]:byte_offsets[r+1]]`` into ``out``.

    Row ``r`` must hold exactly ``out_offsets[r+1] - out_offsets[r]`` samples; they are
    written to ``out[out_offsets[r]:out_offsets[r+1]]`` as ``s - shift`` cast to ``out``'s
    dtype. Returns ``(-1, 0, 0)`` on success, else ``(row, error code, detail)``; every
    section is checked against the row's length before it is read.
    """
    n_rows = byte_offsets.size - 1
    size = enc.size
    bias = -32768 - shift  # decoded x = (s + 32768) + bias
    longest = 0
    for r in range(n_rows):
        b0 = byte_offsets[r]
        b1 = byte_offsets[r + 1]
        if b0 < 0 or b1 < b0 or b1 > size:
            return r, ERR_RANGE, 0
        longest = max(longest, (b1 - b0) // 2)
    scratch = np.empty(longest, dtype=np.uint16)

    for r in range(n_rows):
        # the row as native 16-bit words (cache-resident; one load per word below)
        raw = enc[byte_offsets[r] : byte_offsets[r + 1]]
        n_words = raw.size // 2
        row = scratch[:n_words]
        for k in range(n_words):
            row[k] = (np.uint16(raw[2 * k]) << 8) | np.uint16(raw[2 * k + 1])
        o = out_offsets[r]
        n = out_offsets[r + 1] - o
        if n_words < 1:
            return r, ERR_NO_HEADER, 0
        count = np.int64(row[0])
        if count != n:
            return r, ERR_COUNT, count
        w = 1  # next word index in the row
        done = 0
        while done < n:
            if w + 2 > n_words:
                return r, ERR_SECTION_TRUNC, 0
            nw = np.int64(row[w])
            nb = np.int64(row[w + 1])
            w += 2
            if nb >= 32:
                nb -= 32
                diff = True
                n_head = 2
                n_vals = nw - 1
            else:
                diff = False
                n_head = 1
                n_vals = nw
            if nb > 16:
                return r, ERR_NB, nb + 32 if diff else nb
            if nw == 0 and diff or nw > n - done:
                return r, ERR_NW, nw
            n_pay = (max(n_vals, 0) * nb + 15) // 16
            if w + n_head + n_pay > n_words:
                return r, (ERR_SECTION_TRUNC if w + n_head > n_words else ERR_PAYLOAD_TRUNC), 0
            first = np.int64(row[w]) ^ 0x8000  # int16 word + 32768
            # slices indexed from 0 let LLVM drop the negative-index handling (~30 % faster)
            pay = row[w + n_head : w + n_head + n_pay]
            dst = out[o + done : o + done + nw]
            mask = (1 << nb) - 1
            acc = 0  # bit reservoir (< 32 bits), MSB first
            nbits = 0
            q = 0
            if diff:
                lo = ((np.int64(row[w + 1]) + 32768) & 0xFFFF) - 32768
                # samples kept biased by +32768 (0..65535): wrapping is a single mask
                cur = first
                dst[0] = cur + bias
                for t in range(n_vals):
                    if nbits < nb:
                        acc = ((acc << 16) | np.int64(pay[q])) & 0xFFFFFFFF
                        q += 1
                        nbits += 16
                    nbits -= nb
                    cur = (cur + ((acc >> nbits) & mask) + lo) & 0xFFFF
                    dst[t + 1] = cur + bias
            else:
                for t in range(n_vals):
                    if nbits < nb:
                        acc = ((acc << 16) | np.int64(pay[q])) & 0xFFFFFFFF
                        q += 1
                        nbits += 16
                    nbits -= nb
                    dst[t] = ((first + ((acc >> nbits) & mask)) & 0xFFFF) + bias
            done += nw
            w += n_head + n_pay
    return -1, 0, 0
