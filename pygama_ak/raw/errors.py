"""Errors of the raw tier: what went wrong, in which file, at which byte, in which record."""

from __future__ import annotations


class DAQFileError(ValueError):
    """A DAQ file is truncated or corrupt.

    ``path``: the file; ``offset``: byte offset of the record that could not be decoded;
    ``record``: its type (e.g. ``"SparseEvent"``); ``reason``: what is wrong with it.
    ``records_done`` is the number of complete records before it (all of them were decoded
    and, in :func:`~pygama_ak.raw.build_raw`, written).
    """

    kind = "corrupt"

    def __init__(self, path: str, offset: int, record: str, reason: str) -> None:
        self.path, self.offset, self.record, self.reason = str(path), int(offset), record, reason
        self.records_done: int | None = None
        super().__init__(self._message())

    def _message(self) -> str:
        msg = (
            f"{self.path}: {self.kind} file: {self.record} record at byte offset "
            f"{self.offset}: {self.reason}"
        )
        if self.records_done is not None:
            msg += f" ({self.records_done} complete records before it were kept)"
        return msg

    def with_records_done(self, n: int) -> DAQFileError:
        """Record how many complete records precede the bad one (updates the message)."""
        self.records_done = int(n)
        self.args = (self._message(),)
        return self


class TruncatedFileError(DAQFileError):
    """The file ends inside a record (cut copy, file still being written, ...)."""

    kind = "truncated"


class CorruptFileError(DAQFileError):
    """A record holds values no valid writer produces (bad tag, frame size or index)."""

    kind = "corrupt"


class UnknownFormatError(ValueError):
    """The file's content matches no DAQ format we know."""
