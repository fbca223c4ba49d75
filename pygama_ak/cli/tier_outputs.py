"""Output file names for tier commands: ``--out`` for one input, ``--outdir`` or beside the input."""

from __future__ import annotations

from pathlib import Path


def output_for(infile: Path, tier_in: str, tier_out: str, out: Path | None, outdir: Path | None,
               n_inputs: int) -> Path:
    """``x-tier_raw.lh5`` → ``x-tier_tcm.lh5`` (``_raw`` → ``_tcm``; else ``x_tcm.lh5``)."""
    if out is not None:
        if n_inputs > 1:
            raise ValueError("--out takes one input file; use --outdir for several")
        return out
    stem = infile.stem
    for old, new in ((f"tier_{tier_in}", f"tier_{tier_out}"), (f"_{tier_in}", f"_{tier_out}")):
        if stem.endswith(old):
            stem = stem[: -len(old)] + new
            break
    else:
        stem = f"{stem}_{tier_out}"
    return (outdir or infile.parent) / f"{stem}.lh5"


def compression_setting(name: str) -> str | None:
    """The ``--compression`` option as a :func:`pygama_ak.lh5.write` setting."""
    return None if name.lower() == "none" else name.lower()
