"""The ``pygama-ak`` command line: one Typer sub-app per area (``lh5`` today).

Start-up must stay fast (``pygama-ak --help`` well under half a second), so this module
imports only Typer and the standard library; numpy, h5py, awkward, pyarrow, polars and numba
are imported inside the commands that need them. A new area is a new ``typer.Typer()`` added
with ``app.add_typer(<sub_app>, name="raw")`` (raw, dsp, hit, tcm, evt, query, chain ...).

Errors the user can act on (LH5 errors, missing files, bad values) print one red line
``error: <message>`` on stderr and exit with status 1; set ``PYGAMA_AK_DEBUG=1`` to get the
traceback instead.
"""

from __future__ import annotations

import time
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer

from .chain import chain as chain_command
from .dsp import app as dsp_app
from .errors import user_errors
from .evt import app as evt_app
from .hit import app as hit_app
from .query import app as query_app
from .raw import app as raw_app
from .simulate import simulate as simulate_command
from .tcm import app as tcm_app

app = typer.Typer(
    name="pygama-ak",
    help="LEGEND germanium/SiPM data processing on Awkward, Polars and numba.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
lh5_app = typer.Typer(help="Inspect LH5 files and export their tables.", no_args_is_help=True)
app.add_typer(lh5_app, name="lh5")
app.add_typer(raw_app, name="raw")
app.add_typer(dsp_app, name="dsp")
app.add_typer(hit_app, name="hit")
app.add_typer(tcm_app, name="tcm")
app.add_typer(evt_app, name="evt")
app.add_typer(query_app, name="query")
app.command("chain")(chain_command)
app.command("simulate")(simulate_command)


# ----------------------------------------------------------------------------- top level
def _version_callback(value: bool) -> None:
    if value:
        version()
        raise typer.Exit()


@app.callback()
def _root(
    show_version: Annotated[
        bool,
        typer.Option("--version", help="Show the version and exit.", is_eager=True,
                     callback=_version_callback),
    ] = False,
) -> None:
    """LEGEND germanium/SiPM data processing on Awkward, Polars and numba."""


@app.command("warmup")
def warmup() -> None:
    """Compile the dsp kernels once (numba caches them on disk for later runs)."""
    from .dsp import warmup as dsp_warmup

    dsp_warmup()


@app.command()
def version() -> None:
    """Print the pygama-ak version."""
    try:
        from pygama_ak import __version__
    except ImportError:  # a stale editable install can make pygama_ak a namespace package
        from importlib.metadata import version as dist_version

        __version__ = dist_version("pygama_ak")
    typer.echo(f"pygama-ak {__version__}")


# ----------------------------------------------------------------------------- lh5
@lh5_app.command("ls")
def lh5_ls(
    file: Annotated[Path, typer.Argument(help="LH5 file.", show_default=False)],
    group: Annotated[str, typer.Argument(help="Group (or object) to list.")] = "/",
    attrs: Annotated[bool, typer.Option("--attrs", "-a", help="Show attributes.")] = False,
    detail: Annotated[
        bool,
        typer.Option("--detail", "-d",
                     help="Show rows, dtype, shape, sizes, chunks and filters."),
    ] = False,
    depth: Annotated[
        int | None, typer.Option("--depth", min=0, help="Show at most this many levels.")
    ] = None,
) -> None:
    """Print the object tree of an LH5 file with each object's datatype."""
    with user_errors():
        from pygama_ak.lh5.browse import show

        show(file, group, attrs=attrs, detail=detail, depth=depth)


class Compression(str, Enum):
    """Parquet compression codecs."""

    zstd = "zstd"
    snappy = "snappy"
    gzip = "gzip"
    lz4 = "lz4"
    brotli = "brotli"
    none = "none"


@lh5_app.command("export")
def lh5_export(
    file: Annotated[Path, typer.Argument(help="LH5 file.", show_default=False)],
    name: Annotated[str, typer.Argument(help="Table to export, e.g. ch1084803/raw.",
                                        show_default=False)],
    out: Annotated[Path, typer.Argument(help="Output Parquet file.", show_default=False)],
    fields: Annotated[
        str | None,
        typer.Option("--fields", "-f",
                     help="Comma-separated columns to export; nested as a/b (default: all)."),
    ] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace OUT if it exists.")] = False,
    compression: Annotated[
        Compression, typer.Option("--compression", help="Parquet compression.")
    ] = Compression.zstd,
) -> None:
    """Export an LH5 table to Parquet (jagged columns as lists, waveforms as fixed-size
    lists, units as Arrow field metadata)."""
    with user_errors():
        t0 = time.perf_counter()
        from pygama_ak.query.export import write_arrow_parquet

        if out.exists() and not overwrite:
            raise FileExistsError(f"{out} exists; pass --overwrite to replace it")
        selected = [f.strip() for f in fields.split(",") if f.strip()] if fields else None
        table = _read_as_arrow(file, name, selected)
        codec = None if compression is Compression.none else compression.value
        write_arrow_parquet(table, out, compression=codec, overwrite=overwrite)
        seconds = time.perf_counter() - t0
        size = out.stat().st_size
        typer.echo(f"wrote {table.num_rows} rows × {table.num_columns} columns of {name} to "
                   f"{out} ({size / 1e6:.2f} MB) in {seconds:.2f} s")


def _read_as_arrow(file: Path, name: str, fields: list[str] | None) -> Any:
    """``read(file, name, fields=...)`` as a ``pyarrow.Table`` (arrays become one column)."""
    import awkward as ak

    from pygama_ak.lh5.arrow import to_arrow
    from pygama_ak.lh5.read import read

    data = read(file, name, fields=fields)
    if not isinstance(data, ak.Array):
        kind = "a struct" if isinstance(data, ak.Record) else "a scalar"
        raise ValueError(f"{file}:/{name.strip('/')} is {kind}; only tables and arrays "
                         "can be exported to Parquet")
    if not data.fields:  # a single array: one column named after the object
        column = name.strip("/").rsplit("/", 1)[-1] or "values"
        data = ak.Array(ak.contents.RecordArray([ak.to_layout(data)], [column]))
    return to_arrow(data)


def main() -> None:
    """Console-script entry point ``pygama-ak``."""
    app(prog_name="pygama-ak")


if __name__ == "__main__":
    main()
