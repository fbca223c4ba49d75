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
    "get": "selection",
    # recursive (IIR) filters, their factories, shapers and corrections
    "recursive_filter": "iir_filters",
    "iir_filter": "iir_filters",
    "notch_filter": "iir_filters",
    "peak_filter": "iir_filters",
    "convolve_exp": "pole_zero",
    "convolve_damped_oscillator": "pole_zero",
    "inject_damped_oscillation": "pole_zero",
    "rc_cr2": "rc_cr2",
    "soft_pileup_corr": "soft_pileup_corr",
    "soft_pileup_corr_bl": "soft_pileup_corr",
    "presum": "presum",
    "inl_correction": "corrections",
    "wf_correction": "corrections",
    # optimum filters and transforms
    "dplms": "dplms",
    "wiener_filter": "wiener_filter",
    "fft": "fft",
    "ifft": "fft",
    "psd": "fft",
    "discrete_wavelet_transform": "dwt",
    "moving_slope": "kernels",
    "step": "kernels",
    # fits and per-sample transforms
    "poly_fit": "poly_fit",
    "poly_diff": "poly_fit",
    "poly_exp_rms": "poly_fit",
    "log_check": "log_check",
    "sort": "sort",
    "min_max_norm": "min_max",
    "optimize_1pz": "optimize",
    "optimize_2pz": "optimize",
    "optimize_nnls": "nnls",
    # more time points, histograms, resampling and alignment
    "interpolated_time_point_thresh": "time_point_thresh",
    "multi_time_point_thresh": "time_point_thresh",
    "bi_level_zero_crossing_time_points": "time_point_thresh",
    "get_wf_centroid": "centroid",
    "histogram_around_mode": "histogram",
    "histogram_peakstats": "histogram",
    "interpolating_upsampler": "upsampler",
    "wf_alignment": "wf_alignment",
    "pad": "pad",
    "multi_t_filter": "multi_t_filter",
    "remove_duplicates": "multi_t_filter",
    # pulse injection (simulation and tests)
    "inject_sig_pulse": "pulse_injector",
    "inject_exp_pulse": "pulse_injector",
    "inject_gumbel": "pulse_injector",
    "inject_general_logistic": "pulse_injector",
    # classifiers: small neural-network layers, sklearn SVM, Keras models
    "dense_layer_no_bias": "ml",
    "dense_layer_with_bias": "ml",
    "classification_layer_no_bias": "ml",
    "classification_layer_with_bias": "ml",
    "normalisation_layer": "ml",
    "svm_predict": "svm",
    "tf_model": "tf_model",
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
