"""optimize_nnls: non-negative least squares (Lawson–Hanson active set), min |a·x − b|, x ≥ 0."""

from __future__ import annotations

import numba
import numpy as np

from ..errors import DSPFatal
from ._util import GUFUNC_OPTIONS, NJIT_OPTIONS
from .gufunc import lazy_gufunc


@numba.njit(**NJIT_OPTIONS)
def _sub_matrix(matrix: np.ndarray, chosen: np.ndarray) -> np.ndarray:
    """matrix restricted to the rows and columns where chosen is true."""
    index = np.flatnonzero(chosen)
    k = len(index)
    sub = np.empty((k, k), matrix.dtype)
    for i in range(k):
        for j in range(k):
            sub[i, j] = matrix[index[i], index[j]]
    return sub


@numba.njit(**NJIT_OPTIONS)
def _singular(matrix: np.ndarray) -> bool:
    return abs(np.linalg.det(matrix)) < np.finfo(np.float64).eps


@numba.njit(**NJIT_OPTIONS)
def _solve_passive(
    ata: np.ndarray, atb: np.ndarray, passive: np.ndarray, trial: np.ndarray, allow: bool
) -> bool:
    """trial[passive] = solution of the passive sub-system; False (no solve) when the
    sub-matrix is singular and allow is set."""
    sub = _sub_matrix(ata, passive)
    if allow and _singular(sub):
        return False
    trial[passive] = np.linalg.solve(sub, atb[passive])
    return True


@lazy_gufunc(
    [
        "void(float32[:,::1], float32[::1], float32, float32, boolean, float32, float32[::1])",
        "void(float64[:,::1], float64[::1], float64, float32, boolean, float32, float64[::1])",
    ],
    "(m,n),(m),(),(),(),(),(n)",
    **GUFUNC_OPTIONS,
)
def optimize_nnls(
    a: np.ndarray,
    b: np.ndarray,
    maxiter: float,
    tol: float,
    allow_singularity: bool,
    min_value: float,
    x: np.ndarray,
) -> None:
    """Solve min |a·x − b|² with x ≥ 0 (a: m × n, b: m values, x: n values, written in place).

    Lawson–Hanson on the normal equations aᵀa, aᵀb: a variable enters the passive set while
    its gradient exceeds tol; a solution component ≤ min_value starts a back-off step (at most
    maxiter in all, after which the current x is kept). With allow_singularity, a singular
    passive sub-matrix (|det| < float64 eps) gives an all-NaN x. Arithmetic in a's dtype as
    dspeed (solutions float64). DSPFatal if the shapes do not match.
    """
    m, n = a.shape
    if n != len(x):
        raise DSPFatal("n dimension of coefficient axis doesn't match solution vector length.")
    if m != len(b):
        raise DSPFatal("m dimension of coefficient axis doesn't match right-hand vector length.")
    ata = np.transpose(a) @ a
    atb = b @ a
    x[:] = 0.0
    trial = np.zeros(n, dtype=np.float64)
    passive = np.zeros(n, dtype=np.bool_)
    gradient = atb.astype(np.float64)
    steps = 0
    while not passive.all() and (gradient[~passive] > tol).any():
        passive[np.argmax(gradient * ~passive)] = True
        trial[:] = 0.0
        if not _solve_passive(ata, atb, passive, trial, allow_singularity):
            x[:] = np.nan
            return
        while steps < maxiter and trial[passive].min() <= min_value:
            steps += 1
            low = passive & (trial <= min_value)
            alpha = (x[low] / (x[low] - trial[low])).min()
            x *= 1 - alpha
            x += alpha * trial
            passive[x <= tol] = False
            if not _solve_passive(ata, atb, passive, trial, allow_singularity):
                x[:] = np.nan
                return
            trial[~passive] = 0
        x[:] = trial
        gradient[:] = atb - ata @ x
        if steps == maxiter:
            return
