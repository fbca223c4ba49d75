"""``uleb128_zigzag_diff`` numba kernels over flat buffers (content + offsets).

Per waveform: successive differences (the first sample against 0) wrapped to signed
32 bits, ZigZag-mapped to unsigned 32 bits (0, -1, 1, -2 … → 0, 1, 2, 3 …) and written as
unsigned LEB128 varints (7 bits per byte, least significant group first, bit 0x80 on every
byte but the last). No header and no padding: the byte count comes from the row offsets and
the sample count from ``decoded_size``. Byte-identical to lh5 0.3.0.
"""

from __future__ import annotations

import numba
import numpy as np

# error codes returned by the decoder (row, code, detail); messages in ``codecs.__init__``
ERR_RANGE = 1  # byte offsets outside the buffer or decreasing
ERR_TRUNC = 2  # last varint of the row has its continuation bit set
ERR_LONG = 3  # varint longer than 5 bytes
ERR_TOO_MANY = 4  # more samples than the decoded size
ERR_TOO_FEW = 5  # fewer samples than the decoded size (detail: samples found)
ERR_VALUE = 6  # a decoded sample does not fit the output dtype (detail: the value)


def max_encoded_bytes(n_samples: np.ndarray, itemsize: int) -> np.ndarray:
    """Worst-case encoded size in bytes: 3 bytes a sample for <= 16-bit samples, else 5.

    The difference of two 16-bit values lies in ±65535, its ZigZag code below 2**17, which
    takes 3 varint bytes; any 32-bit code takes at most 5.
    """
    per = 3 if itemsize <= 2 else 5
    return np.asarray(n_samples, dtype=np.int64) * per


@numba.njit(cache=True, nogil=True)
def encode_rows(
    content: np.ndarray, offsets: np.ndarray, out: np.ndarray, out_offsets: np.ndarray
) -> int:
    """Encode rows ``content[offsets[r]:offsets[r+1]]`` into ``out`` (uint8).

    ``out_offsets`` (n+1, int64) receives the byte end offsets. Returns -1, or the row at
    which ``out`` would have overflowed (nothing is written past ``out.size``).
    """
    n_rows = offsets.size - 1
    pos = 0
    out_offsets[0] = 0
    for r in range(n_rows):
        row = content[offsets[r] : offsets[r + 1]]
        dst = out[pos:]  # slices indexed from 0: no negative-index handling in the loop
        cap = dst.size
        q = 0
        last = 0
        for k in range(row.size):
            x = np.int64(row[k])
            d = ((x - last + 0x80000000) & 0xFFFFFFFF) - 0x80000000
            z = ((d << 1) ^ (d >> 63)) & 0xFFFFFFFF
            while z >= 0x80:
                if q >= cap:
                    return r
                dst[q] = (z & 0x7F) | 0x80
                q += 1
                z >>= 7
            if q >= cap:
                return r
            dst[q] = z
            q += 1
            last = x
        pos += q
        out_offsets[r + 1] = pos
    return -1


@numba.njit(cache=True, nogil=True)
def decode_rows(
    enc: np.ndarray,
    byte_offsets: np.ndarray,
    out_offsets: np.ndarray,
    signed: bool,
    lo: int,
    hi: int,
    out: np.ndarray,
) -> tuple[int, int, int]:
    """Decode every row ``enc[byte_offsets[r]:byte_offsets[r+1]]`` into ``out``.

    Row ``r`` must decode to exactly ``out_offsets[r+1] - out_offsets[r]`` samples. The
    running sum is kept modulo 2**32 and read as int32 (``signed``) or uint32 before the cast
    to ``out``'s dtype; a sample outside ``[lo, hi]`` (the dtype's range) is an error, so a
    too-narrow dtype never wraps silently. Returns ``(-1, 0, 0)`` or ``(row, code, detail)``.
    """
    n_rows = byte_offsets.size - 1
    size = enc.size
    for r in range(n_rows):
        p = byte_offsets[r]
        e = byte_offsets[r + 1]
        if p < 0 or e < p or e > size:
            return r, ERR_RANGE, 0
        row = enc[p:e]  # slices indexed from 0: no negative-index handling in the loop
        dst = out[out_offsets[r] : out_offsets[r + 1]]
        n_bytes = row.size
        n_out = dst.size
        i = 0
        k = 0
        acc = 0
        while i < n_bytes:
            b = np.int64(row[i])
            i += 1
            z = b & 0x7F
            shift = 7
            while b & 0x80:
                if i >= n_bytes:
                    return r, ERR_TRUNC, 0
                if shift > 28:
                    return r, ERR_LONG, 0
                b = np.int64(row[i])
                i += 1
                z |= (b & 0x7F) << shift
                shift += 7
            if k >= n_out:
                return r, ERR_TOO_MANY, 0
            z &= 0xFFFFFFFF
            acc = (acc + ((z >> 1) ^ -(z & 1))) & 0xFFFFFFFF
            v = acc - ((acc & 0x80000000) << 1) if signed else acc
            if v < lo or v > hi:
                return r, ERR_VALUE, v
            dst[k] = v
            k += 1
        if k != n_out:
            return r, ERR_TOO_FEW, k
    return -1, 0, 0
