"""One executor layer over ``concurrent.futures``: in-process, a local process pool, or Dask.

``jobs=1`` runs in the calling process; ``jobs=N`` a ``ProcessPoolExecutor`` started with
``forkserver`` (no inherited threads or locks); ``scheduler="tcp://host:port"`` a
``distributed.Client(...).get_executor()`` (``pygama_ak[dask]``, imported only then).
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, Future
from typing import Any


class InlineExecutor(Executor):
    """Runs each call at submit time in this process (``--jobs 1``)."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        future: Future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # noqa: BLE001 - handed to the caller through the future
            future.set_exception(exc)
        return future


def import_modules(names: list[str]) -> None:
    """Import ``names`` (run on workers to load code and numba kernels before the work)."""
    import importlib

    for name in names:
        importlib.import_module(name)


# glibc mallopt parameters
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3


def keep_freed_memory(trim_bytes: int = 256 << 20, mmap_bytes: int = 32 << 20) -> bool:
    """Let glibc keep and reuse freed memory, as a plain process does (Linux; False elsewhere).

    Dask's nanny starts workers with ``MALLOC_TRIM_THRESHOLD_=65536``, which also freezes glibc's
    mmap threshold: every array over 128 KiB is then mapped fresh and returned on free, and a dsp
    task page-faults ~75 000 times instead of ~2 000. Arrays up to ``mmap_bytes`` come from the
    heap again, and the heap is trimmed only above ``trim_bytes`` of free memory.
    """
    import ctypes
    import sys

    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    return bool(libc.mallopt(_M_MMAP_THRESHOLD, mmap_bytes)) and bool(libc.mallopt(_M_TRIM_THRESHOLD, trim_bytes))


#: environment variables that freeze glibc's malloc thresholds (set by Dask's nanny, and left
#: in the environment of a process that started a LocalCluster, whose children inherit them)
FROZEN_MALLOC_VARIABLES = ("MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TOP_PAD_")


def undo_frozen_malloc() -> bool:
    """:func:`keep_freed_memory` if this process's environment froze malloc's thresholds.

    With ``MALLOC_TRIM_THRESHOLD_=65536`` inherited, the dsp tier page-faults ~25× more
    and runs ~35 % slower. Called at the start of every tier's work; True if it acted.
    """
    if any(name in os.environ for name in FROZEN_MALLOC_VARIABLES):
        return keep_freed_memory()
    return False


def default_jobs() -> int:
    """Cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def make_executor(jobs: int | None = 1, scheduler: str | None = None,
                  preload: Iterable[str] = ()) -> Executor:
    """An executor for ``jobs`` workers (None: one per core), or the Dask cluster at ``scheduler``.

    ``preload``: modules the forkserver imports once, so that every worker forked from it starts
    with them (and the numba kernels they load) ready (on Dask: imported on every worker before
    the first task).
    """
    if scheduler:
        try:
            from distributed import Client
        except ImportError as exc:  # pragma: no cover - depends on the extra
            raise RuntimeError("--scheduler needs dask.distributed: pip install 'pygama_ak[dask]'") from exc
        client = Client(scheduler)
        client.run(keep_freed_memory)
        if preload:
            client.run(import_modules, list(preload))  # every worker, in parallel
        executor = client.get_executor(pure=False)  # a retry must run again, not reuse a result
        executor.pygama_ak_client = client  # closed by shutdown()
        return executor
    jobs = default_jobs() if jobs is None else jobs
    if jobs <= 1:
        return InlineExecutor()
    return process_pool(jobs, preload)


def process_pool(workers: int, preload: Iterable[str] = (), inherit: bool = False) -> Executor:
    """A ``ProcessPoolExecutor`` of ``workers`` processes.

    ``inherit``: fork the workers from this process, so they start at once with everything it
    has loaded (code, numba kernels, built chains); only on Linux and only while this process
    runs a single thread (forking a threaded process can inherit a held lock). Otherwise the
    workers come from a forkserver that imports ``preload`` once.
    """
    import multiprocessing
    import sys
    import threading
    from concurrent.futures import ProcessPoolExecutor

    if inherit and sys.platform == "linux" and threading.active_count() == 1:
        return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"))
    context = multiprocessing.get_context("forkserver")
    if preload:
        context.set_forkserver_preload(list(preload))
    return ProcessPoolExecutor(workers, mp_context=context)


def shutdown(executor: Executor) -> None:
    """Stop ``executor``: cancel what has not started, wait for the rest, close a Dask client."""
    try:
        executor.shutdown(wait=True, cancel_futures=True)
    except TypeError:  # distributed's ClientExecutor has no cancel_futures
        executor.shutdown(wait=True)
    client = getattr(executor, "pygama_ak_client", None)
    if client is not None:
        client.close()


def ordered_map(executor: Executor, fn: Callable[[Any], Any], items: Iterable[Any],
                ahead: int, work_here: bool = False) -> Iterator[Any]:
    """``fn`` over ``items`` in order, with at most ``ahead`` calls in flight (bounded memory).

    ``work_here``: this process runs items too, whenever the executor already has ``ahead``
    calls in flight and the oldest has not finished. It starts working at once, while pool
    workers are still starting, and then shares the items with them (so ``--jobs N`` is this
    process plus N − 1 workers).
    """
    pending: deque[tuple[Future, bool]] = deque()  # (future, submitted to the executor)
    in_pool = 0  # calls submitted to the executor and not yet collected
    source = iter(items)
    exhausted = False

    def collect() -> Any:
        nonlocal in_pool
        future, pooled = pending.popleft()
        in_pool -= pooled
        return future.result()

    while True:
        while not exhausted and in_pool < ahead:
            item = next(source, _DONE)
            if item is _DONE:
                exhausted = True
                break
            pending.append((executor.submit(fn, item), True))
            in_pool += 1
        while pending and pending[0][0].done():
            yield collect()
        if work_here and not exhausted and len(pending) < 2 * ahead:
            item = next(source, _DONE)
            if item is _DONE:
                exhausted = True
            else:
                pending.append((InlineExecutor().submit(fn, item), False))
        elif pending:
            yield collect()
        elif exhausted:
            return


_DONE = object()
