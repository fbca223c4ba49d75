"""``pygama-ak query``: list and run named queries over a production tree.

``query list`` shows the named queries (``queries/`` and ``$PYGAMA_AK_QUERIES``);
``query show NAME`` their cuts and columns; ``query run NAME_OR_PATH --data ROOT --out
sel.parquet [--cutflow]`` runs one, prints the cut-flow and writes Parquet atomically.
Heavy libraries are imported inside the commands.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from .errors import user_errors

app = typer.Typer(help="Named queries: selections by named cuts over a production tree.",
                  no_args_is_help=True)


def _dirs(folders: list[Path] | None) -> list[Path] | None:
    if not folders:
        return None
    from pygama_ak.query.named import search_path

    return [*folders, *search_path()]


@app.command("list")
def list_queries(
    folder: Annotated[list[Path] | None, typer.Option("--dir", help="also search this folder "
                                                      "(before the default ones)")] = None,
) -> None:
    """Table of the named queries: name, level, cuts, description."""
    with user_errors():
        from rich.console import Console
        from rich.table import Table

        from pygama_ak.query.named import list_queries as find
        from pygama_ak.query.named import search_path

        dirs = _dirs(folder)
        queries, problems = find(dirs)
        table = Table(title="named queries", title_justify="left")
        table.add_column("name", style="bold")
        table.add_column("level")
        table.add_column("cuts", justify="right")
        table.add_column("description", overflow="fold")
        for q in queries:
            table.add_row(q.name, q.level, str(len(q.cuts)), q.description)
        console = Console()
        console.print(table)
        searched = ", ".join(str(d) for d in (dirs or search_path())) or "no folders"
        console.print(f"[dim]searched: {searched}[/dim]")
        for problem in problems:
            console.print(f"[red]unusable query:[/red] {problem}", soft_wrap=True)


@app.command("show")
def show(
    query: Annotated[str, typer.Argument(help="query name or file", show_default=False)],
    folder: Annotated[list[Path] | None, typer.Option("--dir", help="also search this folder")] = None,
) -> None:
    """Print a query's description, run selection, parameters, cuts and columns."""
    with user_errors():
        from rich.console import Console
        from rich.table import Table

        from pygama_ak.query.named import load_query

        q = load_query(query, _dirs(folder))
        console = Console()
        console.print(f"[bold]{q.name}[/bold] ({q.level}) — {q.source}")
        console.print(q.description, soft_wrap=True)
        console.print(f"runs: {q.runs or 'all'}; channels: {q.channels or 'all'}; "
                      f"params: {q.params or 'none'}")
        table = Table(title="cuts", title_justify="left")
        for col in ("#", "cut", "expression", "description"):
            table.add_column(col, overflow="fold")
        for i, c in enumerate(q.cuts, 1):
            table.add_row(str(i), c.name, c.expr, c.description)
        console.print(table)
        console.print(f"columns: {', '.join(q.columns)}")


def _params(values: list[str] | None) -> dict:
    out: dict = {}
    for item in values or []:
        if "=" not in item:
            raise ValueError(f"--param {item!r}: expected NAME=VALUE")
        name, text = (s.strip() for s in item.split("=", 1))
        for cast in (int, float):
            try:
                out[name] = cast(text)
                break
            except ValueError:
                continue
        else:
            out[name] = {"true": True, "false": False}.get(text.lower(), text)
    return out


@app.command("run")
def run(
    query: Annotated[str, typer.Argument(help="query name (see 'query list') or file",
                                         show_default=False)],
    data: Annotated[Path, typer.Option("--data", "-d", help="production tier folder "
                                       "(<tier>/<type>/<period>/<run>/...)", show_default=False)],
    out: Annotated[Path, typer.Option("--out", "-o", help="output Parquet file", show_default=False)],
    show_cutflow: Annotated[bool, typer.Option("--cutflow", help="print the cut-flow table "
                                               "(rows passing each cut, cumulative)")] = False,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="replace OUT if it exists")] = False,
    runs: Annotated[str | None, typer.Option("--runs", help="run selection replacing the "
                                             "query's, e.g. \"period == 'p03'\"")] = None,
    param: Annotated[list[str] | None, typer.Option("--param", "-p", help="override a "
                                                    "parameter: NAME=VALUE (repeatable)")] = None,
    channel_map: Annotated[Path | None, typer.Option("--channel-map", help="channel map file "
                                                     "or legend-metadata folder (columns chmap.*)")] = None,
    template: Annotated[str | None, typer.Option("--template", help="file template relative to "
                                                 "--data (default: the LEGEND layout)")] = None,
    folder: Annotated[list[Path] | None, typer.Option("--dir", help="also search this folder")] = None,
) -> None:
    """Run a named query: print the cut-flow, write the selected rows to Parquet."""
    with user_errors():
        if out.exists() and not overwrite:
            raise FileExistsError(f"{out} exists; pass --overwrite to replace it")
        from rich.console import Console

        from pygama_ak.query.dataset import Dataset
        from pygama_ak.query.export import write_parquet
        from pygama_ak.query.layout import LEGEND_TEMPLATE
        from pygama_ak.query.named import load_query

        t0 = time.perf_counter()
        q = load_query(query, _dirs(folder))
        ds = Dataset(data, template=template or LEGEND_TEMPLATE)
        if channel_map is not None:
            ds = ds.with_channel_map(channel_map)
        selection = q.selection(ds, runs=runs, params=_params(param))
        console = Console()
        if show_cutflow:
            flow = selection.cutflow()
            console.print(flow.table(title=f"cut-flow of {q.name} ({q.level})"))
        meta = {"query": q.name, "level": q.level, "data": str(data),
                "runs": runs if runs is not None else q.runs,
                "cuts": {c.name: c.expr for c in q.cuts},
                "params": {**q.params, **_params(param)}}
        rows = write_parquet(selection.frame, out, overwrite=overwrite, units=selection.units,
                             metadata=meta)
        seconds = time.perf_counter() - t0
        size = out.stat().st_size
        console.print(f"wrote {rows:,} rows of {q.name} to {out} ({size / 1e6:.2f} MB) "
                      f"in {seconds:.2f} s", soft_wrap=True)
