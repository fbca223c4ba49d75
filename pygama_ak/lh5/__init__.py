"""The LH5 (LEGEND HDF5) schema layer: LH5 objects ⇄ Awkward arrays ⇄ Arrow/Polars.

Submodules are imported on first use so that ``import pygama_ak.lh5`` stays cheap.
"""

from __future__ import annotations

import importlib

_LAZY = {
    "read": "read",
    "read_n_rows": "read",
    "ls": "read",
    "read_attrs": "read",
    "write": "write",
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

__all__ = sorted(_LAZY)


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
