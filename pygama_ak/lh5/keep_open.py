"""Hold a table's datasets open between reads, so consecutive row ranges share HDF5's chunk cache.

Every :func:`pygama_ak.lh5.read` opens and closes its file. A compressed HDF5 chunk that two
reads both touch (a 1-D column's chunk often spans the whole table) is then inflated once per
read. While a dataset stays open anywhere in the process, HDF5 shares its chunk cache with
every other open of it, so :func:`keep_table_open` before reading a table chunk by chunk makes
each chunk inflate once. Tables are held per thread, at most :data:`KEEP_TABLES` at a time
(the oldest is released first); :func:`release_tables` closes them all (call it before
forking workers, and before writing to a file this process may still hold open).
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict

import h5py

from .read import get_object, open_lh5

KEEP_TABLES = 8  # tables held open per thread
CHUNK_CACHE_BYTES = 4 << 20  # HDF5 chunk cache per held dataset (HDF5's default: 1 MiB)


class _Held(threading.local):
    def __init__(self) -> None:
        # (path, table, inode, mtime, size) → (open file, the objects held open)
        self.tables: OrderedDict[tuple, tuple[h5py.File, list]] = OrderedDict()


_HELD = _Held()


def keep_table_open(path: str | os.PathLike, name: str) -> None:
    """Hold object ``name`` of ``path`` and every dataset under it open in this thread.

    A file replaced since (other inode, size or modification time) is a new entry.
    """
    path = os.fspath(path)
    st = os.stat(path)
    key = (path, name, st.st_ino, st.st_mtime_ns, st.st_size)
    if key in _HELD.tables:
        _HELD.tables.move_to_end(key)
        return
    f = open_lh5(path)
    try:
        obj = get_object(f, path, name)
        held = [obj]
        if isinstance(obj, h5py.Group):
            names: list[str] = []
            obj.visit(names.append)  # names only: nothing opened yet
            held += [_open_dataset(obj, n) for n in names
                     if h5py.h5o.get_info(obj.id, n.encode()).type == h5py.h5o.TYPE_DATASET]
    except BaseException:
        f.close()
        raise
    _HELD.tables[key] = (f, held)
    while len(_HELD.tables) > KEEP_TABLES:
        _, (old, _) = _HELD.tables.popitem(last=False)
        old.close()


def _open_dataset(group: h5py.Group, name: str) -> h5py.h5d.DatasetID:
    """Dataset ``name`` under ``group``, opened (first) with a :data:`CHUNK_CACHE_BYTES` chunk
    cache, which later opens of it share."""
    dapl = h5py.h5p.create(h5py.h5p.DATASET_ACCESS)
    dapl.set_chunk_cache(4099, CHUNK_CACHE_BYTES, 0.75)
    return h5py.h5d.open(group.id, name.encode(), dapl=dapl)


def held_tables() -> int:
    """How many tables this thread holds open."""
    return len(_HELD.tables)


def release_tables() -> None:
    """Close every table this thread holds open."""
    while _HELD.tables:
        _, (f, _) = _HELD.tables.popitem()
        f.close()
