"""HPGe pulses of a Th-228 calibration: line spectrum, Compton continuum, rise, decay, noise."""

from __future__ import annotations

import numpy as np

TH228_LINES_KEV = (238.6, 583.2, 727.3, 860.6, 1620.5, 2614.5)
ADC_PER_KEV = 4.0
SAMPLE_NS = 16.0
TAU_SAMPLES = 25_000  # 400 µs decay constant in 16 ns samples


def th228_energies(n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` energies (keV): 45 % in the Th-228 lines (1.2 keV resolution), the rest flat."""
    lines = rng.choice(TH228_LINES_KEV, size=n)
    return np.where(rng.random(n) < 0.45, lines + rng.normal(0, 1.2, n), rng.uniform(30, 2600, n))


def hpge_pulses(energy_kev: np.ndarray, n_samples: int, rng: np.random.Generator,
                baseline_adc: float = 14000.0, noise_adc: float = 3.0) -> tuple[np.ndarray, np.ndarray]:
    """uint16 waveforms (16 ns samples) and their baselines for the given energies.

    A baseline with Gaussian noise, a linear rise of 200–600 ns starting near 45 % of the trace,
    and a 400 µs exponential decay; amplitude ``ADC_PER_KEV`` ADC per keV.
    """
    n = len(energy_kev)
    baseline = rng.normal(baseline_adc, 30, n).round()
    t = np.arange(n_samples, dtype=np.float64)
    start = rng.normal(n_samples * 0.45, 3, n)
    rise = rng.uniform(200, 600, n) / SAMPLE_NS
    since = t[None, :] - start[:, None]
    shape = np.clip(since / rise[:, None], 0, 1) * np.exp(-np.clip(since, 0, None) / TAU_SAMPLES)
    pulses = baseline[:, None] + energy_kev[:, None] * ADC_PER_KEV * shape
    pulses += rng.normal(0, noise_adc, pulses.shape)
    return np.clip(pulses.round(), 0, 65535).astype(np.uint16), baseline.astype(np.uint16)
