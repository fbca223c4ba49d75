"""run_chain: DAQ files → raw → dsp → hit → tcm → evt for every cycle, resumably.

A run config (YAML/JSON) names the inputs, the output folder and one entry per tier::

    inputs: ["daq/*.fcio"]              # DAQ files (any supported format) or globs, relative to it
    output: gen                        # gen/tier/<tier>/<cycle>-tier_<tier>.lh5
    tiers:
      raw: {out_spec: raw-spec.json}   # optional daq2lh5 routing (default: ch{key}/raw)
      dsp: {config: dsp.json, database: pars.json}
      hit: {config: hit.json}
      tcm: {coin_col: eventnumber, window: 0}
      evt: {config: evt.yaml}

Every output is written to a temporary file, stamped with the checksum of its inputs and the hash
of its tier config, then renamed into place; a later run skips outputs whose stamp still matches,
so a killed run resumes where it stopped and never sees a partial file.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Executor, wait
from dataclasses import dataclass, field
from pathlib import Path

from ..configs import ConfigError, check_keys, load_config

TIERS = ("raw", "dsp", "hit", "tcm", "evt")
UPSTREAM = {"raw": (), "dsp": ("raw",), "hit": ("dsp",), "tcm": ("raw",), "evt": ("tcm", "dsp", "hit")}
STAMP_INPUTS = "pygama_ak_inputs"
STAMP_CONFIG = "pygama_ak_config"
# LEGEND layout: the waveform table of every channel as ch{key}/raw, whatever the DAQ format
# (a decoder the file does not have is simply not used)
WAVEFORM_DECODERS = ("FCEventDecoder", "ORFCIOEventDecoder", "ORFlashCamADCWaveformDecoder",
                     "ORFlashCamWaveformDecoder", "ORSIS3302DecoderForEnergy", "ORSIS3316WaveformDecoder",
                     "ORGretina4MWaveformDecoder", "CompassEventDecoder", "LLAMAEventDecoder")
DEFAULT_RAW_SPEC = {decoder: {"ch{key}/raw": {"key_list": ["*"]}} for decoder in WAVEFORM_DECODERS}


@dataclass
class RunConfig:
    """A parsed run config with absolute paths."""

    inputs: list[Path]
    output: Path
    tiers: dict[str, dict]
    source: str

    def path(self, tier: str, cycle: str) -> Path:
        """``<output>/tier/<tier>/<cycle>-tier_<tier>.lh5``."""
        return self.output / "tier" / tier / f"{cycle}-tier_{tier}.lh5"


def load_run_config(source: str | os.PathLike | Mapping) -> RunConfig:
    """Read a run config; relative paths are relative to its file (or the working folder)."""
    data, name = load_config(source)
    base = Path(source).parent if not isinstance(source, Mapping) else Path.cwd()
    check_keys(data, ("inputs", "output", "tiers"), name, required=("inputs", "output", "tiers"))
    tiers = dict(data["tiers"] or {})
    unknown = sorted(set(tiers) - set(TIERS))
    if unknown:
        raise ConfigError(f"{name}: unknown tier {unknown[0]!r} (tiers: {', '.join(TIERS)})")
    for tier in tiers:
        missing = [u for u in UPSTREAM[tier] if u not in tiers]
        if missing:
            raise ConfigError(f"{name}: tier {tier!r} needs tier {missing[0]!r}")
    inputs: list[Path] = []
    patterns = data["inputs"] if isinstance(data["inputs"], list) else [data["inputs"]]
    for pattern in patterns:
        full = str(base / pattern)
        found = sorted(glob.glob(full)) if glob.has_magic(full) else [full]
        if not found:
            raise ConfigError(f"{name}: no input matches {pattern!r}")
        inputs += [Path(p) for p in found]
    resolved = {}
    for tier, cfg in tiers.items():
        cfg = dict(cfg or {})
        for key in ("config", "database", "out_spec"):
            if isinstance(cfg.get(key), str):
                cfg[key] = str(base / cfg[key])
        resolved[tier] = cfg
    return RunConfig(inputs, base / data["output"], resolved, name)


# -- stamps --------------------------------------------------------------------------------------
def file_checksum(path: str | os.PathLike, sample: int = 1 << 20) -> str:
    """blake2b of the size and the first and last MiB (cheap enough for TB-sized runs)."""
    size = os.path.getsize(path)
    h = hashlib.blake2b(str(size).encode(), digest_size=16)
    with open(path, "rb") as f:
        h.update(f.read(sample))
        if size > sample:
            f.seek(max(size - sample, sample))
            h.update(f.read(sample))
    return h.hexdigest()


def config_hash(tier_cfg: Mapping) -> str:
    """Hash of a tier's settings and the contents of the files they name."""
    h = hashlib.blake2b(json.dumps(tier_cfg, sort_keys=True, default=str).encode(), digest_size=16)
    for key in ("config", "database", "out_spec"):
        value = tier_cfg.get(key)
        if isinstance(value, str) and os.path.isfile(value):
            h.update(Path(value).read_bytes())
    return h.hexdigest()


def read_stamp(path: Path) -> tuple[str, str] | None:
    """The (inputs, config) stamp of an output, or None if absent/unreadable."""
    import h5py

    try:
        with h5py.File(path, "r", locking=False) as f:
            return str(f.attrs[STAMP_INPUTS]), str(f.attrs[STAMP_CONFIG])
    except (OSError, KeyError):
        return None


# -- one item of work ----------------------------------------------------------------------------
@dataclass
class Item:
    """One output to make: ``tier`` of ``cycle`` from ``inputs``."""

    tier: str
    cycle: str
    inputs: dict[str, str]  # role -> path
    output: str
    settings: dict
    stamp: tuple[str, str] = ("", "")


def run_item(item: Item) -> int:
    """Make one output (in a worker): write to a temp file, stamp it, rename. Returns rows."""
    import h5py

    final = Path(item.output)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.with_name(f".{final.name}.{os.getpid()}.partial")
    tmp.unlink(missing_ok=True)
    try:
        rows = _TIER_FUNCS[item.tier](item, tmp)
        with h5py.File(tmp, "a") as f:
            f.attrs[STAMP_INPUTS], f.attrs[STAMP_CONFIG] = item.stamp
        os.replace(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)
    return rows


def _raw(item: Item, out: Path) -> int:
    from ..raw.build_raw import build_raw

    spec = item.settings.get("out_spec", DEFAULT_RAW_SPEC)
    summary = build_raw(item.inputs["daq"], out, out_spec=spec, compression=item.settings.get("compression", "gzip"))
    return int(sum(summary.decoded.values()))


def _warm_up(item: Item) -> None:
    """Load here what the workers of ``item``'s tier need (dsp: the chain of its first file)."""
    if item.tier == "dsp":
        from ..dsp.build_dsp import prepare_chains

        s = item.settings
        prepare_chains(item.inputs["raw"], config=s["config"], database=s.get("database"),
                       tables=s.get("tables"))


def _dsp(item: Item, out: Path) -> int:
    from ..dsp.build_dsp import build_dsp

    s = item.settings
    counts = build_dsp(item.inputs["raw"], out, config=s["config"], database=s.get("database"),
                       tables=s.get("tables"))
    return sum(counts.values())


def _hit(item: Item, out: Path) -> int:
    from ..hit.build_hit import build_hit

    counts = build_hit(item.inputs["dsp"], out, config=item.settings["config"])
    return sum(counts.values())


def _tcm(item: Item, out: Path) -> int:
    from ..evt.tcm import build_tcm, write_tcm

    s = item.settings
    tcm = build_tcm([(item.inputs["raw"], s.get("tables", "ch*/raw"))], s.get("coin_col", "eventnumber"),
                    coin_windows=s.get("window", 0))
    write_tcm(tcm, out, s.get("name", "hardware_tcm_1"))
    return int(tcm.n_events)


def _evt(item: Item, out: Path) -> int:
    from ..evt.build_evt import build_evt

    s = item.settings
    tiers = {t: (item.inputs[t], t, "ch{}") for t in ("dsp", "hit")}
    n = build_evt((item.inputs["tcm"], s.get("tcm_name", "hardware_tcm_1")), tiers, s["config"], out)
    return int(n)


_TIER_FUNCS: dict[str, Callable[[Item, Path], int]] = {"raw": _raw, "dsp": _dsp, "hit": _hit, "tcm": _tcm, "evt": _evt}


# -- the run -------------------------------------------------------------------------------------
@dataclass
class TierSummary:
    """Outcome of one tier over all cycles."""

    ok: int = 0
    skipped: int = 0
    failed: int = 0
    rows: int = 0
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)


def run_chain(config: str | os.PathLike | Mapping | RunConfig, *, jobs: int | None = 1,
              scheduler: str | None = None, retries: int = 1, skip_bad_files: bool = False,
              progress: Callable[[str, int, int], None] | None = None,
              executor: Executor | None = None) -> dict[str, TierSummary]:
    """Run every tier of ``config`` for every cycle, in dependency order; returns a summary.

    Outputs already made from the same inputs and config are skipped. A failing item is retried
    ``retries`` times; then, with ``skip_bad_files``, its cycle is reported and dropped from the
    later tiers, otherwise the run stops with the error.
    """
    from . import make_executor, shutdown
    from .executors import undo_frozen_malloc

    undo_frozen_malloc()  # forked workers inherit it
    run = config if isinstance(config, RunConfig) else load_run_config(config)
    remove_partial_files(run)
    cycles = {p.stem: p for p in run.inputs}
    alive = set(cycles)
    summary = {t: TierSummary() for t in TIERS if t in run.tiers}
    own = executor is None
    fork_per_tier = False  # a local pool forked from here for each tier, after warming up for it
    if executor is None:
        from ..dsp.warmup import WORKER_PRELOAD, config_modules
        from .executors import default_jobs, import_modules, process_pool

        dsp = run.tiers.get("dsp", {}).get("config")
        preload = [*WORKER_PRELOAD, *(config_modules(dsp) if dsp else [])]
        n_jobs = default_jobs() if jobs is None else jobs
        if not scheduler and n_jobs > 1:
            import_modules(preload)
            fork_per_tier = True
        else:
            executor = make_executor(n_jobs, scheduler, preload=preload)
    try:
        for tier in summary:
            t0 = time.perf_counter()
            settings = run.tiers[tier]
            chash = config_hash(settings)
            todo: list[Item] = []
            for cycle in sorted(alive):
                inputs = {"daq": str(cycles[cycle])} if tier == "raw" else {
                    up: str(run.path(up, cycle)) for up in UPSTREAM[tier]}
                stamp = ("|".join(f"{k}={file_checksum(v)}" for k, v in sorted(inputs.items())), chash)
                item = Item(tier, cycle, inputs, str(run.path(tier, cycle)), settings, stamp)
                if read_stamp(Path(item.output)) == stamp:
                    summary[tier].skipped += 1
                else:
                    todo.append(item)
            if fork_per_tier and todo:
                _warm_up(todo[0])  # the workers forked next start with its chain built
                executor = process_pool(min(n_jobs, len(todo)), preload, inherit=True)
            try:
                _run_items(executor, todo, retries, skip_bad_files, summary[tier], alive, progress)
            finally:
                if fork_per_tier and todo:
                    shutdown(executor)
            summary[tier].seconds = time.perf_counter() - t0
    finally:
        if own and not fork_per_tier:
            shutdown(executor)
    return summary


def remove_partial_files(run: RunConfig) -> list[Path]:
    """Delete temporary files a killed run left in the output tree (never finished outputs)."""
    removed = []
    for tier in TIERS:
        folder = run.output / "tier" / tier
        if folder.is_dir():
            for path in folder.glob(".*"):
                if path.name.endswith((".partial", ".tmp")):
                    path.unlink(missing_ok=True)
                    removed.append(path)
    return removed


def largest_first(items: Sequence[Item]) -> list[int]:
    """Indices of ``items``, largest inputs (bytes) first: workers then end on small items and
    finish close together (a missing input counts as empty; its error comes when it runs)."""

    def size(item: Item) -> int:
        return sum(os.path.getsize(p) if os.path.isfile(p) else 0 for p in item.inputs.values())

    return sorted(range(len(items)), key=lambda i: -size(items[i]))


def _run_items(executor: Executor, items: list[Item], retries: int, skip_bad_files: bool,
               summary: TierSummary, alive: set[str], progress: Callable[[str, int, int], None] | None) -> None:
    attempts = dict.fromkeys(range(len(items)), 0)
    pending = {executor.submit(run_item, items[i]): i for i in largest_first(items)}
    done = 0
    while pending:
        finished, _ = wait(list(pending), return_when=FIRST_COMPLETED)
        for future in finished:
            i = pending.pop(future)
            item = items[i]
            try:
                summary.rows += future.result()
                summary.ok += 1
            except Exception as exc:  # noqa: BLE001 - reported per item
                attempts[i] += 1
                if attempts[i] <= retries and not _is_bad_input(exc):
                    pending[executor.submit(run_item, item)] = i
                    continue
                message = f"{item.tier} {item.cycle}: {exc}"
                if not skip_bad_files:
                    for other in pending:
                        other.cancel()
                    raise RuntimeError(message) from exc
                summary.failed += 1
                summary.errors.append(message)
                alive.discard(item.cycle)
            done += 1
            if progress is not None:
                progress(item.tier, done, len(items))


def _is_bad_input(exc: Exception) -> bool:
    """Errors that a retry cannot fix (a corrupt DAQ file, a bad config)."""
    from ..raw.errors import DAQFileError

    return isinstance(exc, DAQFileError | ConfigError)
