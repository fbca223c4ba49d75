"""Errors of the dsp tier."""

from __future__ import annotations

from ..configs import ConfigError


class DSPError(Exception):
    """Base class of every dsp error."""


class DSPFatal(DSPError):
    """A processor met a configuration problem inside a kernel (raised from numba code).

    The engine adds the processor call and the row range before re-raising.
    """


class ChainError(DSPError, ConfigError):
    """The processing chain cannot be built: names the config file, the processor and the key."""
