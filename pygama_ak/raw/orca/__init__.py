"""ORCA DAQ files: packet framing, the XML header and the decoders of each packet type."""

from __future__ import annotations

from .header import OrcaHeader
from .stream import OrcaStream

__all__ = ["OrcaHeader", "OrcaStream"]
