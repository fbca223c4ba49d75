"""The interface every DAQ format implements: a stream of decoded record batches.

A :class:`DAQStream` reads one DAQ file and yields :class:`Batch` es: rows of one decoder's
table (named like daq2lh5's decoder classes, e.g. ``FCEventDecoder``) with one key per row
(a channel id such as a rawid, or a string such as ``fcid_0/status/card0``), in file order.
:func:`pygama_ak.raw.build_raw` routes the rows by decoder and key to output tables. A new
format (ORCA, CoMPASS, llamaDAQ) is a subpackage beside ``fcio/`` with a ``DAQStream``
subclass, registered in :mod:`pygama_ak.raw.formats` with a content sniffer.
"""

from __future__ import annotations

import abc
import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import ClassVar

import awkward as ak
import numpy as np


@dataclass
class Batch:
    """Decoded rows of one decoder's table and the key of each row."""

    decoder: str  # e.g. "FCEventDecoder"
    table: ak.Array
    keys: np.ndarray  # one key per row: int64 channel ids or object (str) keys


@dataclass
class StreamStats:
    """What a stream has read so far."""

    records: Counter = field(default_factory=Counter)  # decoded records by type
    skipped: Counter = field(default_factory=Counter)  # skipped records by type or reason
    bytes_read: int = 0  # bytes of the file covered by complete records
    warnings: list[str] = field(default_factory=list)


class DAQStream(abc.ABC):
    """One DAQ file as a stream of :class:`Batch` es (bounded memory, file order)."""

    #: format name, as daq2lh5's ``in_stream_type`` spells it
    format_name: ClassVar[str] = ""
    #: the decoders whose tables this format produces (daq2lh5 class names)
    decoder_names: ClassVar[tuple[str, ...]] = ()

    def __init__(self, path: str | os.PathLike, **options) -> None:
        """``options``: ``chunk_bytes`` (input read at once) and ``out_bytes`` (decoded bytes
        per batch), the memory bounds every format accepts."""
        self.path = os.fspath(path)
        self.stats = StreamStats()

    @staticmethod
    @abc.abstractmethod
    def sniff(head: bytes) -> bool:
        """Whether a file starting with ``head`` (≥ 64 bytes if the file has them) is ours."""

    @abc.abstractmethod
    def batches(self) -> Iterator[Batch]:
        """Decoded batches in file order.

        A truncated or corrupt file raises a :class:`~pygama_ak.raw.errors.DAQFileError`
        only after the batches of every complete record before the bad one were yielded.
        """


def default_table_name(decoder: str) -> str:
    """daq2lh5's default buffer name: the decoder class name without ``Decoder``."""
    return decoder[: -len("Decoder")] if decoder.endswith("Decoder") else decoder
