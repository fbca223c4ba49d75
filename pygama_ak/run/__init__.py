"""Running work over many files: executors (in-process, process pool, Dask)."""

from .executors import make_executor, ordered_map, shutdown

__all__ = ["make_executor", "ordered_map", "shutdown"]
