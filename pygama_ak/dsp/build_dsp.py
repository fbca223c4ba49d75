"""build_dsp: raw tables → dsp tables, through a processing chain per table.

Only the raw columns the chain needs are read, in chunks of ``chunk_rows``; each chunk runs
through the chain in blocks of ``block_rows`` and is appended to a temporary output file that is
renamed when every table is done. Tables with the same layout and database share one chain.
"""

from __future__ import annotations

import functools
import os
import threading
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from .chain import DEFAULT_BLOCK_ROWS, InputColumn, ProcessingChain
from .config import DspConfig, channel_database, parse_config, resolve_friends
from .errors import DSPFatal
from .units import UNITS
from .variables import Grid, Var, is_time_unit

DEFAULT_CHUNK_ROWS = 1000  # rows read per chunk: bounds memory, balances workers


def _units(layout_params: dict) -> str | None:
    unit = layout_params.get("units")
    return str(unit) if unit is not None else None


def input_columns(head: Any, periods: Mapping[str, float] | None = None) -> dict[str, InputColumn]:
    """Input columns of a raw table from its first row(s): waveform tables get a time grid.

    A waveform ``w`` (``t0``, ``dt``, ``values``) becomes the array column ``w`` with the grid
    ``(dt[0], w__t0)`` and the per-row column ``w__t0`` (in ``dt``'s unit). ``periods``: the
    first ``dt`` of each waveform, for a ``head`` read with no rows.
    """
    import awkward as ak

    periods = periods or {}
    columns: dict[str, InputColumn] = {}
    for name in head.fields:
        col = head[name]
        if col.fields and {"t0", "dt", "values"} <= set(col.fields):
            if not len(col) and name not in periods:
                continue  # an empty table: no sampling period to build a grid from
            dt_unit = _units(ak.parameters(col.dt)) or _units(ak.parameters(col.t0)) or "ns"
            t0_unit = _units(ak.parameters(col.t0)) or dt_unit
            period = float(col.dt[0]) if len(col) else periods[name]
            values = ak.to_numpy(col["values"][:1])
            if values.ndim != 2:
                continue  # variable-length waveforms are not supported as chain inputs yet
            columns[f"{name}__t0"] = InputColumn(np.float64, (), t0_unit)
            columns[name] = InputColumn(values.dtype, values.shape[1:], _units(ak.parameters(col["values"])),
                                        Grid(period, dt_unit, f"{name}__t0", 0.0))
            if t0_unit != dt_unit:
                columns[f"{name}__t0"].unit = dt_unit  # converted when read
            continue
        try:
            arr = ak.to_numpy(col)
        except (ValueError, TypeError):
            continue  # jagged columns can only be copied through
        if arr.dtype.kind in "biuf":
            columns[name] = InputColumn(arr.dtype, arr.shape[1:], _units(ak.parameters(col)))
    return columns


def _read_inputs(raw_file: Any, table: str, names: list[str], columns: Mapping[str, InputColumn],
                 start: int, stop: int, head: Any) -> dict[str, np.ndarray]:
    """The needed columns of rows [start, stop) as numpy arrays."""
    import awkward as ak

    from ..lh5 import read

    fields = sorted({n[: -len("__t0")] if n.endswith("__t0") and n[: -len("__t0")] in columns else n
                     for n in names})
    chunk = read(raw_file, table, fields=fields, rows=(start, stop))
    out: dict[str, np.ndarray] = {}
    for name in names:
        if name.endswith("__t0") and name[: -len("__t0")] in columns:
            wf = chunk[name[: -len("__t0")]]
            t0 = ak.to_numpy(wf.t0).astype(np.float64)
            t0_unit = _units(ak.parameters(head[name[: -len("__t0")]].t0)) or columns[name].unit
            if t0_unit != columns[name].unit and t0_unit in UNITS:
                t0 = t0 * (UNITS[t0_unit][0] / UNITS[columns[name].unit][0])
            out[name] = t0
        elif columns[name].grid is not None:
            out[name] = ak.to_numpy(chunk[name]["values"])
        else:
            out[name] = ak.to_numpy(chunk[name])
    return out


class TableRunner:
    """Runs one chain over the rows of one table, chunk by chunk."""

    def __init__(self, chain: ProcessingChain, block_rows: int = DEFAULT_BLOCK_ROWS) -> None:
        self.chain = chain
        self.block_rows = block_rows
        self.outputs: dict[str, Var] = {}
        self.units: dict[str, str | None] = {}
        for name in chain.outputs:
            var = chain.vars[name]
            if var.kind == "input":
                continue
            unit = var.unit
            if var.is_coord and var.grid is not None and is_time_unit(unit):
                var = chain.to_unit(var, unit)
            self.outputs[name] = var
            self.units[name] = unit
        self.storage = chain.allocate(block_rows)

    @property
    def copied(self) -> list[str]:
        """Outputs that are input columns, written unchanged."""
        return [n for n in self.chain.outputs if self.chain.vars[n].kind == "input"]

    def run(self, inputs: Mapping[str, np.ndarray], n_rows: int, first_row: int = 0) -> dict[str, Any]:
        """Outputs of ``n_rows`` rows: numpy arrays, or (values, lengths) for vector outputs."""
        results: dict[str, np.ndarray] = {}
        lengths: dict[str, np.ndarray] = {}
        for name, var in self.outputs.items():
            shape = var.shape or ()
            results[name] = np.empty((n_rows, *shape), dtype=var.dtype)
            if var.vector_len:
                lengths[name] = np.empty(n_rows, dtype=np.int64)
        for b0 in range(0, n_rows, self.block_rows):
            b1 = min(b0 + self.block_rows, n_rows)
            block = {k: v[b0:b1] for k, v in inputs.items()}
            try:
                bufs = self.chain.run_block(self.storage, block, b1 - b0)
            except DSPFatal as exc:
                raise DSPFatal(f"{exc} (rows {first_row + b0}-{first_row + b1})") from exc
            for name, var in self.outputs.items():
                results[name][b0:b1] = var.value if var.is_const else bufs[var.name]
                if var.vector_len:
                    lengths[name][b0:b1] = bufs[var.vector_len]
        return {n: (results[n], lengths[n]) if n in lengths else results[n] for n in results}


def _to_awkward(results: Mapping[str, Any], units: Mapping[str, str | None], attrs: Mapping[str, dict],
                copied: Any, n_rows: int) -> Any:
    """One chunk's outputs as a table; layouts are built directly around the numpy results."""
    import awkward as ak

    contents, names = [], []
    for name, value in results.items():
        params: dict[str, Any] = {}
        if units.get(name):
            params["units"] = units[name]
        if attrs.get(name):
            params["attrs"] = dict(attrs[name])
        if isinstance(value, tuple):  # vector output: (values, lengths) → jagged rows
            values, lengths = value
            capacity = values.shape[1] if values.ndim > 1 else 0
            kept = np.minimum(lengths, capacity)
            mask = np.arange(capacity)[None, :] < kept[:, None]
            offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
            np.cumsum(kept, out=offsets[1:])
            layout = ak.contents.ListOffsetArray(ak.index.Index64(offsets),
                                                 ak.contents.NumpyArray(values[mask]), parameters=params)
        else:
            layout = ak.contents.NumpyArray(value, parameters=params)
        contents.append(layout)
        names.append(name)
    if copied is not None:
        for name in copied.fields:
            contents.append(ak.to_layout(copied[name]))
            names.append(name)
    return ak.Array(ak.contents.RecordArray(contents, names, length=n_rows))


def output_table(table: str) -> str:
    """``ch1084803/raw`` → ``ch1084803/dsp`` (every ``raw`` path component becomes ``dsp``)."""
    return "/".join("dsp" if p == "raw" else p for p in table.split("/"))


def _node_attrs(config: DspConfig, outputs: Sequence[str]) -> dict[str, dict]:
    attrs: dict[str, dict] = {}
    for name in outputs:
        node = config.nodes.get(name)
        if node is None:
            continue
        a = dict(node.lh5_attrs)
        if node.description:
            a["description"] = node.description
        if a:
            attrs[name] = a
    return attrs


_CHAINS: dict[tuple, ProcessingChain] = {}
_RUNNERS = threading.local()  # per thread: Dask workers may run several tasks at once


def _chain_for(config: Any, columns: dict[str, InputColumn], db: dict, outputs: list[str] | None) -> ProcessingChain:
    """One chain per (config, table layout, database, outputs) in each process."""
    cfg = parse_config(config)
    layout = tuple((k, c.dtype.str, c.shape, c.unit, c.grid) for k, c in columns.items())
    key = (cfg.fingerprint, layout, repr(db), repr(outputs))  # content, not the file name
    chain = _CHAINS.get(key)
    if chain is None:
        chain = _CHAINS[key] = ProcessingChain(cfg, columns, db, outputs)
    return chain


# a table the chain reads: (file, group, prefix, suffix); the raw table has no prefix/suffix
Source = tuple[str, str, str, str]


@functools.lru_cache(maxsize=64)
def _table_layout(raw_file: str, table: str, mtime_ns: int) -> tuple[Any, dict[str, InputColumn]]:
    """Layout (no rows) and input columns of a table, read once per process (``mtime_ns``:
    cache key). Only each waveform's first ``dt`` is read: no compressed chunk of the other
    columns is inflated."""
    from ..lh5 import read

    head = read(raw_file, table, rows=(0, 0))
    periods = {}
    for name in head.fields:
        if head[name].fields and {"t0", "dt", "values"} <= set(head[name].fields):
            dt = read(raw_file, f"{table}/{name}/dt", rows=(0, 1))
            if len(dt):
                periods[name] = float(dt[0])
    return head, input_columns(head, periods)


def _chain_name(name: str, columns: Mapping[str, InputColumn], prefix: str, suffix: str) -> str:
    """A source column's name in the chain: ``prefix + name + suffix`` (``w__t0`` keeps its tail)."""
    if name.endswith("__t0") and name[: -len("__t0")] in columns:
        return f"{prefix}{name[: -len('__t0')]}{suffix}__t0"
    return f"{prefix}{name}{suffix}"


def source_layouts(sources: Sequence[Source]) -> tuple[list[tuple[Any, dict[str, InputColumn]]],
                                                        dict[str, InputColumn], dict[str, tuple[int, str]]]:
    """Per source (head, columns); the merged chain columns; chain name → (source, column).

    The raw table's columns win over a friend's column of the same (prefixed) name.
    """
    layouts, merged, origin = [], {}, {}
    for i, (file, group, prefix, suffix) in enumerate(sources):
        head, columns = _table_layout(file, group, os.stat(file).st_mtime_ns)
        layouts.append((head, columns))
        for name, col in columns.items():
            new = _chain_name(name, columns, prefix, suffix)
            if new in merged:
                continue
            grid = col.grid
            if grid is not None and grid.offset_var:
                grid = Grid(grid.period, grid.unit, _chain_name(grid.offset_var, columns, prefix, suffix),
                            grid.offset)
            merged[new] = InputColumn(col.dtype, col.shape, col.unit, grid)
            origin[new] = (i, name)
    return layouts, merged, origin


def _read_sources(sources: Sequence[Source], names: Sequence[str], start: int, stop: int) -> dict[str, np.ndarray]:
    """The chain inputs ``names`` of rows [start, stop), each read from its own table."""
    from ..lh5.keep_open import keep_table_open

    layouts, _, origin = source_layouts(sources)
    out: dict[str, np.ndarray] = {}
    for i, (file, group, _, _) in enumerate(sources):
        wanted = {origin[n][1]: n for n in names if origin[n][0] == i}
        if wanted:
            keep_table_open(file, group)  # each compressed chunk inflates once over the chunks
            head, columns = layouts[i]
            values = _read_inputs(file, group, list(wanted), columns, start, stop, head)
            out.update({wanted[k]: v for k, v in values.items()})
    return out


def _read_copied(sources: Sequence[Source], names: Sequence[str], start: int, stop: int) -> Any:
    """Input columns written unchanged to the output, rows [start, stop), under their chain names."""
    import awkward as ak

    from ..lh5 import read
    from ..lh5.keep_open import keep_table_open

    _, _, origin = source_layouts(sources)
    fields: dict[str, Any] = {}
    for i, (file, group, _, _) in enumerate(sources):
        wanted = {origin[n][1]: n for n in names if origin[n][0] == i}
        if wanted:
            keep_table_open(file, group)
            chunk = read(file, group, fields=list(wanted), rows=(start, stop))
            fields.update({wanted[k]: chunk[k] for k in wanted})
    return ak.zip({n: fields[n] for n in names}, depth_limit=1)


def runner_for(task: tuple) -> TableRunner:
    """The runner of a chunk's table: its chain is built (and its kernels loaded) on first use."""
    sources, _, _, config, db, outputs, block_rows = task
    _, columns, _ = source_layouts(sources)
    chain = _chain_for(config, columns, db, outputs)
    runners = _RUNNERS.__dict__.setdefault("by_chain", {})
    runner = runners.get((id(chain), block_rows))
    if runner is None:  # block buffers are allocated once per thread and chain
        runner = runners[(id(chain), block_rows)] = TableRunner(chain, block_rows)
    return runner


def process_chunk(task: tuple) -> tuple[dict[str, Any], dict[str, str | None], list[str]]:
    """Run the chain on rows [start, stop) of one table and its friends (here or in a worker)."""
    sources, start, stop = task[:3]
    runner = runner_for(task)
    inputs = _read_sources(sources, runner.chain.needed_inputs(), start, stop)
    return runner.run(inputs, stop - start, start), runner.units, runner.copied


def taper(tasks: list[tuple], tail: int, parts: int = 4) -> list[tuple]:
    """``tasks`` with each of the last ``tail`` chunks cut into ``parts`` smaller ones, in order:
    parallel workers then run out of work within a fraction of a chunk of each other."""
    cut = []
    for task in tasks[-tail:]:
        sources, start, stop = task[:3]
        step = max(1, -(-(stop - start) // parts))
        cut += [(sources, a, min(a + step, stop), *task[3:]) for a in range(start, stop, step)]
    return tasks[:-tail] + cut


def warm_up(task: tuple, rows: int = 16) -> None:
    """Build ``task``'s chain and run it once on its first ``rows`` rows (results dropped), so
    the first-call costs (lazy imports, type dispatch, allocator growth) are paid here once and
    processes forked afterwards start at full speed."""
    sources, start, stop = task[:3]
    process_chunk((sources, start, min(stop, start + rows), *task[3:]))


def prepare_chains(raw_file: str | os.PathLike, *, config: Any, database: Any = None,
                   tables: str | Sequence[str] | None = None) -> int:
    """Build (and cache in this process) the chains ``build_dsp`` would use for ``raw_file``'s
    tables, loading their kernels and running each once on a few rows; processes forked
    afterwards inherit them and start at full speed. Returns how many."""
    from ..configs import load_config
    from ..hit.build_hit import select_tables
    from ..lh5.keep_open import release_tables
    from ..lh5.read import read_n_rows

    cfg = parse_config(config)
    if database is not None and not isinstance(database, Mapping):
        database, _ = load_config(database)
    built = set()
    for table in select_tables(raw_file, tables, tier="raw"):
        db = channel_database(database, table)
        rows = read_n_rows(raw_file, table) or 0
        if rows == 0:
            continue  # skipped by build_dsp
        sources = table_sources(raw_file, table, cfg, db)
        task = (sources, 0, min(rows, 16), cfg, db, None, DEFAULT_BLOCK_ROWS)
        chain = id(runner_for(task).chain)
        if chain not in built:
            warm_up(task)
        built.add(chain)
    release_tables()  # processes forked next open their own handles
    return len(built)


def table_sources(raw_file: str | os.PathLike, table: str, cfg: DspConfig, db: Mapping,
                  rows: int | None = None) -> tuple[Source, ...]:
    """The raw table and its friend tables (``db``-resolved); a friend must exist and, when
    ``rows`` is given, have at least that many rows."""
    from ..lh5.read import read_n_rows
    from .errors import ChainError

    sources: tuple[Source, ...] = ((os.fspath(raw_file), table, "", ""),)
    for friend in resolve_friends(cfg, db):
        if not os.path.isfile(friend.file):
            raise ChainError(f"{cfg.source}: friend input file {friend.file} (for {table}) does not exist")
        if rows is not None:
            n = read_n_rows(friend.file, friend.group)
            if n is None or n < rows:
                raise ChainError(f"{cfg.source}: friend input {friend.file}:{friend.group} has {n} rows, "
                                 f"{raw_file}:{table} has {rows}")
        sources += ((friend.file, friend.group, friend.prefix, friend.suffix),)
    return sources


def build_dsp(
    raw_file: str | os.PathLike,
    out_file: str | os.PathLike | None = None,
    *,
    config: str | os.PathLike | Mapping,
    database: str | os.PathLike | Mapping | None = None,
    tables: str | Sequence[str] | None = None,
    outputs: Sequence[str] | None = None,
    overwrite: bool = False,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    block_rows: int = DEFAULT_BLOCK_ROWS,
    n_rows: int | None = None,
    jobs: int = 1,
    scheduler: str | None = None,
    compression: Any = "gzip",
    progress: Callable[[str, int, int], None] | None = None,
) -> dict[str, Any]:
    """Run a dspeed config over the raw tables of ``raw_file``.

    Returns ``{output table: rows written}`` when ``out_file`` is given (written atomically; an
    existing file needs ``overwrite``), else ``{output table: ak.Array}``. ``database`` is keyed
    by channel (``{"ch1084803": {"pz": {"tau": "400*us"}}}``); ``tables`` a list, comma-separated
    names or a glob (``ch*/raw``). ``jobs`` > 1 processes chunks in worker processes (or on the
    Dask cluster at ``scheduler``); the output is the same.
    """
    import awkward as ak

    from ..configs import load_config
    from ..hit.build_hit import select_tables
    from ..lh5.keep_open import release_tables
    from ..lh5.output import atomic_output
    from ..lh5.read import read_n_rows
    from ..lh5.write import Appender
    from ..run import make_executor, ordered_map, shutdown
    from ..run.executors import process_pool, undo_frozen_malloc
    from .errors import ChainError

    undo_frozen_malloc()
    cfg = parse_config(config)  # fails early on a bad config
    config_arg = cfg  # parsed once; workers get it pickled and reuse chains of equal content
    if database is not None and not isinstance(database, Mapping):
        database, _ = load_config(database)
    names = select_tables(raw_file, tables, tier="raw")
    if not names:
        raise ChainError(f"{raw_file}: no raw tables found")
    wanted = list(outputs) if outputs is not None else None
    attrs = _node_attrs(cfg, wanted or cfg.outputs)
    tasks = []
    totals: dict[str, int] = {}
    for table in names:
        total = read_n_rows(raw_file, table) or 0
        if n_rows is not None:
            total = min(total, n_rows)
        if total == 0:  # e.g. a dead channel: nothing to process, and no waveform period
            warnings.warn(f"{raw_file}:{table} has no rows: no {output_table(table)} table written",
                          stacklevel=2)
            continue
        totals[table] = total
        db = channel_database(database, table)
        sources = table_sources(raw_file, table, cfg, db, rows=total)
        for start in range(0, total, chunk_rows):
            stop = min(start + chunk_rows, total)
            tasks.append((sources, start, stop, config_arg, db, wanted, block_rows))

    if jobs > 1 or scheduler:
        tasks = taper(tasks, tail=2 * max(jobs, 2))

    def process(sink: Callable[[str, Any], None]) -> dict[str, int]:
        counts: dict[str, int] = {}
        from .warmup import WORKER_PRELOAD, config_modules

        preload = [*WORKER_PRELOAD, *config_modules(config_arg)] if jobs > 1 or scheduler else []
        if scheduler:
            executor, ahead, work_here = make_executor(jobs, scheduler, preload), 2 * max(jobs, 1), False
        elif jobs > 1 and tasks:  # this process works too, beside jobs - 1 workers
            warm_up(tasks[0])  # workers forked from here start with the chain built and run
            release_tables()  # workers open their own handles
            executor, ahead, work_here = process_pool(jobs - 1, preload, inherit=True), 3 * (jobs - 1), True
        else:
            executor, ahead, work_here = make_executor(1), 1, False
        try:
            results_in_order = ordered_map(executor, process_chunk, tasks, ahead, work_here)
            for task, (results, units, copied) in zip(tasks, results_in_order):
                sources, start, stop = task[:3]
                table = sources[0][1]
                extra = _read_copied(sources, copied, start, stop) if copied else None
                out_name = output_table(table)
                sink(out_name, _to_awkward(results, units, attrs, extra, stop - start))
                counts[out_name] = counts.get(out_name, 0) + stop - start
                if progress is not None:
                    progress(table, stop, totals[table])
        finally:
            shutdown(executor)
            release_tables()
        return counts

    if out_file is None:
        parts: dict[str, list] = {}
        process(lambda name, arr: parts.setdefault(name, []).append(arr))
        return {name: ak.concatenate(arrs) if len(arrs) > 1 else arrs[0] for name, arrs in parts.items()}
    with atomic_output(out_file, overwrite=overwrite) as tmp, Appender(tmp, compression=compression) as out:
        return process(lambda name, arr: out.append(arr, name))
