"""Helpers shared by the benchmark and cross-check scripts (no lgdo import here)."""

from __future__ import annotations

from pathlib import Path

import h5py


def lgdo_objects(path: Path) -> list[str]:
    """Top-most objects with a ``datatype`` attribute (lgdo cannot read plain groups)."""
    names: list[str] = []

    def visit(group: h5py.Group, prefix: str) -> None:
        for key in group:
            obj = group.get(key)
            if obj is None:  # a dangling link
                continue
            if "datatype" in obj.attrs:
                names.append(f"{prefix}{key}")
            elif isinstance(obj, h5py.Group):
                visit(obj, f"{prefix}{key}/")

    with h5py.File(path, "r", locking=False) as f:
        visit(f, "")
    return names
