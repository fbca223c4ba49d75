"""``pygama-ak evt``: TCM + hit/dsp → event tier."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .errors import user_errors
from .tier_outputs import compression_setting as _setting

app = typer.Typer(help="evt tier: tcm + dsp + hit → events (pygama build_evt configs)",
                  no_args_is_help=True)


@app.command("build")
def build(
    tcm: Annotated[Path, typer.Option(help="TCM file", exists=True, dir_okay=False)],
    hit: Annotated[Path, typer.Option(help="hit-tier file", exists=True, dir_okay=False)],
    config: Annotated[Path, typer.Option("--config", "-c", help="evt config (JSON/YAML)")],
    out: Annotated[Path, typer.Option("--out", "-o", help="output file")],
    dsp: Annotated[Path | None, typer.Option(help="dsp-tier file", exists=True, dir_okay=False)] = None,
    tcm_name: Annotated[str, typer.Option(help="TCM object in the TCM file")] = "hardware_tcm_1",
    table_format: Annotated[str, typer.Option(help="channel table format")] = "ch{}",
    overwrite: Annotated[bool, typer.Option(help="replace an existing output")] = False,
    compression: Annotated[str, typer.Option(help="gzip (like lgdo), zstd, lzf, lz4 or none")] = "gzip",
) -> None:
    """Build the event table ``evt`` of one cycle."""
    from ..evt.build_evt import build_evt

    with user_errors():
        tiers = {"hit": (hit, "hit", table_format)}
        if dsp is not None:
            tiers["dsp"] = (dsp, "dsp", table_format)
        n = build_evt((tcm, tcm_name), tiers, config, out, overwrite=overwrite,
                      compression=_setting(compression))
        typer.echo(f"{out}:evt: {n} events")
