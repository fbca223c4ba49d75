"""The simulators of each DAQ format, by name, for ``pygama-ak simulate``.

Every simulator writes ``n_events`` events of a Th-228 calibration-like run (HPGe pulses) to a
path and returns the path; the format modules hold the detailed writers and their options.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path


def _fcio(path: str | os.PathLike, n_events: int, seed: int) -> Path:
    from .simulate import simulate_fcio

    return simulate_fcio(path, n_events, seed=seed)


def _compass(path: str | os.PathLike, n_events: int, seed: int) -> Path:
    from .simulate_compass import simulate_compass

    return simulate_compass(path, n_events, seed=seed).path  # DT5730 with its settings XML


def _llama(path: str | os.PathLike, n_events: int, seed: int) -> Path:
    from .simulate_llama import all_format_channels, simulate_llama

    return simulate_llama(path, n_events, all_format_channels(0b1111), seed=seed).path


def _orca_flashcam(path: str | os.PathLike, n_events: int, seed: int) -> Path:
    from .simulate_orca import simulate_flashcam_orca

    simulate_flashcam_orca(path, n_events, seed=seed)
    return Path(path)


def _orca_sis3302(path: str | os.PathLike, n_events: int, seed: int) -> Path:
    from .simulate_orca import simulate_sis3302_orca

    simulate_sis3302_orca(path, n_events, seed=seed)
    return Path(path)


def _orca_sis3316(path: str | os.PathLike, n_events: int, seed: int) -> Path:
    from .simulate_orca import simulate_sis3316_orca

    per_packet = 4
    simulate_sis3316_orca(path, -(-n_events // per_packet), events_per_packet=per_packet, seed=seed)
    return Path(path)


def _orca_gretina4m(path: str | os.PathLike, n_events: int, seed: int) -> Path:
    from .simulate_orca import simulate_gretina4m_orca

    per_packet = 3
    simulate_gretina4m_orca(path, -(-n_events // per_packet), records_per_packet=per_packet, seed=seed)
    return Path(path)


SIMULATORS: dict[str, Callable[[str | os.PathLike, int, int], Path]] = {
    "fcio": _fcio,
    "orca-flashcam": _orca_flashcam,
    "orca-sis3302": _orca_sis3302,
    "orca-sis3316": _orca_sis3316,
    "orca-gretina4m": _orca_gretina4m,
    "compass": _compass,
    "llamadaq": _llama,
}


def simulate(name: str, path: str | os.PathLike, n_events: int, *, seed: int = 1) -> Path:
    """Write ``n_events`` simulated events in format ``name`` to ``path``; returns the path."""
    try:
        writer = SIMULATORS[name.lower()]
    except KeyError:
        raise ValueError(f"no simulator for format {name!r}; known: {', '.join(SIMULATORS)}") from None
    return Path(writer(path, n_events, seed))
