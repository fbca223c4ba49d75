"""Compile (or load from numba's cache) dsp kernels before the first real run.

``warmup()`` loads every processor family (``pygama-ak warmup``); ``config_modules(config)``
names those a config uses, which worker processes import before their first task.
"""

from __future__ import annotations

import importlib
import os
import time
from collections.abc import Iterable, Mapping


def warmup(modules: Iterable[str] | None = None) -> dict[str, float]:
    """Import processor families (default: all) and build all their loops; seconds per module."""
    from .processors import FAMILIES
    from .processors.gufunc import LazyGufunc

    times: dict[str, float] = {}
    for module in sorted(set(FAMILIES.values()) if modules is None else set(modules)):
        t0 = time.perf_counter()
        loaded = importlib.import_module(f"pygama_ak.dsp.processors.{module}")
        for value in list(vars(loaded).values()):
            if isinstance(value, LazyGufunc):
                value.build()  # compile (or load) every type loop now
        times[module] = time.perf_counter() - t0
    return times


def config_modules(config: str | os.PathLike | Mapping) -> list[str]:
    """The processor modules (``pygama_ak.dsp.processors.x``) a config uses."""
    from .config import parse_config
    from .processors import FAMILIES

    cfg = parse_config(config)
    return sorted({f"pygama_ak.dsp.processors.{FAMILIES[n.function]}" for n in cfg.nodes.values()
                   if (n.module or "").startswith("dspeed.processors") and n.function in FAMILIES})


#: what worker processes import before their first task (with the config's kernel modules)
WORKER_PRELOAD = ["numpy", "numba", "h5py", "awkward", "pygama_ak.lh5", "pygama_ak.dsp.build_dsp"]
