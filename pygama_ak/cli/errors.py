"""How commands report failures: one red ``error:`` line naming what went wrong, exit code 1.

Errors the user can act on (LH5 errors, config and expression errors, missing or clashing
files, bad values) print ``error: <message>`` on stderr and exit with status 1; set
``PYGAMA_AK_DEBUG=1`` to get the traceback instead. Nothing heavy is imported here.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

import typer


def fail(message: str) -> NoReturn:
    """Print ``error: message`` in red on stderr and exit with status 1."""
    from rich.console import Console
    from rich.text import Text

    Console(stderr=True).print(Text(f"error: {message}", style="red"), soft_wrap=True)
    raise typer.Exit(1)


def _is_user_error(exc: BaseException) -> bool:
    # OSError covers missing/clashing files; ConfigError and ExpressionError are ValueErrors
    if isinstance(exc, OSError | ValueError):
        return True
    errors = sys.modules.get("pygama_ak.lh5.errors")  # loaded whenever one can be raised
    return errors is not None and isinstance(exc, errors.LH5Error)


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn pygama_ak's expected errors into ``error: ...`` and exit status 1."""
    try:
        yield
    except typer.Exit:
        raise
    except Exception as exc:
        if not _is_user_error(exc) or os.environ.get("PYGAMA_AK_DEBUG"):
            raise
        fail(str(exc) or type(exc).__name__)
