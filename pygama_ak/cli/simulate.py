"""``pygama-ak simulate``: a synthetic DAQ file in one of the supported formats."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from .errors import fail, user_errors


def simulate(
    out: Annotated[Path, typer.Option("--out", "-o", help="the DAQ file to write")],
    format: Annotated[str, typer.Option("--format", "-f", help="DAQ format (see --list)")] = "fcio",
    events: Annotated[int, typer.Option("--events", "-n", min=1, help="events to simulate")] = 1000,
    seed: Annotated[int, typer.Option(help="random seed (same seed, same file)")] = 1,
    overwrite: Annotated[bool, typer.Option(help="replace an existing file")] = False,
) -> None:
    """Write a simulated Th-228 calibration run (HPGe pulses) as a DAQ file."""
    from rich.console import Console

    from pygama_ak.daq.simulators import SIMULATORS
    from pygama_ak.daq.simulators import simulate as write

    if format.lower() not in SIMULATORS:
        fail(f"no simulator for format {format!r}; known: {', '.join(SIMULATORS)}")
    if out.exists() and not overwrite:
        fail(f"{out} exists; pass --overwrite to replace it")
    with user_errors():
        t0 = time.perf_counter()
        path = write(format, out, events, seed=seed)
        size = path.stat().st_size / 1e6
        Console().print(f"{path}: {events} {format} events, {size:.1f} MB in {time.perf_counter() - t0:.2f} s")
