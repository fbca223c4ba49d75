"""dplms: the Digital Penalized Least Mean Squares optimum filter (block processor).

The filter h (n taps) minimises a1·hᵀNh + a2·|R h − r|² + a3·(Σh)², with N the noise
covariance matrix and R built from the reference pulse around its centre (ff = 1: the
outer products at shifts −1, 0, +1 averaged). The solution is flipped into a convolution
kernel and scaled so that the reference pulse convolved with it peaks at 1.
"""

from __future__ import annotations

import numpy as np

from ..errors import DSPFatal
from . import block_processor


def _dplms_kernel(
    noise_mat: np.ndarray,
    reference: np.ndarray,
    a1: float,
    a2: float,
    a3: float,
    ff: float,
    kernel: np.ndarray,
) -> None:
    """One filter into ``kernel`` (float64 solve, stored and normalised in kernel's type)."""
    length = kernel.shape[0]
    if length != noise_mat.shape[0]:
        raise DSPFatal("The length of the filter is not consistent with the noise matrix")
    if len(reference) <= 0:
        raise DSPFatal("The length of the reference signal must be positive")
    if a1 <= 0:
        raise DSPFatal("The penalized coefficient for the noise must be positive")
    if a2 <= 0:
        raise DSPFatal("The penalized coefficient for the reference must be positive")
    if a3 <= 0:
        raise DSPFatal("The penalized coefficient for the zero area must be positive")
    if ff <= 0:
        raise DSPFatal("The penalized coefficient for the ref matrix must be positive")
    if ff != 1:
        raise DSPFatal("The penalized coefficient for the ref matrix must be 0 or 1")
    shifts = (-1, 0, 1)
    size = len(reference)
    lo = int(size / 2 - length / 2)
    hi = int(size / 2 + length / 2)
    ref_mat = np.zeros((length, length))
    ref_sig = np.zeros(length)
    for shift in shifts:
        window = reference[lo + shift : hi + shift]
        ref_mat += np.outer(window, window)
        ref_sig += window
    ref_mat /= len(shifts)
    system = a1 * noise_mat + a2 * ref_mat + a3 * np.ones((length, length))
    kernel[:] = np.linalg.solve(system, ref_sig)[::-1]
    kernel /= np.amax(np.convolve(reference, kernel, mode="valid"))


@block_processor("(n,n),(m),(),(),(),()->(n)", ["ffffff->f", "dddddd->d"])
def dplms(
    noise_mat: np.ndarray,
    reference: np.ndarray,
    a1: object,
    a2: object,
    a3: object,
    ff: object,
    kernel: np.ndarray | None = None,
) -> np.ndarray | None:
    """DPLMS filter coefficients (n taps) from a noise matrix (n × n, ADC²) and a reference
    pulse (m samples); a1, a2, a3: noise, reference and zero-area penalties (> 0); ff: 1 (the
    reference matrix averaged over shifts −1, 0, 1; dspeed rejects ff = 0 despite its docs).

    Arguments may be constants or one per row (rows first); identical rows are computed once.
    DSPFatal for a filter length ≠ n, an empty reference, a penalty ≤ 0 or ff ≠ 1. kernel is
    written in place (allocated and returned if omitted).
    """
    noise = np.asarray(noise_mat)
    ref = np.asarray(reference)
    dtype = (
        kernel.dtype
        if kernel is not None
        else (np.dtype(np.float32) if noise.dtype == np.float32 else np.dtype(np.float64))
    )
    scalars = [np.asarray(v, dtype) for v in (a1, a2, a3, ff)]
    batch = np.broadcast_shapes(noise.shape[:-2], ref.shape[:-1], *(s.shape for s in scalars))
    given = kernel is not None
    out = kernel if given else np.empty((*batch, noise.shape[-1]), dtype)
    if out.shape[-1] != noise.shape[-1] or noise.shape[-2] != noise.shape[-1]:
        raise DSPFatal("The length of the filter is not consistent with the noise matrix")
    rows = out.reshape(-1, out.shape[-1])
    shape = out.shape[:-1]
    noise_b = np.broadcast_to(noise.astype(dtype, copy=False), (*shape, *noise.shape[-2:]))
    ref_b = np.broadcast_to(ref.astype(dtype, copy=False), (*shape, ref.shape[-1]))
    scal_b = [np.broadcast_to(s, shape) for s in scalars]
    constant = noise.ndim == 2 and ref.ndim == 1 and all(s.ndim == 0 for s in scalars)
    for r, index in enumerate(np.ndindex(*shape)):
        if constant and r > 0:
            rows[r] = rows[0]
            continue
        _dplms_kernel(
            noise_b[index],
            ref_b[index],
            *(s[index] for s in scal_b),
            rows[r],
        )
    return None if given else out
