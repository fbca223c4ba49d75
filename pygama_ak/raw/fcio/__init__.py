"""FlashCam FCIO: tmio framing, record decoders and the :class:`FCIOStream`.

The submodules load on first use, so that sniffing a file's format (``records.is_fcio``)
does not load the numba framing kernels.
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {"FCIOConfig": "config", "FCIOStream": "stream", "RecordReader": "reader", "is_fcio": "records"}

__all__ = ["FCIOConfig", "FCIOStream", "RecordReader", "is_fcio"]


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
