"""``pygama-ak raw``: DAQ files → raw-tier LH5 (daq2lh5-compatible tables).

Register in ``pygama_ak/cli/app.py`` with ``from .raw import app as raw_app`` and
``app.add_typer(raw_app, name="raw")``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .errors import fail, user_errors
from .tier_outputs import compression_setting

app = typer.Typer(help="raw tier: DAQ files (FlashCam FCIO, ORCA, CoMPASS, llamaDAQ) → raw LH5", no_args_is_help=True)


def _target(daq: Path, out: Path | None, outdir: Path | None, n_inputs: int) -> Path:
    if out is not None:
        if n_inputs > 1:
            raise ValueError("--out takes one input file; use --outdir for several")
        return out
    name = f"{daq.stem}.lh5" if daq.suffix else f"{daq.name}.lh5"
    return (outdir or daq.parent) / name


def _print_summary(console, summary) -> None:
    from rich.table import Table

    tbl = Table(title=f"{Path(summary.daq_file).name} ({summary.format})", title_justify="left")
    tbl.add_column("table")
    tbl.add_column("rows", justify="right")
    tbl.add_column("file")
    for name, rows in sorted(summary.tables.items()):
        file, _, obj = name.rpartition(":")
        tbl.add_row(obj, f"{rows:,}", Path(file).name)
    if not summary.tables:
        for decoder, rows in sorted(summary.decoded.items()):
            tbl.add_row(f"{decoder} (decoded, not written)", f"{rows:,}", "")
    console.print(tbl)
    records = ", ".join(f"{n:,} {k}" for k, n in sorted(summary.records.items()))
    console.print(f"records: {records or 'none'}")
    if summary.skipped:
        skipped = ", ".join(f"{n:,} {k}" for k, n in sorted(summary.skipped.items()))
        console.print(f"[yellow]skipped: {skipped}[/yellow]")
    out_bytes = sum(Path(p).stat().st_size for p in summary.outputs if Path(p).exists())
    console.print(
        f"read {summary.bytes_read / 1e6:,.1f} of {summary.file_size / 1e6:,.1f} MB in "
        f"{summary.seconds:.2f} s ({summary.mb_per_s:,.1f} MB/s); wrote {out_bytes / 1e6:,.1f} "
        f"MB to {', '.join(summary.outputs) or 'nothing'}",
        soft_wrap=True,
    )
    for w in summary.warnings:
        if w != summary.error:
            console.print(f"[yellow]warning: {w}[/yellow]", soft_wrap=True)
    if summary.error:
        console.print(f"[red]{summary.error}[/red]", soft_wrap=True)


def _convert(args: tuple) -> object:
    """build_raw for one file (runs in a worker)."""
    from ..raw import build_raw

    daq, target, options = args
    return build_raw(daq, target, **options)


@app.command("build")
def build(
    daq_files: Annotated[
        list[Path],
        typer.Argument(
            help="DAQ files (format detected from content)", exists=True, dir_okay=False
        ),
    ],
    out: Annotated[Path | None, typer.Option("--out", "-o", help="output file (one input)")] = None,
    outdir: Annotated[
        Path | None, typer.Option(help="output folder (default: beside input)")
    ] = None,
    overwrite: Annotated[bool, typer.Option(help="replace existing outputs")] = False,
    compression: Annotated[
        str, typer.Option(help="gzip (like daq2lh5), lzf, zstd, lz4 or none")
    ] = "gzip",
    out_spec: Annotated[
        Path | None,
        typer.Option(
            help="daq2lh5 out_spec (JSON/YAML) routing keys to tables/files",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
    allow_truncated: Annotated[
        bool,
        typer.Option(
            help="a truncated/corrupt input is a warning (its complete records are kept either way)"
        ),
    ] = False,
    in_format: Annotated[
        str | None, typer.Option("--format", "--type", help="skip format detection, e.g. FlashCam")
    ] = None,
    resync: Annotated[
        bool,
        typer.Option(
            help=(
                "skip corrupt data to the next 3 valid packets/records (ORCA, FCIO); "
                "skipped bytes are reported"
            )
        ),
    ] = False,
    compass_config: Annotated[
        Path | None,
        typer.Option(
            help="CoMPASS settings XML (default: <stem>_settings.xml beside the file)",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
    llama_timezone: Annotated[
        str | None,
        typer.Option(help="llamaDAQ: time zone of the run start in the file name (default UTC)"),
    ] = None,
    checksum: Annotated[
        bool, typer.Option(help="store Fletcher32 checksums (verified by HDF5 on every read)")
    ] = False,
    jobs: Annotated[int, typer.Option(min=1, help="files converted at once, in worker processes")] = 1,
) -> None:
    """Convert DAQ files to raw LH5 tables named as legend-daq2lh5 names them."""
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn

    from ..raw import build_raw

    console = Console()
    failed = []
    options = {
        "out_spec": out_spec,
        "overwrite": overwrite,
        "compression": compression_setting(compression),
        "in_format": in_format,
        "on_error": "warn",
        "resync": resync,
        "checksum": checksum,
        **{  # format options, only where given (other formats do not take them)
            k: v
            for k, v in (("compass_config_file", compass_config), ("llama_timezone", llama_timezone))
            if v is not None
        },
    }
    with user_errors():
        targets = [_target(daq, out, outdir, len(daq_files)) for daq in daq_files]
        if jobs > 1 and len(daq_files) > 1:
            from .parallel import map_files

            items = [(d, t, options) for d, t in zip(daq_files, targets)]
            summaries = map_files(_convert, items, jobs=jobs, scheduler=None,
                                  preload=["pygama_ak.raw"], label="DAQ files", console=console)
        else:
            summaries = []
            for daq, target in zip(daq_files, targets):
                with Progress(
                    TextColumn("{task.description}"),
                    BarColumn(),
                    DownloadColumn(),
                    transient=True,
                    console=console,
                ) as progress:
                    task = progress.add_task(daq.name, total=daq.stat().st_size)

                    def update(done: int, total: int, task=task) -> None:
                        progress.update(task, completed=done, total=total)

                    summaries.append(build_raw(daq, target, progress=update, **options))
        for summary in summaries:
            _print_summary(console, summary)
            if summary.error:
                failed.append(summary.error)
    if failed and not allow_truncated:
        fail(
            failed[0]
            if len(failed) == 1
            else f"{len(failed)} inputs are truncated or corrupt; first: {failed[0]}"
        )
