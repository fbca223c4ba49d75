"""FlashCam FCIO: tmio framing, record decoders and the :class:`FCIOStream`."""

from __future__ import annotations

from .config import FCIOConfig
from .reader import RecordReader, is_fcio
from .stream import FCIOStream

__all__ = ["FCIOConfig", "FCIOStream", "RecordReader", "is_fcio"]
