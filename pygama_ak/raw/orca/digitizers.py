"""VME digitizers read out by ORCA: dispatch to the decoder module of each card type."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from ..stream import Batch
from . import gretina4m, sis3302, sis3316
from .header import OrcaHeader

MODULES = {m.NAME: m for m in (sis3302, sis3316, gretina4m)}
DIGITIZERS: tuple[str, ...] = tuple(MODULES)


def digitizer_key_lists(name: str, header: OrcaHeader) -> list[list | None]:
    """daq2lh5's key lists of a digitizer decoder (one list per enabled channel)."""
    return MODULES[name].key_lists(header) or [None]


def decode_digitizer(
    name: str,
    path: str,
    header: OrcaHeader,
    words: np.ndarray,
    offs: np.ndarray,
    lens: np.ndarray,
    pids: np.ndarray,
    base: int,
) -> Iterator[Batch]:
    """Packets of one digitizer decoder → batches."""
    yield from MODULES[name].decode(path, header, words, offs, lens, pids, base)
