"""Files of one command processed at once: ``--jobs N`` worker processes or a Dask cluster."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any


def map_files(fn: Callable[[Any], Any], items: Sequence[Any], *, jobs: int, scheduler: str | None,
              preload: Sequence[str], label: str, console: Any = None) -> list[Any]:
    """``fn`` over ``items`` (one per file) through :mod:`pygama_ak.run` executors, in order,
    with one progress bar over the files. ``fn`` must be importable (it runs in workers)."""
    from rich.progress import Progress

    from ..run import make_executor, ordered_map, shutdown

    workers = max(1, min(jobs, len(items))) if not scheduler else jobs
    executor = make_executor(workers, scheduler, preload=list(preload))
    results = []
    try:
        with Progress(transient=True, console=console) as progress:
            task = progress.add_task(label, total=len(items))
            for result in ordered_map(executor, fn, items, 2 * max(workers, 1)):
                results.append(result)
                progress.advance(task)
    finally:
        shutdown(executor)
    return results
