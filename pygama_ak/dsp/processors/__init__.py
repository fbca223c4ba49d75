"""Numba kernels with dspeed's names, signatures and argument order.

Each family lives in its own module and is imported only when a config uses one of its
processors, so building a chain loads only the kernels it needs. A processor is either a numba
``GUFunc`` (``.signature`` and ``.types`` as numpy writes them, outputs passed by reference) or a
Python callable on whole blocks of rows decorated with :func:`block_processor`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

# processor name -> module in this package that defines it
FAMILIES: dict[str, str] = {
    # baseline, fits, statistics
    "bl_subtract": "baseline",
    "linear_slope_fit": "fits",
    "linear_slope_diff": "fits",
    "min_max": "min_max",
    "saturation": "saturation",
    "time_over_threshold": "saturation",
    "mean_below_threshold": "saturation",
    # pole-zero and recursive filters
    "pole_zero": "pole_zero",
    "double_pole_zero": "pole_zero",
    # trapezoids and pick-offs
    "trap_filter": "trap_filters",
    "trap_norm": "trap_filters",
    "asym_trap_filter": "trap_filters",
    "trap_pickoff": "trap_filters",
    # kernels and convolutions
    "t0_filter": "kernels",
    "cusp_filter": "kernels",
    "zac_filter": "kernels",
    "gaussian_filter1d": "kernels",
    "convolve_wf": "convolutions",
    "fft_convolve_wf": "convolutions",
    "reflected_convolve_wf": "convolutions",
    # time points, pick-offs, windows, resampling
    "time_point_thresh": "time_point_thresh",
    "fixed_time_pickoff": "fixed_time_pickoff",
    "windower": "windower",
    "avg_current": "moving_windows",
    "moving_window_left": "moving_windows",
    "moving_window_right": "moving_windows",
    "moving_window_multi": "moving_windows",
    "upsampler": "upsampler",
    # histograms and multi-pulse (SiPM)
    "histogram": "histogram",
    "histogram_stats": "histogram",
    "get_multi_local_extrema": "multi_pulse",
    "peak_snr_threshold": "multi_pulse",
    "multi_a_filter": "multi_pulse",
    # engine helpers: rounding, selection and element access
    "round_to_nearest": "rounding",
    "floor_to_nearest": "rounding",
    "ceil_to_nearest": "rounding",
    "trunc_to_nearest": "rounding",
    "where": "selection",
    "get_default": "selection",
}


def block_processor(signature: str, types: list[str]) -> Callable[[Callable], Callable]:
    """Mark a Python callable that processes a whole block of rows at once.

    ``signature`` and ``types`` follow numpy's gufunc conventions (e.g. ``"(n),(m),(),(p)"`` and
    ``["ffbf->"]``); the callable receives the block arrays (rows first) in config order and
    writes its outputs in place.
    """

    def mark(func: Callable) -> Callable:
        func.signature = signature  # type: ignore[attr-defined]
        func.types = list(types)  # type: ignore[attr-defined]
        func.is_block_processor = True  # type: ignore[attr-defined]
        return func

    return mark


def lookup(name: str) -> Any:
    """The processor called ``name`` (dspeed's name); KeyError if pygama_ak has none."""
    try:
        module = FAMILIES[name]
    except KeyError:
        raise KeyError(f"no processor named {name!r}; known: {', '.join(sorted(FAMILIES))}") from None
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
