"""The dsp tier: dspeed processing-chain configs run on numba kernels."""
