"""``pygama-ak dsp``: raw → dsp with dspeed processing-chain configs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .errors import user_errors
from .tier_outputs import compression_setting as _setting
from .tier_outputs import output_for

app = typer.Typer(help="dsp tier: raw → dsp (dspeed processing-chain configs)", no_args_is_help=True)


@app.command("build")
def build(
    raw: Annotated[list[Path], typer.Argument(help="raw-tier LH5 files", exists=True, dir_okay=False)],
    config: Annotated[Path, typer.Option("--config", "-c", help="dspeed config (JSON/YAML)")],
    db: Annotated[Path | None, typer.Option("--db", help="parameter database keyed by channel (JSON/YAML)")] = None,
    tables: Annotated[str | None, typer.Option(help="tables: glob 'ch*/raw' or a,b,c")] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="output file (one input)")] = None,
    outdir: Annotated[Path | None, typer.Option(help="output folder (default: beside input)")] = None,
    overwrite: Annotated[bool, typer.Option(help="replace existing outputs")] = False,
    jobs: Annotated[int, typer.Option("--jobs", "-j", help="processes working on each file (1: this one)")] = 1,
    scheduler: Annotated[str | None, typer.Option(help="Dask scheduler address: chunks run on its workers")] = None,
    compression: Annotated[str, typer.Option(help="gzip (like lgdo), zstd, lzf, lz4 or none")] = "gzip",
    chunk_rows: Annotated[int, typer.Option(help="rows per chunk (bounds memory)")] = 1000,
) -> None:
    """Run the processing chain over every raw table of each file."""
    from rich.progress import Progress

    from ..dsp.build_dsp import build_dsp

    with user_errors(), Progress(transient=True) as progress:
        for path in raw:
            target = output_for(path, "raw", "dsp", out, outdir, len(raw))
            task = progress.add_task(path.name, total=None)

            def update(table: str, done: int, total: int, task=task, name=path.name) -> None:
                progress.update(task, description=f"{name}:{table}", completed=done, total=total)

            counts = build_dsp(path, target, config=config, database=db, tables=tables,
                               overwrite=overwrite, chunk_rows=chunk_rows, jobs=jobs, scheduler=scheduler,
                               progress=update, compression=_setting(compression))
            progress.remove_task(task)
            typer.echo(f"{target}: {len(counts)} tables, {sum(counts.values())} rows")


@app.command("warmup")
def warmup() -> None:
    """Compile the dsp kernels once (numba caches them on disk for later runs)."""
    from ..dsp.warmup import warmup as run

    with user_errors():
        times = run()
    typer.echo(f"{len(times)} kernel modules ready in {sum(times.values()):.2f} s")
