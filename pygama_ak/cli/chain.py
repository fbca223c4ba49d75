"""``pygama-ak chain RUN.yaml``: the whole chain over many files, resumable, local or on Dask."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .errors import user_errors


def chain(
    run: Annotated[Path, typer.Argument(help="run config (YAML/JSON): inputs, output, tiers", exists=True,
                                        dir_okay=False)],
    jobs: Annotated[int | None, typer.Option("--jobs", "-j", help="worker processes (default: one per core; 1: in this process)")] = None,
    scheduler: Annotated[str | None, typer.Option(help="Dask scheduler address, e.g. tcp://host:8786")] = None,
    retries: Annotated[int, typer.Option(help="retries of a failed item before it counts as failed")] = 1,
    skip_bad_files: Annotated[bool, typer.Option(help="report and skip cycles that fail instead of stopping")] = False,
) -> None:
    """Run raw → dsp → hit → tcm → evt for every input file; skip outputs already up to date."""
    from rich.console import Console
    from rich.progress import Progress
    from rich.table import Table

    from ..run.chain import run_chain

    with user_errors(), Progress(transient=True) as progress:
        tasks: dict[str, int] = {}

        def update(tier: str, done: int, total: int) -> None:
            if tier not in tasks:
                tasks[tier] = progress.add_task(tier, total=total)
            progress.update(tasks[tier], completed=done, total=total)

        summary = run_chain(run, jobs=jobs, scheduler=scheduler, retries=retries,
                            skip_bad_files=skip_bad_files, progress=update)
    table = Table(title=f"chain {run.name}")
    for column in ("tier", "ok", "up to date", "failed", "rows", "seconds"):
        table.add_column(column, justify="left" if column == "tier" else "right")
    for tier, s in summary.items():
        table.add_row(tier, str(s.ok), str(s.skipped), str(s.failed), str(s.rows), f"{s.seconds:.1f}")
    console = Console()
    console.print(table)
    for s in summary.values():
        for error in s.errors:
            console.print(f"[red]failed[/red] {error}")
    if any(s.failed for s in summary.values()):
        raise typer.Exit(1)
