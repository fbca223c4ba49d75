"""Lazy gufuncs: numba's interface, only the loops used are built, same results."""

from __future__ import annotations

import numba
import numpy as np
import pytest

from pygama_ak.dsp.processors import FAMILIES, lookup
from pygama_ak.dsp.processors.gufunc import LazyGufunc, lazy_gufunc

SIGNATURES = ["void(float32[:], float32, float32[:])", "void(float64[:], float64, float64[:])"]


def shift(w, a, out):
    for i in range(w.shape[0]):
        out[i] = w[i] - a


def test_interface_equals_numbas_gufunc():
    lazy = lazy_gufunc(SIGNATURES, "(n), ()->(n)", nopython=True)(shift)
    eager = numba.guvectorize(SIGNATURES, "(n), ()->(n)", nopython=True)(shift)
    assert (lazy.signature, lazy.types, lazy.nin, lazy.nout) == (eager.signature, eager.types, eager.nin, eager.nout)
    assert lazy.__name__ == "shift"


def test_only_the_called_loop_is_built_and_results_match():
    lazy = lazy_gufunc(SIGNATURES, "(n),()->(n)", nopython=True)(shift)
    w = np.arange(6, dtype=np.float32).reshape(2, 3)
    out = lazy(w, np.float32(1.5))
    assert out.dtype == np.float32 and list(lazy._loops) == ["fff"] and lazy._all is None
    np.testing.assert_array_equal(out, w - np.float32(1.5))
    # a Python float matches no loop exactly: every loop is built and numpy resolves as usual
    np.testing.assert_array_equal(lazy(w.astype(np.float64), 2.0), w.astype(np.float64) - 2.0)
    assert lazy._all is not None


def test_a_loop_that_cannot_take_the_arguments_falls_back_to_numpys_choice():
    lazy = lazy_gufunc(SIGNATURES, "(n),()->(n)", nopython=True)(shift)
    loop = lazy.specialize("ff->f")
    w = np.ones((1, 4), dtype=np.float64)  # float64 cannot go to the float32 loop safely
    np.testing.assert_array_equal(loop(w, np.float64(1.0)), np.zeros((1, 4)))
    with pytest.raises(TypeError, match="no loop"):
        lazy.specialize("ii->i")


def test_every_processor_gufunc_is_lazy_and_reports_its_loops():
    checked = 0
    for name in sorted(FAMILIES):
        func = lookup(name)
        if isinstance(func, LazyGufunc):
            assert func.types and all("->" in t for t in func.types), name
            checked += 1
    assert checked >= 20
