"""Queries over a production tree: lazy hit and event frames, named cuts, cut-flows, Parquet.

* :mod:`.layout` — file templates, cycle discovery, per-channel table names
* :mod:`.columns` — what a column name means (qualified/bare, nested groups, units)
* :mod:`.chmap` — channel maps and parameter databases (legend-metadata validity folders)
* :mod:`.source` — the lazy Polars sources (multi-tier late materialisation, TCM explode)
* :mod:`.dataset` — :class:`Dataset`: ``cycles()``, ``runs()``, ``channels()``, ``hits()``,
  ``events()``, ``selection()``
* :mod:`.named` — named queries (files of literal data in ``queries/``)
* :mod:`.cutflow` — cut-flow counts and their rich table
* :mod:`.export` — atomic Parquet output with units metadata

Submodules load on first use.
"""

from __future__ import annotations

import importlib

_LAZY = {
    "Dataset": "dataset",
    "Selection": "dataset",
    "ChannelMap": "chmap",
    "NamedQuery": "named",
    "load_query": "named",
    "list_queries": "named",
    "CutFlow": "cutflow",
    "write_parquet": "export",
    "discover": "layout",
    "Template": "layout",
    "LEGEND_TEMPLATE": "layout",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
