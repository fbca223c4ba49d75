"""Straight-line fits over waveform segments: linear_slope_fit and linear_slope_diff.

``linear_slope_fit`` is a block processor: dspeed's running (Welford) mean is a float32 chain
with a float64 division per sample, latency-bound on one waveform, so eight rows are run side
by side (same operations in the same order per row, hence the same bits, ~7× faster).
"""

from __future__ import annotations

import numba
import numpy as np

from . import block_processor
from ._util import GUFUNC_OPTIONS, NJIT_OPTIONS, any_nan, as_rows, cast_like, float_dtype, out_array
from .gufunc import lazy_gufunc


# ----------------------------------------------------------------------------- linear_slope_fit
@numba.njit(**NJIT_OPTIONS)
def _fit_finish(
    n: int, mean: float, ssq: float, sum_y: float, sum_xy: float, zero: float
) -> tuple[float, float, float, float]:
    """std, slope and intercept from the running sums, with dspeed's types and rounding."""
    sum_x = n * (n - 1) // 2
    sum_x2 = (n - 1) * n * (2 * n - 1) // 6
    std = np.sqrt(cast_like(zero, ssq / (n - 1)))
    slope = cast_like(zero, (n * sum_xy - sum_x * sum_y) / (n * sum_x2 - sum_x * sum_x))
    intercept = cast_like(zero, (sum_y - sum_x * slope) / n)
    return mean, std, slope, intercept


@numba.njit(**NJIT_OPTIONS)
def _fit_one(x: np.ndarray, zero: float, acc: np.ndarray) -> None:
    """Running mean, sum of squares (Welford, in x's type) and float64 sums of one row."""
    mean = zero
    ssq = zero
    sum_y = 0.0
    sum_xy = 0.0
    for i in range(x.shape[0]):
        k = np.float64(i + 1)
        fi = np.float64(i)
        v = x[i]
        t = v - mean
        mean = cast_like(zero, mean + t / k)
        ssq = ssq + t * (v - mean)
        sum_y += v
        sum_xy += v * fi
    acc[0] = mean
    acc[1] = ssq
    acc[2] = sum_y
    acc[3] = sum_xy


@numba.njit(**NJIT_OPTIONS)
def _fit_eight(
    x0: np.ndarray,
    x1: np.ndarray,
    x2: np.ndarray,
    x3: np.ndarray,
    x4: np.ndarray,
    x5: np.ndarray,
    x6: np.ndarray,
    x7: np.ndarray,
    zero: float,
    acc: np.ndarray,
) -> None:
    """_fit_one on eight rows at once (independent chains interleaved; same per-row result)."""
    m0 = m1 = m2 = m3 = m4 = m5 = m6 = m7 = zero
    s0 = s1 = s2 = s3 = s4 = s5 = s6 = s7 = zero
    y0 = y1 = y2 = y3 = y4 = y5 = y6 = y7 = 0.0
    z0 = z1 = z2 = z3 = z4 = z5 = z6 = z7 = 0.0
    for i in range(x0.shape[0]):
        k = np.float64(i + 1)
        fi = np.float64(i)
        v = x0[i]
        t = v - m0
        m0 = cast_like(zero, m0 + t / k)
        s0 = s0 + t * (v - m0)
        y0 += v
        z0 += v * fi
        v = x1[i]
        t = v - m1
        m1 = cast_like(zero, m1 + t / k)
        s1 = s1 + t * (v - m1)
        y1 += v
        z1 += v * fi
        v = x2[i]
        t = v - m2
        m2 = cast_like(zero, m2 + t / k)
        s2 = s2 + t * (v - m2)
        y2 += v
        z2 += v * fi
        v = x3[i]
        t = v - m3
        m3 = cast_like(zero, m3 + t / k)
        s3 = s3 + t * (v - m3)
        y3 += v
        z3 += v * fi
        v = x4[i]
        t = v - m4
        m4 = cast_like(zero, m4 + t / k)
        s4 = s4 + t * (v - m4)
        y4 += v
        z4 += v * fi
        v = x5[i]
        t = v - m5
        m5 = cast_like(zero, m5 + t / k)
        s5 = s5 + t * (v - m5)
        y5 += v
        z5 += v * fi
        v = x6[i]
        t = v - m6
        m6 = cast_like(zero, m6 + t / k)
        s6 = s6 + t * (v - m6)
        y6 += v
        z6 += v * fi
        v = x7[i]
        t = v - m7
        m7 = cast_like(zero, m7 + t / k)
        s7 = s7 + t * (v - m7)
        y7 += v
        z7 += v * fi
    acc[0, 0], acc[0, 1], acc[0, 2], acc[0, 3] = m0, s0, y0, z0
    acc[1, 0], acc[1, 1], acc[1, 2], acc[1, 3] = m1, s1, y1, z1
    acc[2, 0], acc[2, 1], acc[2, 2], acc[2, 3] = m2, s2, y2, z2
    acc[3, 0], acc[3, 1], acc[3, 2], acc[3, 3] = m3, s3, y3, z3
    acc[4, 0], acc[4, 1], acc[4, 2], acc[4, 3] = m4, s4, y4, z4
    acc[5, 0], acc[5, 1], acc[5, 2], acc[5, 3] = m5, s5, y5, z5
    acc[6, 0], acc[6, 1], acc[6, 2], acc[6, 3] = m6, s6, y6, z6
    acc[7, 0], acc[7, 1], acc[7, 2], acc[7, 3] = m7, s7, y7, z7


@numba.njit(**NJIT_OPTIONS)
def _fit_block(
    x: np.ndarray,
    zero: float,
    mean: np.ndarray,
    stdev: np.ndarray,
    slope: np.ndarray,
    intercept: np.ndarray,
) -> None:
    """linear_slope_fit of every row of x (rows × samples) into the four per-row outputs."""
    nrows, n = x.shape
    acc = np.zeros((8, 4))
    row = 0
    while row < nrows:
        m = min(8, nrows - row)
        if m >= 2:  # fewer than 8 rows left: the last one fills the spare lanes
            last = m - 1
            _fit_eight(
                x[row], x[row + 1], x[row + min(2, last)], x[row + min(3, last)],
                x[row + min(4, last)], x[row + min(5, last)], x[row + min(6, last)],
                x[row + min(7, last)], zero, acc,
            )  # fmt: skip
        else:
            _fit_one(x[row], zero, acc[0])
        for k in range(m):
            r = row + k
            mean_k = cast_like(zero, acc[k, 0])
            if (np.isnan(mean_k) or np.isnan(acc[k, 2])) and any_nan(x[r]):
                mean[r] = stdev[r] = slope[r] = intercept[r] = np.nan
                continue
            mean[r], stdev[r], slope[r], intercept[r] = _fit_finish(
                n, mean_k, cast_like(zero, acc[k, 1]), acc[k, 2], acc[k, 3], zero
            )
        row += m


@block_processor("(n)->(),(),(),()", ["f->ffff", "d->dddd"])
def linear_slope_fit(
    w_in: np.ndarray,
    mean: np.ndarray | None = None,
    stdev: np.ndarray | None = None,
    slope: np.ndarray | None = None,
    intercept: np.ndarray | None = None,
) -> tuple | None:
    """Mean, sample std (n−1), least-squares slope and intercept of each row.

    w_in: ADC, rows × samples; outputs: ADC, ADC, ADC/sample, ADC (x = sample index 0…n−1).
    Mean and std are dspeed's running (Welford) values in the waveform's float type; NaN
    outputs for a row holding a NaN. Outputs are written in place; when omitted they are
    allocated and returned.
    """
    given = mean is not None
    dtype = mean.dtype if given else float_dtype(w_in)
    x = as_rows(w_in, dtype)
    outs = [out_array(o, (x.shape[0],), dtype) for o in (mean, stdev, slope, intercept)]
    _fit_block(x, dtype.type(0), *outs)
    if given:
        return None
    if np.ndim(w_in) == 1:
        return tuple(o[0] for o in outs)
    return tuple(outs)


# ----------------------------------------------------------------------------- linear_slope_diff
@lazy_gufunc(
    [
        "void(float32[:], float32, float32, float32[:], float32[:])",
        "void(float64[:], float64, float64, float64[:], float64[:])",
    ],
    "(n),(),()->(),()",
    **GUFUNC_OPTIONS,
)
def linear_slope_diff(
    w_in: np.ndarray, slope: float, intercept: float, mean: np.ndarray, rms: np.ndarray
) -> None:
    """Residuals r_i = w_in[i] − (slope·i + intercept): "mean" and rms (ADC).

    slope: ADC/sample, intercept: ADC. The "mean" is dspeed's Σ r_i/(i+1) running update (not
    the true mean); rms = sqrt(Σ r_i² / (n−1)). NaN if any input is NaN.
    """
    mean[0] = np.nan
    rms[0] = np.nan
    if np.isnan(slope) or np.isnan(intercept):
        return
    w = np.ascontiguousarray(w_in)
    run = cast_like(slope, 0.0)
    ssq = cast_like(slope, 0.0)
    n = w.shape[0]
    for i in range(n):
        resid = w[i] - (slope * i + intercept)
        run = cast_like(slope, run + resid / (i + 1))
        ssq = cast_like(slope, ssq + resid * resid)
    if (np.isnan(run) or np.isnan(ssq)) and any_nan(w):
        return
    mean[0] = run
    rms[0] = np.sqrt(cast_like(slope, ssq / (n - 1)))
