"""The LH5 waveform codecs, byte-identical to legend-lh5io 0.3.0 (``lh5.compression``).

* ``radware_sigcompress`` — section-wise bit packing of 16-bit samples (after adding
  ``codec_shift``, production: -32768 for uint16 data);
* ``uleb128_zigzag_diff`` — ZigZag + LEB128 varints of the sample differences.

Both work on many waveforms at once: equal-length rows as a 2-D array, or variable-length
rows as flat content plus ``(n+1,)`` sample offsets. Encoded rows are concatenated into one
flat uint8 buffer with ``(n+1,)`` byte offsets — on disk ``encoded_data/flattened_data`` and
``encoded_data/cumulative_length`` (the offsets without the leading 0).

Unlike lh5 0.3.0 the encoder never writes past its buffer (short or incompressible
waveforms), variable-length rows work, decoding returns the requested dtype (not int32) and
corrupt input raises :class:`CodecError` naming the row instead of crashing. The numba
kernels (``radware.py``, ``uleb128.py``) are imported on first use, so importing this module
stays cheap; they compile once per dtype and are cached on disk.
"""

from __future__ import annotations

import numbers

import numpy as np
from numpy.typing import DTypeLike

CODECS = ("radware_sigcompress", "uleb128_zigzag_diff")

__all__ = ["CODECS", "CodecError", "decode", "encode"]


class CodecError(ValueError):
    """Corrupt encoded waveform bytes: ``where`` (file:object), ``row`` and ``reason``."""

    def __init__(self, where: str, row: int, reason: str) -> None:
        self.where, self.row, self.reason = where, row, reason
        prefix = f"{where}: " if where else ""
        super().__init__(f"{prefix}row {row}: {reason}")


def _check_codec(codec: str) -> None:
    if codec not in CODECS:
        raise ValueError(f"unknown waveform codec {codec!r} (known: {', '.join(CODECS)})")


def _shift(codec_shift: float) -> int:
    """``codec_shift`` as int (files store it as float64 -32768.0)."""
    if isinstance(codec_shift, numbers.Integral):
        return int(codec_shift)
    value = float(codec_shift)
    if not value.is_integer():
        raise ValueError(f"codec_shift must be an integer, got {codec_shift!r}")
    return int(value)


def _rows(values: np.ndarray, offsets: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Flat contiguous content and int64 sample offsets ``(n+1,)`` of the input waveforms."""
    values = np.asarray(values)
    if values.dtype.kind not in "iu":
        raise TypeError(f"waveform samples must be integers, got dtype {values.dtype}")
    if not values.dtype.isnative:  # numba kernels need native byte order
        values = values.astype(values.dtype.newbyteorder("="))
    if offsets is None:
        if values.ndim != 2:
            raise ValueError(
                f"values must be 2-D (n, L) or flat content with offsets, got shape {values.shape}"
            )
        n, length = values.shape
        content = np.ascontiguousarray(values).reshape(-1)
        return content, np.arange(n + 1, dtype=np.int64) * length
    if values.ndim != 1:
        raise ValueError(f"with offsets, values must be flat 1-D content, got {values.shape}")
    offs = np.asarray(offsets)
    if offs.ndim != 1 or offs.size < 1 or offs.dtype.kind not in "iu":
        raise ValueError("offsets must be a 1-D integer array of n+1 sample offsets")
    offs = offs.astype(np.int64, copy=False)
    if offs[0] < 0 or offs[-1] > values.size or np.any(np.diff(offs) < 0):
        raise ValueError(f"offsets must be non-decreasing within [0, {values.size}] (len(values))")
    return np.ascontiguousarray(values), np.ascontiguousarray(offs)


def encode(
    codec: str,
    values: np.ndarray,
    offsets: np.ndarray | None = None,
    *,
    codec_shift: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Encode waveforms with ``codec``.

    values: 2-D (n, L) integer array, or flat 1-D content with ``offsets`` (n+1,) int64 sample
    offsets (variable-length waveforms). ``codec_shift`` (ADC counts) is added to every sample
    before radware encoding (ignored by uleb128).

    Returns (encoded bytes uint8 flat, byte_offsets int64 (n+1,)) with byte_offsets[0] == 0.

    Raises ValueError for input the format cannot hold losslessly: radware waveforms longer
    than 32767 samples or (for dtypes wider than 16 bits) ``x + codec_shift`` outside int16;
    uleb128 64-bit samples outside the 32-bit range of their signedness.
    """
    _check_codec(codec)
    content, offs = _rows(values, offsets)
    lengths = np.diff(offs)
    wide = content.dtype.itemsize > 2
    signed = content.dtype.kind == "i"
    if codec == "radware_sigcompress":
        from . import radware as kernels

        shift = _shift(codec_shift)
        if lengths.size and lengths.max() > kernels.MAX_SAMPLES:
            row = int(np.argmax(lengths > kernels.MAX_SAMPLES))
            raise ValueError(
                f"radware_sigcompress cannot hold waveforms longer than {kernels.MAX_SAMPLES} "
                f"samples (row {row} has {int(lengths[row])})"
            )
        span = content[offs[0] : offs[-1]]
        if wide and span.size:
            lo, hi = int(span.min()) + shift, int(span.max()) + shift
            if lo < -32768 or hi > 32767:
                raise ValueError(
                    "radware_sigcompress encodes 16-bit samples: values + codec_shift span "
                    f"[{lo}, {hi}], outside the int16 range"
                )
        bound = int(kernels.max_encoded_bytes(lengths).sum())
        out = np.empty(bound, dtype=np.uint8)
        byte_offsets = np.empty(offs.size, dtype=np.int64)
        failed = kernels.encode_rows(content, offs, shift, out, byte_offsets)
    else:
        from . import uleb128 as kernels

        span = content[offs[0] : offs[-1]]
        if content.dtype.itemsize > 4 and span.size:
            lo, hi = int(span.min()), int(span.max())
            top = 2**31 if signed else 2**32
            if lo < (-(2**31) if signed else 0) or hi >= top:
                raise ValueError(
                    f"uleb128_zigzag_diff keeps 32 bits: {content.dtype} values span [{lo}, {hi}]"
                )
        bound = int(kernels.max_encoded_bytes(lengths, content.dtype.itemsize).sum())
        out = np.empty(bound, dtype=np.uint8)
        byte_offsets = np.empty(offs.size, dtype=np.int64)
        failed = kernels.encode_rows(content, offs, out, byte_offsets)
    if failed >= 0:  # the bounds above are proven; this would be a bug, not bad input
        raise RuntimeError(f"{codec} encoder ran out of its worst-case buffer at row {failed}")
    used = int(byte_offsets[-1])
    if used < out.size:
        out.resize(used, refcheck=False)  # shrink in place (realloc), no copy
    return out, byte_offsets


_RADWARE_REASONS = {
    1: "byte offsets are decreasing or run past the encoded buffer",
    2: "fewer than 2 bytes: no sample-count header",
    3: "header says {detail} samples, decoded_size says {expected}",
    4: "a section header runs past the end of the row's bytes (truncated row)",
    5: "impossible section sample count {detail} (0 in difference mode or beyond the waveform)",
    6: "impossible section bit-width word {detail} (must be 0-16, or 32-48 for differences)",
    7: "a section's packed values run past the end of the row's bytes (truncated row)",
}
_ULEB128_REASONS = {
    1: "byte offsets are decreasing or run past the encoded buffer",
    2: "the last varint runs past the end of the row's bytes (truncated row)",
    3: "varint longer than 5 bytes",
    4: "more samples than decoded_size ({expected})",
    5: "{detail} samples decoded, decoded_size says {expected}",
    6: "decoded sample {detail} does not fit {dtype}: decode with a wider dtype",
}


def decode(
    codec: str,
    encoded: np.ndarray,
    byte_offsets: np.ndarray,
    decoded_sizes: np.ndarray | int,
    *,
    dtype: DTypeLike = np.uint16,
    codec_shift: int = 0,
    where: str = "",
) -> np.ndarray:
    """Decode waveforms encoded with ``codec``.

    encoded: flat uint8; byte_offsets (n+1,) of any integer dtype (e.g. uint32
    ``cumulative_length`` with a 0 prepended); decoded_sizes: samples per waveform, an int
    (equal-size) or (n,) array. Returns flat decoded samples of ``dtype`` (the caller reshapes
    to (n, L) for equal sizes); for radware ``x = s - codec_shift`` wraps into ``dtype`` (the
    inverse of the encoder's int16 wrap). uleb128 samples that do not fit ``dtype`` raise
    CodecError instead of wrapping: production ``waveform_presummed`` holds sums of 8 samples
    (> 65535) and needs uint32/int32. The radware count word is read as uint16 (lgdo: int16),
    so rows of 32768-65535 samples written by other encoders decode too.

    Raises CodecError (naming ``where``, the row index and the reason) on corrupt input: a
    row whose bytes run past its end, a wrong sample count vs decoded_sizes, an impossible
    section header. Never reads or writes out of bounds.
    """
    _check_codec(codec)
    dtype = np.dtype(dtype)
    if dtype.kind not in "iu":
        raise TypeError(f"decoded waveform dtype must be an integer type, got {dtype}")
    dtype = dtype.newbyteorder("=")  # numba kernels write native byte order
    enc = np.asarray(encoded)
    if enc.dtype != np.uint8:
        if enc.dtype.itemsize != 1 or enc.dtype.kind not in "iu":
            raise TypeError(f"encoded bytes must be uint8, got {enc.dtype}")
        enc = enc.view(np.uint8)
    enc = np.ascontiguousarray(enc.reshape(-1))
    boffs = np.asarray(byte_offsets)
    if boffs.ndim != 1 or boffs.size < 1 or boffs.dtype.kind not in "iu":
        raise ValueError("byte_offsets must be a 1-D integer array of n+1 byte offsets")
    boffs = np.ascontiguousarray(boffs.astype(np.int64, copy=False))
    n = boffs.size - 1
    bad = np.flatnonzero((boffs[1:] < boffs[:-1]) | (boffs[1:] > enc.size) | (boffs[:-1] < 0))
    if bad.size:
        raise CodecError(where, int(bad[0]), f"{codec}: {_RADWARE_REASONS[1]}")

    sizes = np.asarray(decoded_sizes)
    if sizes.ndim == 0:
        size = int(sizes)
        if size < 0:
            raise ValueError(f"decoded size must be >= 0, got {size}")
        out_offs = np.arange(n + 1, dtype=np.int64) * size
    else:
        if sizes.shape != (n,):
            raise ValueError(f"decoded_sizes has shape {sizes.shape}, expected ({n},)")
        if n and sizes.min() < 0:
            raise ValueError("decoded sizes must be >= 0")
        out_offs = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(sizes, out=out_offs[1:])
    out = np.empty(int(out_offs[-1]), dtype=dtype)

    if codec == "radware_sigcompress":
        from . import radware as kernels

        args: tuple = (_shift(codec_shift), out)
        reasons = _RADWARE_REASONS
    else:
        from . import uleb128 as kernels

        info = np.iinfo(dtype)
        args = (dtype.kind == "i", int(info.min), min(int(info.max), 2**63 - 1), out)
        reasons = _ULEB128_REASONS
    row, code, detail = kernels.decode_rows(enc, boffs, out_offs, *args)
    if row >= 0:
        expected = int(out_offs[row + 1] - out_offs[row])
        reason = reasons[code].format(detail=detail, expected=expected, dtype=dtype)
        raise CodecError(where, int(row), f"{codec}: {reason}")
    return out
