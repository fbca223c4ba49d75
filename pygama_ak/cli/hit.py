"""``pygama-ak hit``: dsp → hit with pygama-compatible configs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .errors import user_errors
from .tier_outputs import compression_setting as _setting
from .tier_outputs import output_for

app = typer.Typer(help="hit tier: dsp → hit (pygama build_hit configs)", no_args_is_help=True)


def _build_one(item: tuple) -> dict[str, int]:
    """build_hit for one file (runs in a worker)."""
    from ..hit.build_hit import build_hit

    path, target, options = item
    return build_hit(path, target, **options)


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
    jobs: Annotated[int, typer.Option("--jobs", "-j", min=1, help="files at once, in worker processes")] = 1,
    scheduler: Annotated[str | None, typer.Option(help="Dask scheduler address (tcp://host:8786)")] = None,
) -> None:
    """Compute hit-tier columns for every dsp table of each file."""
    from rich.progress import Progress

    from ..configs import load_config
    from ..hit.build_hit import build_hit

    with user_errors():
        data, _ = load_config(config)
        per_table = "operations" not in data and "outputs" not in data
        kwargs = {"tables_config": config} if per_table else {"config": config}
        if (jobs > 1 and len(dsp) > 1) or scheduler:
            from .parallel import map_files

            items = [(path, output_for(path, "dsp", "hit", out, outdir, len(dsp)),
                      {"tables": tables, "overwrite": overwrite, "chunk_rows": chunk_rows,
                       "compression": _setting(compression), **kwargs}) for path in dsp]
            for (_, target, _), counts in zip(items, map_files(
                    _build_one, items, jobs=jobs, scheduler=scheduler,
                    preload=["pygama_ak.hit.build_hit"], label="dsp files")):
                typer.echo(f"{target}: {len(counts)} tables, {sum(counts.values())} rows")
            return
        with Progress(transient=True) as progress:
            for path in dsp:
                target = output_for(path, "dsp", "hit", out, outdir, len(dsp))
                task = progress.add_task(path.name, total=None)

                def update(table: str, done: int, total: int, task=task, name=path.name) -> None:
                    progress.update(task, description=f"{name}:{table}", completed=done, total=total)

                counts = build_hit(path, target, tables=tables, overwrite=overwrite,
                                   chunk_rows=chunk_rows, progress=update,
                                   compression=_setting(compression), **kwargs)
                progress.remove_task(task)
                typer.echo(f"{target}: {len(counts)} tables, {sum(counts.values())} rows")
