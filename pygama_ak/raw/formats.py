"""DAQ formats, recognised from the file's first bytes, and the stream class of each.

FlashCam FCIO, ORCA, llamaDAQ and CoMPASS each have a ``DAQStream``; a new format plugs in
here with a content sniffer and its stream class.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from dataclasses import dataclass

from .errors import UnknownFormatError
from .stream import DAQStream

HEAD_BYTES = 4096


def _sniff_fcio(head: bytes) -> bool:
    from .fcio.records import is_fcio

    return is_fcio(head)


def _sniff_orca(head: bytes) -> bool:
    # header packet: data id 0 in the top 14 bits of word 0, then an XML plist
    return (
        len(head) >= 12 and int.from_bytes(head[:4], "little") >> 18 == 0 and head[8:12] == b"<?xm"
    )


def _sniff_llama(head: bytes) -> bool:
    return len(head) >= 4 and int.from_bytes(head[:4], "little") == 0x4972414C  # "LArI"


def _sniff_compass(head: bytes) -> bool:
    return len(head) >= 2 and int.from_bytes(head[:2], "little") & 0xFFF0 == 0xCAE0


@dataclass(frozen=True)
class Format:
    """A DAQ format: its name (as daq2lh5's ``in_stream_type``), sniffer and stream class."""

    name: str
    sniff: Callable[[bytes], bool]
    stream: str | None  # "module:Class" of its DAQStream; None: not implemented yet


FORMATS = (
    Format("FlashCam", _sniff_fcio, "pygama_ak.raw.fcio.stream:FCIOStream"),
    Format("ORCA", _sniff_orca, "pygama_ak.raw.orca.stream:OrcaStream"),
    Format("LlamaDaq", _sniff_llama, "pygama_ak.raw.llama.stream:LlamaStream"),
    Format("Compass", _sniff_compass, "pygama_ak.raw.compass.stream:CompassStream"),
)


def detect_format(path: str | os.PathLike) -> Format:
    """The format of a DAQ file, from its content (not its name)."""
    with open(path, "rb") as f:
        head = f.read(HEAD_BYTES)
    for fmt in FORMATS:
        if fmt.sniff(head):
            return fmt
    raise UnknownFormatError(
        f"{os.fspath(path)}: not a DAQ file format we know (FlashCam "
        f"FCIO, ORCA, llamaDAQ, CoMPASS); first bytes {head[:8].hex()}"
    )


def get_format(name: str) -> Format:
    """A format by name (case-insensitive; ``fcio`` is FlashCam)."""
    key = {"fcio": "flashcam"}.get(name.lower(), name.lower())
    for fmt in FORMATS:
        if fmt.name.lower() == key:
            return fmt
    raise ValueError(
        f"unknown DAQ format {name!r}: use one of {', '.join(f.name for f in FORMATS)}"
    )


def open_stream(path: str | os.PathLike, fmt: str | None = None, **options) -> DAQStream:
    """A :class:`DAQStream` for ``path`` (format detected unless ``fmt`` is given)."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: no such DAQ file")
    info = get_format(fmt) if fmt else detect_format(path)
    if info.stream is None:
        raise NotImplementedError(
            f"{path}: {info.name} files are recognised but their decoder "
            "is not implemented yet"
        )
    module, _, cls = info.stream.partition(":")
    return getattr(importlib.import_module(module), cls)(path, **options)
