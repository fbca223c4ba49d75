"""``pygama-ak hit``: dsp → hit with pygama-compatible configs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .errors import user_errors
from .tier_outputs import compression_setting as _setting
from .tier_outputs import output_for

app = typer.Typer(help="hit tier: dsp → hit (pygama build_hit configs)", no_args_is_help=True)


@app.command("build")
def build(
    dsp: Annotated[list[Path], typer.Argument(help="dsp-tier LH5 files", exists=True, dir_okay=False)],
    config: Annotated[Path, typer.Option("--config", "-c", help="hit config (JSON/YAML); a "
                                         "mapping {table: config} is used per table")],
    tables: Annotated[str | None, typer.Option(help="tables: glob 'ch*/dsp' or a,b,c")] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="output file (one input)")] = None,
    outdir: Annotated[Path | None, typer.Option(help="output folder (default: beside input)")] = None,
    overwrite: Annotated[bool, typer.Option(help="replace existing outputs")] = False,
    compression: Annotated[str, typer.Option(help="gzip (like lgdo), zstd, lzf, lz4 or none")] = "gzip",
    chunk_rows: Annotated[int, typer.Option(help="rows per chunk (bounds memory)")] = 1_000_000,
) -> None:
    """Compute hit-tier columns for every dsp table of each file."""
    from rich.progress import Progress

    from ..configs import load_config
    from ..hit.build_hit import build_hit

    with user_errors():
        data, _ = load_config(config)
        per_table = "operations" not in data and "outputs" not in data
        with Progress(transient=True) as progress:
            for path in dsp:
                target = output_for(path, "dsp", "hit", out, outdir, len(dsp))
                task = progress.add_task(path.name, total=None)

                def update(table: str, done: int, total: int, task=task, name=path.name) -> None:
                    progress.update(task, description=f"{name}:{table}", completed=done, total=total)

                kwargs = {"tables_config": config} if per_table else {"config": config}
                counts = build_hit(path, target, tables=tables, overwrite=overwrite,
                                   chunk_rows=chunk_rows, progress=update,
                                   compression=_setting(compression), **kwargs)
                progress.remove_task(task)
                typer.echo(f"{target}: {len(counts)} tables, {sum(counts.values())} rows")
