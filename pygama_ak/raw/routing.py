"""Route decoded rows to output tables: daq2lh5's default routing and its ``out_spec``.

An out_spec maps decoder names to buffers::

    {"FCEventDecoder": {"ch{key:07d}/raw": {"key_list": [[52800, 52805]],
                                            "out_stream": "out_{name}.lh5:/grp"}},
     "*": {"{name}": {"key_list": ["*"], "out_stream": "out.lh5"}}}

* decoder ``"*"``: every decoder not named elsewhere; ``{name}`` is the decoder name
  without ``Decoder``;
* ``key_list``: ints, strings, ``[first, last]`` inclusive ranges, fnmatch patterns on the
  key's text (``"fcid_0/status/*"``), and ``"*"`` for every key no other buffer of the
  decoder takes. A key listed by several buffers goes to the last one;
* buffer names, ``out_name`` and ``out_stream`` are ``str.format`` templates of ``key``,
  ``name`` and the keyword arguments (e.g. ``orig_basename``); ``out_stream`` is
  ``file.lh5`` or ``file.lh5:/group`` and may use environment variables. An empty
  ``out_stream`` decodes without writing; a missing ``out_stream`` (or file part) means
  the default output file.

Keys no buffer takes are dropped, as in daq2lh5.
"""

from __future__ import annotations

import fnmatch
import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .stream import Batch, default_table_name


@dataclass(frozen=True)
class Destination:
    """Where rows go: ``file`` (None: decoded, not written) and the object path in it."""

    file: str | None
    name: str


def default_spec() -> dict:
    """daq2lh5's default routing: one table per decoder, named after it, in the output file."""
    return {"*": {"{name}": {"key_list": ["*"]}}}


def load_spec(spec: str | os.PathLike | Mapping) -> dict:
    """An out_spec from a mapping or a JSON/YAML file."""
    if isinstance(spec, Mapping):
        return dict(spec)
    path = Path(spec)
    text = path.read_text()
    if path.suffix in (".yaml", ".yml"):
        import yaml

        return dict(yaml.safe_load(text))
    return dict(json.loads(text))


def _is_pattern(text: str) -> bool:
    return any(c in text for c in "*?[")


class _Buffer:
    def __init__(self, decoder: str, name: str, entry: Mapping) -> None:
        if not name:
            raise ValueError(f"out_spec: {decoder}: empty buffer name")
        if "key_list" not in entry:
            raise ValueError(f"out_spec: {decoder}/{name}: key_list is required")
        keys = entry["key_list"]
        if not isinstance(keys, list | tuple):
            keys = [keys]
        self.name = name
        stream = entry.get("out_stream")
        self.out_stream = None if stream is None else str(stream)
        self.out_name = entry.get("out_name")
        self.catch_all = any(k == "*" for k in keys)
        self.exact: set = set()
        self.ranges: list[tuple[int, int]] = []
        self.patterns: list[str] = []
        for k in keys:
            if k == "*":
                continue
            if isinstance(k, list | tuple):
                if len(k) != 2:
                    raise ValueError(f"out_spec: {decoder}/{name}: a range is [first, last]: {k}")
                self.ranges.append((int(k[0]), int(k[1])))
            elif isinstance(k, str) and _is_pattern(k):
                self.patterns.append(k)
            else:
                self.exact.add(str(k))

    def takes(self, key: Any) -> bool:
        text = str(key)
        if text in self.exact:
            return True
        if (
            self.ranges
            and isinstance(key, int | np.integer)
            and any(a <= int(key) <= b for a, b in self.ranges)
        ):
            return True
        return any(fnmatch.fnmatchcase(text, p) for p in self.patterns)


class Router:
    """Resolve ``(decoder, key)`` to a :class:`Destination` (cached)."""

    def __init__(
        self,
        spec: Mapping | None,
        *,
        default_file: str | os.PathLike,
        kwargs: Mapping[str, Any] | None = None,
    ) -> None:
        spec = default_spec() if spec is None else spec
        self.default_file = os.fspath(default_file)
        self.kwargs = dict(kwargs or {})
        self.decoders: dict[str, list[_Buffer]] = {}
        for decoder, buffers in spec.items():
            if not isinstance(buffers, Mapping):
                raise ValueError(f"out_spec: {decoder}: expected a mapping of buffers")
            self.decoders[decoder] = [_Buffer(decoder, n, e) for n, e in buffers.items()]
        self._cache: dict[tuple[str, Any], Destination | None] = {}

    def destination(self, decoder: str, key: Any) -> Destination | None:
        """Where rows of ``decoder`` with ``key`` go (None: no buffer takes them)."""
        ck = (decoder, key)
        if ck not in self._cache:
            self._cache[ck] = self._resolve(decoder, key)
        return self._cache[ck]

    def _resolve(self, decoder: str, key: Any) -> Destination | None:
        buffers = self.decoders.get(decoder, self.decoders.get("*"))
        if not buffers:
            return None
        chosen = None
        for buf in buffers:  # explicit keys first, the last buffer listing a key wins
            if buf.takes(key):
                chosen = buf
        if chosen is None:
            chosen = next((b for b in buffers if b.catch_all), None)
        if chosen is None:
            return None
        if isinstance(key, np.integer):
            key = int(key)
        fmt = {**self.kwargs, "key": key, "name": default_table_name(decoder)}
        name = (chosen.out_name or chosen.name).format(**fmt)
        if chosen.out_stream == "":
            return Destination(None, name)
        stream = os.path.expandvars((chosen.out_stream or "").format(**fmt))
        file, _, group = stream.partition(":")
        file = file or self.default_file
        path = "/".join(p for p in (group.strip("/"), name.strip("/")) if p)
        return Destination(file, path)

    def split(self, batch: Batch) -> Iterator[tuple[Destination | None, np.ndarray | None]]:
        """``(destination, rows)`` of a batch; ``rows`` None means every row."""
        keys = batch.keys
        if len(keys) == 0:
            return
        uniq, inverse = np.unique(keys, return_inverse=True)
        dests = [self.destination(batch.decoder, k) for k in uniq.tolist()]
        if len(set(dests)) == 1:
            yield dests[0], None
            return
        by_dest: dict[Destination | None, list[int]] = {}
        for i, d in enumerate(dests):
            by_dest.setdefault(d, []).append(i)
        for d, idx in by_dest.items():
            yield d, np.flatnonzero(np.isin(inverse, idx))
