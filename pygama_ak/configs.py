"""Loading JSON/YAML configs and checking their keys, with errors that name file and key."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any


class ConfigError(ValueError):
    """A config that cannot be used: names the config (file), the entry and the key."""


def load_config(source: str | os.PathLike | Mapping) -> tuple[dict, str]:
    """``(config dict, name for messages)`` from a dict or a ``.json``/``.yaml``/``.yml`` file."""
    if isinstance(source, Mapping):
        return dict(source), "<dict>"
    path = Path(source)
    if not path.exists():
        raise ConfigError(f"{path}: config file not found")
    text = path.read_text()
    try:
        if path.suffix.lower() in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text)
        else:
            data = json.loads(text)
    except Exception as exc:  # noqa: BLE001 - any parse error becomes a ConfigError
        raise ConfigError(f"{path}: cannot parse config: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the config must be a mapping at the top level")
    return data, str(path)


def check_keys(entry: Mapping, allowed: Iterable[str], where: str, required: Iterable[str] = ()) -> None:
    """Refuse unknown keys and report missing required ones."""
    allowed = set(allowed)
    unknown = sorted(set(entry) - allowed)
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r} (allowed: {', '.join(sorted(allowed))})")
    for key in required:
        if key not in entry:
            raise ConfigError(f"{where}: missing key {key!r}")


def as_list(value: Any) -> list:
    """A config value that may be one item or a list of items, as a list."""
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]
