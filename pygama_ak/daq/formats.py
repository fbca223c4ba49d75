"""The simulators of each DAQ format, by name, for ``pygama-ak simulate``.

Every entry is ``"module:function"``; the function writes ``n_events`` events of a Th-228
calibration-like run to a path and is called as ``function(path, n_events, seed=...)``.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from pathlib import Path

SIMULATORS: dict[str, str] = {
    "fcio": "pygama_ak.daq.simulate:simulate_fcio",
}


def simulator(name: str) -> Callable[..., Path]:
    """The simulator of format ``name`` (see :data:`SIMULATORS`)."""
    try:
        target = SIMULATORS[name.lower()]
    except KeyError:
        raise ValueError(f"no simulator for format {name!r}; known: {', '.join(SIMULATORS)}") from None
    module, _, func = target.partition(":")
    return getattr(importlib.import_module(module), func)


def simulate(name: str, path: str | os.PathLike, n_events: int, *, seed: int = 1) -> Path:
    """Write ``n_events`` simulated events in format ``name`` to ``path``; returns the path."""
    return Path(simulator(name)(path, n_events, seed=seed))
