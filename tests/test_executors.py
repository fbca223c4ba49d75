"""The executor layer: ordered results, bounded work in flight, the caller working beside a pool."""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor

import pytest

from pygama_ak.run.executors import InlineExecutor, ordered_map, process_pool


class CountingPool(ThreadPoolExecutor):
    """A thread pool that records how many calls were in flight at most."""

    def __init__(self, workers: int) -> None:
        super().__init__(workers)
        self.lock = threading.Lock()
        self.in_flight = self.most = self.submitted = 0

    def submit(self, fn, /, *args, **kwargs) -> Future:
        with self.lock:
            self.in_flight += 1
            self.submitted += 1
            self.most = max(self.most, self.in_flight)
        future = super().submit(fn, *args, **kwargs)
        future.add_done_callback(lambda _: self._done())
        return future

    def _done(self) -> None:
        with self.lock:
            self.in_flight -= 1


def slow_square(x: int) -> tuple[int, int]:
    time.sleep(0.01)
    return x * x, threading.get_ident()


@pytest.mark.parametrize("work_here", [False, True])
def test_results_come_in_order_with_bounded_calls_in_flight(work_here):
    with CountingPool(2) as pool:
        out = list(ordered_map(pool, slow_square, range(40), ahead=3, work_here=work_here))
    assert [r for r, _ in out] == [x * x for x in range(40)]
    assert pool.most <= 3
    here = sum(t == threading.get_ident() for _, t in out)
    if work_here:  # the caller took a share and the pool the rest
        assert 0 < here < 40 and pool.submitted == 40 - here
    else:
        assert here == 0 and pool.submitted == 40


def test_caller_works_while_the_pool_is_slow_to_start():
    gate = threading.Event()

    def gated(x: int) -> tuple[int, int]:
        if threading.get_ident() != main:
            gate.wait(5)  # the "pool" is still starting up
        return x, threading.get_ident()

    main = threading.get_ident()
    with ThreadPoolExecutor(1) as pool:
        results = ordered_map(pool, gated, range(12), ahead=2, work_here=True)
        threading.Timer(0.2, gate.set).start()
        out = list(results)
    assert [r for r, _ in out] == list(range(12))
    assert sum(t == main for _, t in out) >= 4  # it did not wait for the pool to start


def test_an_error_in_the_caller_share_is_raised_in_order():
    def fail_on_5(x: int) -> int:
        if x == 5:
            raise ValueError("row 5")
        return x

    seen = []
    with pytest.raises(ValueError, match="row 5"):
        for r in ordered_map(InlineExecutor(), fail_on_5, range(10), ahead=2, work_here=True):
            seen.append(r)
    assert seen == [0, 1, 2, 3, 4]


def test_process_pool_workers_are_separate_processes():
    pool = process_pool(1)
    try:
        assert pool.submit(os.getpid).result() != os.getpid()
    finally:
        pool.shutdown()


def test_freed_memory_is_kept_on_linux():
    import sys

    from pygama_ak.run.executors import keep_freed_memory

    assert keep_freed_memory() is sys.platform.startswith("linux")


def test_undo_frozen_malloc_acts_only_when_the_environment_froze_it(monkeypatch):
    from pygama_ak.run import executors

    calls = []
    monkeypatch.setattr(executors, "keep_freed_memory", lambda: calls.append(1) or True)
    for name in executors.FROZEN_MALLOC_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    assert executors.undo_frozen_malloc() is False and calls == []
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "65536")  # what a LocalCluster leaves behind
    assert executors.undo_frozen_malloc() is True and calls == [1]
