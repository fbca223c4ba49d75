"""DAQ file → raw-tier LH5 file(s), daq2lh5-compatible tables, bounded memory.

::

    from pygama_ak.raw import build_raw

    summary = build_raw("run.fcio")                       # → run.lh5: FCConfig, FCEvent, FCStatus
    build_raw("run.fcio", "out.lh5", overwrite=True, compression="lzf")
    build_raw("run.fcio", "out.lh5", out_spec={"FCEventDecoder": {"ch{key:07d}/raw": {
        "key_list": ["*"], "out_stream": "out.lh5"}}})   # one table per channel

The file's format is detected from its content. Batches of decoded rows are appended to the
output tables as they come, with :class:`pygama_ak.lh5.write.Appender` (``write`` in append
mode on a file kept open: each HDF5 chunk is compressed once, in threads, while the next
batch is decoded), into temporary files renamed into place at the end; an existing output is
refused unless ``overwrite``. A truncated or corrupt input raises
:class:`~pygama_ak.raw.errors.DAQFileError` (file, byte offset, record type) after every
complete record before the bad one has been written and the outputs renamed into place
(``on_error="warn"``: no exception, the message is in ``summary.error``). Any other failure
leaves no output behind.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import awkward as ak

from ..lh5.output import OutputExistsError
from ..lh5.write import Appender, with_checksum
from .errors import DAQFileError
from .formats import open_stream
from .routing import Router, load_spec
from .summary import RawSummary

DEFAULT_BATCH_BYTES = 4 << 20  # decoded bytes per batch
#: keyword arguments of build_raw that go to the format's stream, not to out_spec templates
STREAM_OPTIONS = ("compass_config_file", "compass_dt_ns", "llama_timezone")


def _load_libc():
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.malloc_trim  # noqa: B018  (glibc only)
    except (OSError, AttributeError):
        return None
    return libc


_LIBC = _load_libc()


def _release_memory() -> None:
    """Hand freed heap memory back to the OS. The writer's compression threads free their
    chunk buffers into per-thread glibc arenas, which would otherwise keep them resident."""
    if _LIBC is not None:
        _LIBC.malloc_trim(0)


class _Outputs:
    """Final output path → an :class:`~pygama_ak.lh5.write.Appender` on a temporary file
    beside it; :meth:`commit` closes them and renames the files into place."""

    def __init__(self, overwrite: bool, compression: Any, batch_bytes: int) -> None:
        self.overwrite, self.compression, self.batch_bytes = overwrite, compression, batch_bytes
        self.temps: dict[str, str] = {}
        self.appenders: dict[str, Appender] = {}

    def check(self, final: str) -> None:
        """Refuse an existing output unless overwriting."""
        if os.path.exists(final) and not self.overwrite:
            raise OutputExistsError(
                f"{final}: output exists; pass overwrite=True (--overwrite) to replace it"
            )

    def append(self, final: str, table: ak.Array, name: str) -> None:
        """Append ``table`` to object ``name`` of output ``final`` (opened on first use)."""
        app = self.appenders.get(final)
        if app is None:
            self.check(final)
            folder = os.path.dirname(os.path.abspath(final))
            os.makedirs(folder, exist_ok=True)
            fd, tmp = tempfile.mkstemp(
                prefix=f".{os.path.basename(final)}.", suffix=".tmp", dir=folder
            )
            os.close(fd)
            os.unlink(tmp)  # the appender creates it as an HDF5 file
            self.temps[final] = tmp
            app = self.appenders[final] = Appender(tmp, compression=self.compression)
            # chunks waiting for their compression thread keep their batch alive: bound them
            app.sink.max_pending_bytes = 2 * self.batch_bytes
        app.append(table, name)

    def commit(self) -> list[str]:
        """Close every output and rename it into place; returns the final names."""
        for app in self.appenders.values():
            app.close()
        self.appenders = {}
        mask = os.umask(0)
        os.umask(mask)
        done = []
        for final, tmp in self.temps.items():
            os.chmod(tmp, 0o666 & ~mask)  # mkstemp made it private; give it the usual mode
            os.replace(tmp, final)
            done.append(final)
        self.temps = {}
        return done

    def discard(self) -> None:
        """Drop every output (after a failure that is not about the input)."""
        for app in self.appenders.values():
            with contextlib.suppress(Exception):
                app.abort()
        self.appenders = {}
        for tmp in self.temps.values():
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        self.temps = {}


def default_output(daq_file: str | os.PathLike) -> Path:
    """daq2lh5's default output name: the DAQ file's path without extension + ``.lh5``."""
    path = Path(daq_file)
    return path.with_suffix(".lh5") if path.suffix else path.with_name(path.name + ".lh5")


def build_raw(
    daq_file: str | os.PathLike,
    out_file: str | os.PathLike | None = None,
    *,
    out_spec: Mapping | str | os.PathLike | None = None,
    overwrite: bool = False,
    compression: Any = "gzip",
    in_format: str | None = None,
    on_error: str = "raise",
    chunk_bytes: int | None = None,
    batch_bytes: int = DEFAULT_BATCH_BYTES,
    progress: Callable[[int, int], None] | None = None,
    resync: bool = False,
    checksum: bool = False,
    **kwargs: Any,
) -> RawSummary:
    """Convert one DAQ file to raw LH5; returns a :class:`RawSummary`.

    ``out_file``: the output (default: ``daq_file`` with extension ``.lh5``), used by the
    default routing and by out_spec entries without a file. ``out_spec``: daq2lh5 routing (a
    mapping or a JSON/YAML file, see :mod:`pygama_ak.raw.routing`); ``kwargs`` fill its
    templates (``orig_basename`` is always set), except the format options named in
    :data:`STREAM_OPTIONS` (``compass_config_file``, ...), which go to the stream. ``compression``: as for
    :func:`pygama_ak.lh5.write` (gzip like daq2lh5, lzf, zstd, None, per-field mapping).
    ``in_format``: skip detection (``"FlashCam"``). ``on_error``: ``"raise"`` or ``"warn"``
    for truncated/corrupt inputs. ``chunk_bytes``: input bytes read at once;
    ``batch_bytes``: decoded bytes per batch (memory: a few times this is in flight).
    ``progress(bytes_done, bytes_total)`` is called after every batch. ``resync``: skip
    corrupt data to the next valid records instead of stopping (ORCA, FCIO; the skipped bytes are
    counted in ``summary.skipped``). ``checksum``: store HDF5 Fletcher32 checksums with every
    dataset (HDF5 then verifies them on every read).
    """
    from ..run.executors import undo_frozen_malloc

    if on_error not in ("raise", "warn"):
        raise ValueError(f"on_error must be 'raise' or 'warn', not {on_error!r}")
    undo_frozen_malloc()
    if checksum:
        compression = with_checksum(compression)
    t0 = time.perf_counter()
    daq_file = os.fspath(daq_file)
    options = {"out_bytes": int(batch_bytes)}
    if chunk_bytes is not None:
        options["chunk_bytes"] = int(chunk_bytes)
    for name in STREAM_OPTIONS:  # format options, passed as daq2lh5 passes them
        if name in kwargs:
            options[name] = kwargs.pop(name)
    if resync:  # only formats that can resync accept the option
        options["resync"] = True
    stream = open_stream(daq_file, in_format, **options)
    out_file = os.fspath(out_file) if out_file is not None else os.fspath(default_output(daq_file))
    spec = None if out_spec is None else load_spec(out_spec)
    names = {"orig_basename": Path(daq_file).stem, **kwargs}
    default_spec = getattr(stream, "default_out_spec", None)  # formats that split by key
    router = Router(
        spec if spec is not None or default_spec is None else default_spec(),
        default_file=out_file,
        kwargs=names,
    )
    outputs = _Outputs(overwrite, compression, int(batch_bytes))
    if out_spec is None:
        outputs.check(out_file)
    summary = RawSummary(
        daq_file=daq_file, format=stream.format_name, file_size=os.path.getsize(daq_file)
    )
    failure: DAQFileError | None = None
    try:
        try:
            for batch in stream.batches():
                scalar = isinstance(batch.table, str)  # e.g. the ORCA header (a JSON string)
                summary.decoded[batch.decoder] += 1 if scalar else len(batch.table)
                for dest, rows in router.split(batch):
                    if dest is None or dest.file is None:
                        continue
                    table = batch.table if rows is None or scalar else batch.table[rows]
                    outputs.append(dest.file, table, dest.name)
                    summary.tables[f"{dest.file}:{dest.name}"] += 1 if scalar else len(table)
                del batch
                _release_memory()
                if progress is not None:
                    progress(stream.stats.bytes_read, summary.file_size)
        except DAQFileError as exc:  # keep every complete record before the bad one
            failure = exc
        summary.outputs = outputs.commit()
    except BaseException:
        outputs.discard()
        raise
    stats = stream.stats
    summary.records.update(stats.records)
    summary.skipped.update(stats.skipped)
    summary.bytes_read = stats.bytes_read
    summary.warnings.extend(stats.warnings)
    summary.seconds = time.perf_counter() - t0
    if failure is not None:
        summary.error = str(failure)
        if on_error == "raise":
            raise failure
        summary.warnings.append(str(failure))
    return summary
