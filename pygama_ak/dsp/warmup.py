"""Compile (or load from numba's cache) every dsp kernel once, before the first real run."""

from __future__ import annotations

import importlib
import time


def warmup() -> dict[str, float]:
    """Import every processor family; returns the seconds each module took."""
    from .processors import FAMILIES

    times: dict[str, float] = {}
    for module in sorted(set(FAMILIES.values())):
        t0 = time.perf_counter()
        importlib.import_module(f"pygama_ak.dsp.processors.{module}")
        times[module] = time.perf_counter() - t0
    return times
