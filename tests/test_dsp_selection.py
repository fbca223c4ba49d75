"""where and get_default, the engine's selection and element-access helpers."""

from __future__ import annotations

import numpy as np
import pytest

from pygama_ak.dsp.processors import lookup
from pygama_ak.dsp.processors.selection import get_default, where

WHERE_TYPES = ["?BB->B", "?HH->H", "?II->I", "?LL->L", "?bb->b", "?hh->h", "?ii->i", "?ll->l"]
WHERE_TYPES += ["?ff->f", "?dd->d"]
GET_TYPES = ["BlB->B", "HlH->H", "IlI->I", "LlL->L", "blb->b", "hlh->h", "ili->i", "lll->l"]
GET_TYPES += ["flf->f", "dld->d", "FlF->F", "DlD->D"]


def test_interface():
    assert lookup("where") is where and where.types == WHERE_TYPES
    assert lookup("get_default") is get_default and get_default.types == GET_TYPES
    assert get_default.signature == "(n),(),()->()"


@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.int64, np.uint64, np.float32, np.float64])
def test_where(dtype):
    rng = np.random.default_rng(0)
    cond = rng.random(50) < 0.5
    a = rng.integers(0, 100, 50).astype(dtype)
    b = rng.integers(0, 100, 50).astype(dtype)
    out = where(cond, a, b)
    assert out.dtype == dtype
    np.testing.assert_array_equal(out, np.where(cond, a, b))
    np.testing.assert_array_equal(where(cond, a, dtype(7)), np.where(cond, a, 7))


def test_where_keeps_nan():
    out = where(np.array([True, False]), np.float32([np.nan, 1]), np.float32([2, np.nan]))
    assert np.isnan(out).all()


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.complex128])
def test_get_default_float(dtype):
    x = np.arange(24, dtype=dtype).reshape(3, 8)
    x[2, 1] = np.nan
    idx = np.array([3, -1, 1])
    out = get_default(x, idx, dtype(np.nan))
    assert out.dtype == dtype
    assert out[0] == 3 and out[1] == 15 and np.isnan(out[2])  # a NaN value gives the default
    for i in (8, -9, 100, -100):
        assert np.isnan(get_default(x[0], i, dtype(np.nan)))
    assert get_default(x[0], -8, dtype(-1)) == 0
    assert get_default(x[0], 8, dtype(-1)) == -1


@pytest.mark.parametrize("dtype", [np.uint16, np.int32, np.int64, np.uint64])
def test_get_default_int(dtype):
    x = np.arange(10, dtype=dtype)
    big = np.iinfo(dtype).max
    assert get_default(x, 4, dtype(big)) == 4
    assert get_default(x, -2, dtype(big)) == 8
    assert get_default(x, 10, dtype(big)) == big
    assert get_default(x, -11, dtype(big)) == big


# ------------------------------------------------------------------------------------ get
GET_DSPEED_TYPES = ["bl->b", "hl->h", "il->i", "ll->l", "Bl->B", "Hl->H", "Il->I", "Ll->L"]
GET_DSPEED_TYPES += ["fl->f", "dl->d", "Fl->F", "Dl->D"]


def test_get_interface():
    from pygama_ak.dsp.processors.selection import get

    assert lookup("get") is get
    assert get.signature == "(n),()->()"
    assert get.types == GET_DSPEED_TYPES


@pytest.mark.parametrize("dtype", [np.int8, np.uint16, np.int64, np.float32, np.complex128])
def test_get_matches_python_indexing(dtype):
    rng = np.random.default_rng(2)
    a = rng.integers(0, 100, size=(20, 9)).astype(dtype)
    i = rng.integers(-9, 9, size=20)
    out = lookup("get")(a, i)
    assert out.dtype == dtype
    np.testing.assert_array_equal(out, [a[r][i[r]] for r in range(20)])


def test_get_keeps_nan_and_fails_out_of_range():
    from pygama_ak.dsp.errors import DSPFatal

    a = np.array([1.0, np.nan, 3.0])
    assert np.isnan(lookup("get")(a, 1)) and lookup("get")(a, -3) == 1.0
    for i in (3, -4):
        with pytest.raises(DSPFatal, match="out of range"):
            lookup("get")(a, i)
