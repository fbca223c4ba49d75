"""The LH5 (LEGEND HDF5) schema layer: LH5 objects ⇄ Awkward arrays ⇄ Arrow/Polars.

``read`` and ``write`` are imported here (they share their names with their modules);
the other submodules load on first use.
"""

from __future__ import annotations

import importlib

from .read import read as read
from .read import read_n_rows as read_n_rows
from .write import write as write

_LAZY = {
    "ls": "read",
    "read_attrs": "read",
    "scan_lh5": "scan",
    "to_arrow": "arrow",
    "from_arrow": "arrow",
    "to_polars": "arrow",
    "from_polars": "arrow",
    "show": "browse",
    "LH5Error": "errors",
    "LH5NotFoundError": "errors",
    "LH5DecodeError": "errors",
    "LH5WriteError": "errors",
    "Datatype": "datatype",
    "parse_datatype": "datatype",
    "format_datatype": "datatype",
}

__all__ = sorted([*_LAZY, "read", "read_n_rows", "write"])


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
