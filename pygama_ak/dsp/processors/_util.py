"""Shared pieces of the kernels: numba options and a NaN scan."""

from __future__ import annotations

import numba
import numpy as np

# every gufunc is compiled ahead of use for its listed types and cached on disk
GUFUNC_OPTIONS: dict = {"nopython": True, "cache": True}


@numba.njit(cache=True, inline="always")
def any_nan(values: np.ndarray) -> bool:
    """True if a float buffer holds a NaN anywhere (integers never do)."""
    for value in values:  # noqa: SIM110 - a plain loop compiles to a tight numba loop
        if np.isnan(value):
            return True
    return False
