"""``pygama-ak tcm``: the time coincidence map of raw tables."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .errors import user_errors
from .tier_outputs import compression_setting as _setting
from .tier_outputs import output_for

app = typer.Typer(help="tcm: time coincidence map of raw (or any) tables", no_args_is_help=True)


@app.command("build")
def build(
    raw: Annotated[list[Path], typer.Argument(help="raw-tier LH5 files", exists=True, dir_okay=False)],
    coin_col: Annotated[list[str], typer.Option("--coin-col", help="coincidence column (repeatable)")],
    window: Annotated[list[float] | None, typer.Option(help="window per coin col (default 0)")] = None,
    tables: Annotated[str, typer.Option(help="input tables (glob or a,b)")] = "ch*/raw",
    name: Annotated[str, typer.Option(help="TCM object name")] = "hardware_tcm_1",
    hash_func: Annotated[str, typer.Option(help="regex giving a table's key")] = r"\d+",
    out: Annotated[Path | None, typer.Option("--out", "-o", help="output file (one input)")] = None,
    outdir: Annotated[Path | None, typer.Option(help="output folder (default: beside input)")] = None,
    overwrite: Annotated[bool, typer.Option(help="replace existing outputs")] = False,
    compression: Annotated[str, typer.Option(help="gzip (like lgdo), zstd, lzf, lz4 or none")] = "gzip",
) -> None:
    """Group the hits of every matching table into events (pygama ≥ 2.1 layout)."""
    from ..evt.tcm import build_tcm, write_tcm

    with user_errors():
        windows = window if window else [0.0]
        patterns = [t.strip() for t in tables.split(",")]
        for path in raw:
            target = output_for(path, "raw", "tcm", out, outdir, len(raw))
            tcm = build_tcm([(path, patterns)], coin_col, hash_func=hash_func,
                            coin_windows=windows if len(windows) > 1 else windows[0])
            write_tcm(tcm, target, name, overwrite=overwrite, compression=_setting(compression))
            typer.echo(f"{target}:{name}: {tcm.n_events} events from {len(tcm.table_key)} hits "
                       f"in {len(tcm.tables)} tables")
