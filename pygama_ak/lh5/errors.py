"""Errors of the LH5 layer: every message names the file, the object path and the reason."""

from __future__ import annotations


class LH5Error(Exception):
    """Base class: ``file``, ``path`` (object inside the file) and ``reason``."""

    def __init__(self, file: str, path: str, reason: str) -> None:
        self.file, self.path, self.reason = str(file), str(path), reason
        super().__init__(f"{self.file}:{self.path}: {reason}")


class LH5NotFoundError(LH5Error, KeyError):
    """The requested object (or field) does not exist in the file."""

    def __str__(self) -> str:  # KeyError would quote the message
        return Exception.__str__(self)


class LH5DecodeError(LH5Error):
    """The object exists but cannot be read: unknown datatype, bad layout, corrupt codec bytes."""


class LH5WriteError(LH5Error):
    """A write that would clash with what is in the file, or data LH5 cannot hold."""
