"""How commands report failures: one red ``error:`` line naming what went wrong, exit code 1."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """Turn expected failures (bad input, bad config, clashing output) into a clean exit."""
    import typer

    from ..configs import ConfigError
    from ..expr import ExpressionError
    from ..lh5.errors import LH5Error

    try:
        yield
    except (LH5Error, ConfigError, ExpressionError, FileNotFoundError, FileExistsError, ValueError) as exc:
        from rich.console import Console

        Console(stderr=True).print(f"[bold red]error:[/] {exc}", highlight=False, markup=True)
        sys.stderr.flush()
        raise typer.Exit(1) from None
