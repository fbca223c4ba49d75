"""pygama_ak: LEGEND-style germanium and SiPM detector data processing on Awkward, Polars and numba.

Heavy libraries are imported lazily: ``import pygama_ak`` stays fast, and the first use of
``pygama_ak.read`` (or any other public function) imports what it needs.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_LAZY = {
    "read": "pygama_ak.lh5.read",
    "read_n_rows": "pygama_ak.lh5.read",
    "write": "pygama_ak.lh5.write",
    "scan_lh5": "pygama_ak.lh5.scan",
    "to_arrow": "pygama_ak.lh5.arrow",
    "from_arrow": "pygama_ak.lh5.arrow",
    "to_polars": "pygama_ak.lh5.arrow",
    "from_polars": "pygama_ak.lh5.arrow",
    "lh5": "pygama_ak.lh5",
    "Dataset": "pygama_ak.query.dataset",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str):
    if name in _LAZY:
        module = importlib.import_module(_LAZY[name])
        return module if name == "lh5" else getattr(module, name)
    raise AttributeError(f"module 'pygama_ak' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])
