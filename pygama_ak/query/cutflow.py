"""Cut-flows: how many rows pass each named cut alone and all cuts up to it.

One pass over the (lazy) frame: every cut becomes a boolean column (a null or NaN
comparison counts as failing, as in the selection itself) and one aggregation counts the
rows passing each cut and the running ``and`` of the cuts. Only the columns the cuts use are
read.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import polars as pl


@dataclass(frozen=True)
class CutStep:
    """One row of a cut-flow."""

    name: str
    expression: str
    passed: int  # rows passing this cut alone
    cumulative: int  # rows passing this cut and all before it


@dataclass(frozen=True)
class CutFlow:
    """Rows in, and per cut (in order) rows passing alone and cumulatively."""

    total: int
    steps: list[CutStep]

    @property
    def selected(self) -> int:
        """Rows passing every cut."""
        return self.steps[-1].cumulative if self.steps else self.total

    def to_polars(self) -> pl.DataFrame:
        """The cut-flow as a frame (``cut``, ``expression``, ``passed``, ``cumulative``,
        ``efficiency`` = cumulative / previous cumulative)."""
        previous = [self.total] + [s.cumulative for s in self.steps[:-1]]
        return pl.DataFrame({
            "cut": [s.name for s in self.steps],
            "expression": [s.expression for s in self.steps],
            "passed": pl.Series([s.passed for s in self.steps], dtype=pl.Int64),
            "cumulative": pl.Series([s.cumulative for s in self.steps], dtype=pl.Int64),
            "efficiency": [s.cumulative / p if p else float("nan")
                           for s, p in zip(self.steps, previous)],
        })

    def table(self, title: str | None = None):
        """A :class:`rich.table.Table` of the cut-flow."""
        from rich.table import Table

        table = Table(title=title, title_justify="left")
        table.add_column("#", justify="right", style="dim")
        table.add_column("cut", style="bold")
        table.add_column("expression", overflow="ellipsis", no_wrap=True, max_width=48)
        table.add_column("passing alone", justify="right")
        table.add_column("cumulative", justify="right", style="cyan")
        table.add_column("of total", justify="right")
        table.add_column("of previous", justify="right")
        table.add_row("", "(all rows)", "", f"{self.total:,}", f"{self.total:,}", "100.0%", "")
        previous = self.total
        for i, s in enumerate(self.steps, 1):
            table.add_row(str(i), s.name, s.expression, f"{s.passed:,}", f"{s.cumulative:,}",
                          _percent(s.cumulative, self.total), _percent(s.cumulative, previous))
            previous = s.cumulative
        return table


def _percent(a: int, b: int) -> str:
    return f"{100 * a / b:.1f}%" if b else "-"


def cutflow(frame: pl.LazyFrame, cuts: Sequence[tuple[str, pl.Expr]],
            texts: Mapping[str, str] | None = None) -> CutFlow:
    """Count, in one pass over ``frame``, the rows passing each cut alone and cumulatively."""
    texts = texts or {}
    flags = [cut.fill_null(False).alias(f"_cut{i}") for i, (_, cut) in enumerate(cuts)]
    aggs = [pl.len().alias("_total")]
    for i in range(len(cuts)):
        aggs.append(pl.col(f"_cut{i}").sum().alias(f"_alone{i}"))
        both = pl.all_horizontal([pl.col(f"_cut{j}") for j in range(i + 1)])
        aggs.append(both.sum().alias(f"_cum{i}"))
    row = frame.select(flags).select(aggs).collect().row(0, named=True) if flags else \
        frame.select(pl.len().alias("_total")).collect().row(0, named=True)
    steps = [CutStep(name, texts.get(name, ""), int(row[f"_alone{i}"]), int(row[f"_cum{i}"]))
             for i, (name, _) in enumerate(cuts)]
    return CutFlow(int(row["_total"]), steps)


__all__ = ["CutFlow", "CutStep", "cutflow"]
