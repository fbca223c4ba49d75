"""Comparison helpers shared by the tests."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager

import awkward as ak
import numpy as np


def assert_same(a, b, where: str = "") -> None:
    """Assert two read results hold the same values: fields compared by name (order ignored),
    NaN equal to NaN, dtypes equal, Awkward parameters ignored."""
    if isinstance(a, ak.Record) or isinstance(b, ak.Record):
        assert isinstance(a, ak.Record) and isinstance(b, ak.Record), where
        assert set(a.fields) == set(b.fields), f"{where}: fields {a.fields} != {b.fields}"
        for f in a.fields:
            assert_same(a[f], b[f], f"{where}/{f}")
        return
    if not isinstance(a, ak.Array):
        if isinstance(a, float) and np.isnan(a):
            assert np.isnan(b), where
        else:
            assert a == b, f"{where}: {a!r} != {b!r}"
        return
    assert isinstance(b, ak.Array), f"{where}: {type(b)}"
    assert len(a) == len(b), f"{where}: {len(a)} != {len(b)} rows"
    if a.fields:
        assert set(a.fields) == set(b.fields), f"{where}: fields {a.fields} != {b.fields}"
        for f in a.fields:
            assert_same(a[f], b[f], f"{where}/{f}")
        return
    la, lb = ak.to_layout(a), ak.to_layout(b)
    assert _shape_type(la) == _shape_type(lb), f"{where}: {a.type} != {b.type}"
    fa, fb = _leaves(la), _leaves(lb)
    if fa.dtype.kind == "f":
        np.testing.assert_array_equal(fa, fb, err_msg=where)  # NaN == NaN here
    else:
        assert np.array_equal(fa, fb), f"{where}: values differ"
    assert np.array_equal(_counts(la), _counts(lb)), f"{where}: list lengths differ"


def _shape_type(layout) -> str:
    return str(ak.without_parameters(ak.Array(layout)).type)


def _leaves(layout) -> np.ndarray:
    return np.asarray(ak.flatten(ak.Array(layout), axis=None))


def _counts(layout) -> np.ndarray:
    arr = ak.Array(layout)
    out = []
    depth = arr.ndim
    for axis in range(1, depth):
        out.append(np.asarray(ak.flatten(ak.num(arr, axis=axis), axis=None)))
    return np.concatenate(out) if out else np.zeros(0)


@contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Fail instead of hanging: a TimeoutError after ``seconds`` s (main thread, Unix)."""

    def boom(*_):
        raise TimeoutError(f"no result within {seconds} s")

    old = signal.signal(signal.SIGALRM, boom)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def datasets(group) -> dict:
    """Every object under an h5py group, by path."""
    out = {}
    group.visititems(lambda n, o: out.__setitem__(n, o))
    return out


def attrs(obj) -> dict:
    """An h5py object's attributes with bytes decoded."""
    return {k: (v.decode() if isinstance(v, bytes) else v) for k, v in obj.attrs.items()}
