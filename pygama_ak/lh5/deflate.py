"""Shuffle + deflate chunks in a thread pool and store them with ``write_direct_chunk``.

The datasets keep HDF5's standard filter pipeline (shuffle, then deflate/gzip level 4, as
lgdo writes them), so plain h5py, lgdo and the HDF5 C tools read them; only the encoding work
moves out of HDF5:

* the byte shuffle is a numpy transpose of the chunk (``(n, itemsize)`` → ``(itemsize, n)``);
* zlib releases the GIL, so chunks compress on all cores while the caller goes on (e.g. builds
  the next chunk of events); a caller that needs a result no worker has started compresses
  that chunk itself instead of waiting;
* a chunk is one zlib stream (RFC 1950) made of raw deflate segments, one per run of byte
  planes of the same kind: planes that a 2 KiB sample shows to be incompressible (the low
  mantissa bytes of measured floats) go into *stored* blocks; constant planes (the high
  bytes of small integers) are deflated with zlib's run-length strategy (the same size, ≈ 4×
  faster); the others are deflated at the dataset's level. Random bytes gain < 1 % from
  deflate but cost most of its time: columns compress 2-4× faster than with ``zlib.compress``
  at level 4, for ≤ 1 % more bytes (constant planes: fewer). Any zlib inflater (HDF5's
  deflate filter) decodes the stream to the same bytes.
* deflating uses zlib-ng (``zlib_ng``, the same deflate format, 2-2.5× faster at level 4 for
  ≈ 5 % more bytes) when it is installed, else the standard library's zlib.

:class:`ChunkSink` keeps the rows that do not fill a whole chunk in memory until more rows
arrive (or :meth:`ChunkSink.close`), so every chunk is compressed and written exactly once.
All HDF5 calls stay on the calling thread; the workers only run numpy and zlib.
"""

from __future__ import annotations

import os
import struct
import sys
import threading
import zlib
from collections import deque
from dataclasses import dataclass

import h5py
import numpy as np

try:  # same deflate format, about twice as fast
    from zlib_ng import zlib_ng as deflater
except ImportError:  # pragma: no cover - zlib-ng is a dependency, but plain zlib works too
    deflater = zlib

SAMPLE_BYTES = 2048  # bytes of a byte plane test-compressed to decide stored vs deflated
INCOMPRESSIBLE = 0.98  # sample ratio (compressed / raw) from which a plane is stored
MIN_PLANE_FOR_SAMPLING = 8 * SAMPLE_BYTES  # smaller planes are always deflated
MAX_PENDING_BYTES = 1 << 26  # 64 MiB of uncompressed chunks queued at most (bounds memory)
_ZLIB_HEADER = {0: b"\x78\x01", 1: b"\x78\x01", 2: b"\x78\x5e", 3: b"\x78\x5e", 4: b"\x78\x5e",
                5: b"\x78\x5e", 6: b"\x78\x9c", 7: b"\x78\xda", 8: b"\x78\xda", 9: b"\x78\xda"}
_POOL: _Pool | None = None
_POOL_LOCK = threading.Lock()


def workers() -> int:
    """Compression threads: ``$PYGAMA_AK_WRITE_THREADS`` or the number of CPUs (≤ 8)."""
    env = os.environ.get("PYGAMA_AK_WRITE_THREADS")
    if env:
        return max(1, int(env))
    return max(1, min(8, os.cpu_count() or 1))


class _Job:
    """One chunk to compress; run by a worker or, if none has taken it yet, by the thread
    that needs its result (so waiting for the pool never idles a thread)."""

    __slots__ = ("args", "result", "error", "taken", "done")

    def __init__(self, args: tuple) -> None:
        self.args = args
        self.result: bytes | None = None
        self.error: BaseException | None = None
        self.taken = False  # set (under the pool's lock) by whoever runs the job
        self.done = threading.Event()

    def run(self) -> None:
        try:
            self.result = deflate_chunk(*self.args)
        except BaseException as exc:  # handed to the thread that asks for the result
            self.error = exc
        finally:
            self.args = None  # the chunk is no longer needed
            self.done.set()


class _Pool:
    """Daemon worker threads taking jobs from a FIFO; :meth:`get` runs a job itself when no
    worker has taken it yet."""

    def __init__(self, n: int) -> None:
        self.jobs: deque[_Job] = deque()
        self.cv = threading.Condition()
        for i in range(n):
            threading.Thread(target=self._work, name=f"lh5-deflate-{i}", daemon=True).start()

    def submit(self, *args) -> _Job:
        job = _Job(args)
        with self.cv:
            self.jobs.append(job)
            self.cv.notify()
        return job

    def _take(self, job: _Job) -> bool:
        with self.cv:
            if job.taken:
                return False
            job.taken = True
            return True

    def _work(self) -> None:
        while True:
            with self.cv:
                while not self.jobs:
                    self.cv.wait()
                job = self.jobs.popleft()
                if job.taken:
                    continue
                job.taken = True
            job.run()

    def get(self, job: _Job) -> bytes:
        """The job's compressed chunk: run here if still queued, else wait for its worker."""
        if not job.done.is_set() and self._take(job):
            job.run()
        job.done.wait()
        if job.error is not None:
            raise job.error
        return job.result

    def cancel(self, job: _Job) -> None:
        """Drop a queued job; wait for it if a worker runs it already."""
        if self._take(job):
            job.args, job.error = None, RuntimeError("compression cancelled")
            job.done.set()
        else:
            job.done.wait()


def pool() -> _Pool:
    """The shared compression pool (created on first use; anew in a forked child, which
    inherits the pool but not its threads)."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = _Pool(workers())
        return _POOL


def _forget_pool() -> None:
    global _POOL, _POOL_LOCK
    _POOL, _POOL_LOCK = None, threading.Lock()


os.register_at_fork(after_in_child=_forget_pool)


# ----------------------------------------------------------------------------- encoding
def shuffle(chunk: np.ndarray) -> np.ndarray:
    """HDF5's shuffle filter: byte planes of the chunk's elements, ``(itemsize, n)`` uint8."""
    flat = np.ascontiguousarray(chunk).reshape(-1)
    size = flat.dtype.itemsize
    raw = flat.view(np.uint8).reshape(-1, size)
    return np.ascontiguousarray(raw.T)


STORED, RUNS, DEFLATED = 0, 1, 2  # how a byte plane is encoded


def _plane_kind(plane: np.ndarray) -> int:
    """STORED when a 2 KiB sample (start, middle, end) deflates to ≥ 98 % of its size; RUNS
    when every byte is the same (zlib's run-length strategy: the same size, ≈ 4× faster);
    DEFLATED otherwise."""
    n = len(plane)
    if n < MIN_PLANE_FOR_SAMPLING:
        return DEFLATED
    piece = SAMPLE_BYTES // 4
    mid = n // 2
    sample = b"".join((plane[:2 * piece].tobytes(), plane[mid:mid + piece].tobytes(),
                       plane[n - piece:].tobytes()))
    if sample.count(sample[:1]) == len(sample):  # maybe constant: check every byte
        return RUNS if not np.any(plane != plane[0]) else DEFLATED
    return STORED if len(zlib.compress(sample, 1)) >= INCOMPRESSIBLE * len(sample) else DEFLATED


_ADLER_MOD = 65521
_RUNS_CACHE: dict[tuple, bytes] = {}  # deflated constant planes: zlib's output is deterministic


def _adler_of_run(value: int, n: int, byte: int) -> int:
    """``zlib.adler32(bytes([byte]) * n, value)`` without the bytes (Adler-32 of a run)."""
    a, b = value & 0xFFFF, value >> 16
    b = (b + n * a + byte * (n * (n + 1) // 2)) % _ADLER_MOD
    a = (a + n * byte) % _ADLER_MOD
    return (b << 16) | a


def _byte_planes(chunk: np.ndarray, shuffled: bool) -> list[tuple[int, np.ndarray | int]]:
    """The chunk's byte planes (one when not ``shuffled``), each as ``(RUNS, byte value)``
    or ``(kind, uint8 plane)``. Planes shared by every element are found from the smallest
    and largest element read as unsigned integers (all elements between them share their
    common leading bytes) and never copied out."""
    flat = np.ascontiguousarray(chunk).reshape(-1)
    size = flat.dtype.itemsize
    if not shuffled or size == 1:
        plane = flat.view(np.uint8)
        kind = _plane_kind(plane)
        return [(RUNS, int(plane[0])) if kind == RUNS else (kind, plane)]
    common: dict[int, int] = {}  # plane → the byte all elements have there
    if size in (2, 4, 8) and len(flat):
        as_uint = flat.view(f"u{size}")
        lo, hi = int(as_uint.min()), int(as_uint.max())
        for p in range(size):  # plane p holds the bits 8p.. (little endian) of each element
            shift = 8 * (p if sys.byteorder == "little" else size - 1 - p)
            if lo >> shift == hi >> shift:
                common[p] = (lo >> shift) & 0xFF
    raw = flat.view(np.uint8).reshape(-1, size)
    out: list[tuple[int, np.ndarray | int]] = []
    for p in range(size):
        if p in common:
            out.append((RUNS, common[p]))
            continue
        plane = np.ascontiguousarray(raw[:, p])
        kind = _plane_kind(plane)
        out.append((RUNS, int(plane[0])) if kind == RUNS else (kind, plane))
    return out


def deflate_chunk(chunk: np.ndarray, level: int = 4, shuffled: bool = True) -> bytes:
    """Encode one chunk the way HDF5's shuffle (if ``shuffled``) + deflate filters decode it:
    one zlib stream of raw deflate segments, one per run of planes of the same kind."""
    planes = _byte_planes(chunk, shuffled)
    width = chunk.size * chunk.dtype.itemsize // len(planes)  # bytes per plane
    segments: list[list] = []  # [kind, [planes or byte values]]
    for kind, plane in planes:
        if segments and segments[-1][0] == kind:
            segments[-1][1].append(plane)
        else:
            segments.append([kind, [plane]])
    if len(segments) == 1 and segments[0][0] == DEFLATED:  # zlib's own stream
        comp = deflater.compressobj(level)
        return b"".join([*(comp.compress(p) for p in segments[0][1]), comp.flush()])
    parts = [_ZLIB_HEADER[level]]
    adler = 1
    for k, (kind, members) in enumerate(segments):
        final = k == len(segments) - 1
        flush = zlib.Z_FINISH if final else zlib.Z_SYNC_FLUSH
        if kind == RUNS:
            for byte in members:
                adler = _adler_of_run(adler, width, byte)
            key = (tuple(members), width, level, final)
            encoded = _RUNS_CACHE.get(key)
            if encoded is None:
                comp = deflater.compressobj(level, zlib.DEFLATED, -15, 8, zlib.Z_RLE)
                data = np.repeat(np.array(members, np.uint8), width)
                encoded = comp.compress(data) + comp.flush(flush)
                if len(_RUNS_CACHE) > 1024:
                    _RUNS_CACHE.clear()
                _RUNS_CACHE[key] = encoded
            parts.append(encoded)
            continue
        comp = deflater.compressobj(0 if kind == STORED else level, zlib.DEFLATED, -15)
        for plane in members:
            adler = zlib.adler32(plane, adler)
            parts.append(comp.compress(plane))
        parts.append(comp.flush(flush))
    parts.append(struct.pack(">I", adler))
    return b"".join(parts)


def gzip_level(ds: h5py.Dataset) -> int | None:
    """The deflate level if ``ds`` has exactly the pipeline [shuffle,] deflate; else None."""
    if ds.chunks is None or ds.compression != "gzip" or ds.fletcher32 or ds.scaleoffset:
        return None
    dcpl = ds.id.get_create_plist()
    ids = [dcpl.get_filter(i)[0] for i in range(dcpl.get_nfilters())]
    if ids not in ([h5py.h5z.FILTER_SHUFFLE, h5py.h5z.FILTER_DEFLATE], [h5py.h5z.FILTER_DEFLATE]):
        return None
    if ds.dtype.kind not in "iufS" or not ds.dtype.isnative:
        return None
    return int(ds.compression_opts)


# ----------------------------------------------------------------------------- the sink
@dataclass
class _Target:
    """One dataset being written: rows in queued chunks, the rows of the unfinished chunk."""

    ds: h5py.Dataset
    level: int
    shuffled: bool
    rows: int  # rows per chunk
    dtype: np.dtype
    row_shape: tuple[int, ...]
    done: int  # rows in complete chunks (stored or queued)
    tail: list[np.ndarray]  # the rows after ``done`` (fewer than ``rows``), not queued yet
    n_tail: int
    last: np.ndarray | None = None  # the dataset's last row (it may not be stored yet)


class ChunkSink:
    """Append rows to shuffle+deflate datasets through a thread pool of compressors.

    ``append(ds, data)`` extends ``ds`` and queues its complete chunks for compression;
    ``drain()`` stores the chunks compressed so far (HDF5 calls stay on the calling thread);
    ``close()`` stores everything, the unfinished last chunks included; ``abort()`` drops the
    queue. At most ``max_pending_bytes`` of uncompressed chunks are in flight; beyond that
    ``append`` waits for the oldest. Arrays passed to ``append`` must not change until
    their chunks are stored (the sink keeps views of them, no copies).
    """

    def __init__(self, max_pending_bytes: int = MAX_PENDING_BYTES) -> None:
        self.targets: dict[h5py.h5d.DatasetID, _Target] = {}
        self.max_pending_bytes = max_pending_bytes
        self.pending_bytes = 0
        self.queue: deque[tuple[_Target, int, int, _Job]] = deque()
        # the chunks of an array appended whole to several datasets are compressed once
        self._memo: dict[tuple, tuple[np.ndarray, list[_Job]]] = {}
        #: absolute path → the open dataset, for the datasets rows went through: a later
        #: append finds it without h5py's lookup by name (~0.1 ms per dataset per batch)
        self.by_path: dict[str, h5py.Dataset] = {}

    def accepts(self, ds: h5py.Dataset) -> bool:
        """Whether ``ds`` has a pipeline the sink can encode (and rows along axis 0)."""
        return ds.id in self.targets or (gzip_level(ds) is not None and
                                         ds.chunks[1:] == ds.shape[1:])

    def knows(self, ds: h5py.Dataset) -> bool:
        """Whether rows were appended to ``ds`` through this sink (since the last close)."""
        return ds.id in self.targets

    def dataset_at(self, path: str) -> h5py.Dataset | None:
        """The dataset at absolute ``path`` if rows went to it through this sink (and it is
        still open), else None. (``by_path`` is filled and cleared with ``targets``.)"""
        ds = self.by_path.get(path)
        return ds if ds is not None and ds.id.valid else None

    def target_of(self, ds: h5py.Dataset) -> _Target | None:
        """What the sink knows of ``ds`` (row shape, dtype, ...), if rows went through it."""
        return self.targets.get(ds.id)

    def _target(self, ds: h5py.Dataset) -> _Target:
        t = self.targets.get(ds.id)
        if t is None:
            rows, n = ds.chunks[0], ds.shape[0]
            done = n - n % rows
            tail = [ds[done:n]] if n > done else []  # an unfinished chunk on disk: rewritten
            shuffled = ds.id.get_create_plist().get_filter(0)[0] == h5py.h5z.FILTER_SHUFFLE
            t = self.targets[ds.id] = _Target(ds, gzip_level(ds), shuffled, rows, ds.dtype,
                                              ds.shape[1:], done, tail, n - done)
            self.by_path[ds.name] = ds
        return t

    def append(self, ds: h5py.Dataset, data: np.ndarray) -> None:
        """Add ``data`` (rows of ``ds``'s shape, any dtype numpy can cast) at the end of ``ds``."""
        if not self.accepts(ds):
            raise ValueError(f"{ds.name}: not a shuffle+deflate dataset chunked by rows")
        data = np.asarray(data)
        if len(data) == 0:
            return
        t = self._target(ds)
        if data.shape[1:] != t.row_shape:
            raise ValueError(f"{ds.name}: rows of shape {data.shape[1:]}, dataset {t.row_shape}")
        memo = None
        if data.dtype == t.dtype and not t.n_tail:
            key = (id(data), t.level, t.shuffled, t.rows)
            memo = self._memo.get(key)
            if memo is None or memo[0] is not data:
                while len(self._memo) >= 4:  # only the last few arrays: memory stays bounded
                    del self._memo[next(iter(self._memo))]
                memo = self._memo[key] = (data, [])
        if data.dtype != t.dtype:
            data = data.astype(t.dtype)
        t.last = data[-1].copy()
        ds.id.set_extent((t.done + t.n_tail + len(data), *t.row_shape))
        if t.n_tail:  # complete the unfinished chunk first
            need = t.rows - t.n_tail
            if len(data) < need:
                t.tail.append(data)
                t.n_tail += len(data)
                return self.drain()
            self._submit(t, t.done, np.concatenate([*t.tail, data[:need]]))
            t.done += t.rows
            t.tail, t.n_tail = [], 0
            data = data[need:]
        n_full = len(data) // t.rows * t.rows
        for i, start in enumerate(range(0, n_full, t.rows)):
            chunk = data[start:start + t.rows]
            if memo is None:
                self._submit(t, t.done + start, chunk)
            elif i < len(memo[1]):
                self._submit(t, t.done + start, chunk, memo[1][i])
            else:
                memo[1].append(self._submit(t, t.done + start, chunk))
        t.done += n_full
        if n_full < len(data):
            t.tail, t.n_tail = [data[n_full:]], len(data) - n_full
        self.drain()

    def last_row(self, ds: h5py.Dataset) -> np.ndarray | None:
        """The last row appended to ``ds`` through the sink (None if there is none)."""
        t = self.targets.get(ds.id)
        return None if t is None else t.last

    def _submit(self, t: _Target, offset: int, chunk: np.ndarray, job: _Job | None = None) -> _Job:
        while self.queue and self.pending_bytes + chunk.nbytes > self.max_pending_bytes:
            self._store_first()
        if job is None:
            job = pool().submit(chunk, t.level, t.shuffled)
        self.queue.append((t, offset, chunk.nbytes, job))
        self.pending_bytes += chunk.nbytes
        return job

    def _store_first(self) -> None:
        t, offset, nbytes, job = self.queue[0]
        data = pool().get(job)
        t.ds.id.write_direct_chunk((offset, *([0] * len(t.row_shape))), data)
        self.queue.popleft()
        self.pending_bytes -= nbytes

    def drain(self, wait: bool = False) -> None:
        """Store the chunks compressed so far, in order (``wait``: all queued chunks, those
        no worker has started compressed by this thread)."""
        while self.queue and (wait or self.queue[0][3].done.is_set()):
            self._store_first()

    def close(self) -> None:
        """Queue the unfinished last chunks (zero-padded to a whole chunk) and store all."""
        try:
            for t in self.targets.values():
                if t.n_tail:
                    chunk = np.zeros((t.rows, *t.row_shape), t.dtype)
                    chunk[:t.n_tail] = np.concatenate(t.tail) if len(t.tail) > 1 else t.tail[0]
                    self._submit(t, t.done, chunk)
                    t.tail, t.n_tail = [], 0
            self.drain(wait=True)
        finally:
            self.abort()

    def abort(self) -> None:
        """Forget queued chunks and buffered rows (after an error; the file is not touched)."""
        if self.queue:
            p = pool()
            for *_, job in self.queue:  # no worker may outlive the data it reads
                p.cancel(job)
        self.queue.clear()
        self.targets.clear()
        self.by_path.clear()
        self._memo.clear()
        self.pending_bytes = 0
