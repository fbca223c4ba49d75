"""The raw tier: DAQ files → raw LH5 tables, as legend-daq2lh5 names them.

``build_raw`` converts one file (format detected from its content; FlashCam FCIO so far);
``open_stream`` iterates over decoded batches without writing. See :mod:`.build_raw`,
:mod:`.routing` (out_spec) and :mod:`.stream` (the interface new formats implement).
"""

from __future__ import annotations

from .build_raw import build_raw, default_output
from .errors import CorruptFileError, DAQFileError, TruncatedFileError, UnknownFormatError
from .formats import detect_format, open_stream
from .stream import Batch, DAQStream
from .summary import RawSummary

__all__ = [
    "Batch",
    "CorruptFileError",
    "DAQFileError",
    "DAQStream",
    "RawSummary",
    "TruncatedFileError",
    "UnknownFormatError",
    "build_raw",
    "default_output",
    "detect_format",
    "open_stream",
]
