"""Browse LH5 files: a machine-readable listing (:func:`tree`) and a rich tree (:func:`show`).

``show`` prints what ``lh5ls`` prints (``../shared/specs/lh5.md`` §3.4)::

    /
    ├── ch1084803 · HDF5 group
    │   └── raw · table{packet_id,eventnumber,...}
    │       ├── packet_id · array<1>{real}
    ...

Plain groups show ``HDF5 group``, datasets without a ``datatype`` attribute ``no datatype``,
soft and external links ``-> target`` (never followed, so link cycles cannot loop).
Hard-linked objects are listed under every name they have, each occurrence naming the
others; a hard link back to one of its own ancestors is shown but not descended into.
Children of structs and tables come in ``datatype`` field order, then any others.
"""

from __future__ import annotations

import contextlib
import os
from typing import Any

import h5py
import numpy as np

from .datatype import DatatypeError, parse_datatype
from .errors import LH5Error, LH5NotFoundError
from .read import PathLike, get_object, n_rows_of, open_lh5, read_attrs

__all__ = ["show", "tree", "filters_of"]

# HDF5 filter ids (the registered ones; hdf5plugin provides the dynamically loaded ones)
_FILTER_NAMES = {
    1: "deflate",
    2: "shuffle",
    3: "fletcher32",
    4: "szip",
    5: "nbit",
    6: "scaleoffset",
    32000: "lzf",
    32001: "blosc",
    32004: "lz4",
    32008: "bitshuffle",
    32015: "zstd",
    32026: "blosc2",
}
_BITSHUFFLE_CODECS = {2: "lz4", 3: "zstd"}
_BLOSC_CODECS = {0: "blosclz", 1: "lz4", 2: "lz4hc", 3: "snappy", 4: "zlib", 5: "zstd"}
_ROW_KINDS = ("array", "fixedsize_array", "aoesa", "vov", "encoded_vov", "encoded_aoesa",
              "table", "view")


# ----------------------------------------------------------------------------- the listing
def filters_of(ds: h5py.Dataset) -> list[str]:
    """Names of a dataset's HDF5 filter pipeline in order, e.g. ``["shuffle", "zstd(3)"]``."""
    plist = ds.id.get_create_plist()
    out = []
    for i in range(plist.get_nfilters()):
        code, _flags, cd, raw_name = plist.get_filter(i)
        name = _FILTER_NAMES.get(code)
        if name is None:
            text = raw_name.decode(errors="replace") if isinstance(raw_name, bytes) else str(raw_name)
            name = text.split(";")[0].split(":")[0].strip() or f"filter{code}"
            name = f"{name}[{code}]"
        elif code == 1 and cd:  # deflate: cd[0] is the level
            name = f"deflate({cd[0]})"
        elif code == 32015 and cd:  # zstd: cd[0] is the level
            name = f"zstd({cd[0]})"
        elif code == 32008 and len(cd) > 4 and cd[4] in _BITSHUFFLE_CODECS:
            codec = _BITSHUFFLE_CODECS[cd[4]]
            name = f"bitshuffle+{codec}" + (f"({cd[5]})" if codec == "zstd" and len(cd) > 5 else "")
        elif code == 32001 and len(cd) > 6:
            name = f"blosc({_BLOSC_CODECS.get(cd[6], cd[6])},{cd[4]})"
        out.append(name)
    return out


def _dtype_name(dt: np.dtype) -> str:
    info = h5py.check_string_dtype(dt)
    if info is not None:
        return f"str({info.encoding})" if info.length is None else f"S{info.length}"
    if h5py.check_vlen_dtype(dt) is not None:
        return f"vlen({h5py.check_vlen_dtype(dt)})"
    if dt.kind == "S":
        return f"S{dt.itemsize}"
    return str(dt)


def _dataset_detail(ds: h5py.Dataset) -> dict[str, Any]:
    """dtype, shape, logical and stored bytes, chunking and filters of one dataset."""
    dsid = ds.id
    shape = tuple(int(n) for n in dsid.shape) if dsid.shape is not None else None
    size = int(np.prod(shape)) if shape is not None else 0
    vlen = ds.dtype.kind == "O"
    plist = dsid.get_create_plist()
    layout = {h5py.h5d.CHUNKED: "chunked", h5py.h5d.CONTIGUOUS: "contiguous",
              h5py.h5d.COMPACT: "compact"}.get(plist.get_layout(), "other")
    chunks = tuple(int(c) for c in plist.get_chunk()) if layout == "chunked" else None
    num_chunks = None
    if chunks is not None:
        with contextlib.suppress(AttributeError, RuntimeError, ValueError):
            num_chunks = int(dsid.get_num_chunks())
    return {
        "dtype": _dtype_name(ds.dtype),
        "shape": shape,
        "nbytes": None if vlen else size * ds.dtype.itemsize,
        "storage_size": int(dsid.get_storage_size()),
        "layout": layout,
        "chunks": chunks,
        "num_chunks": num_chunks,
        "filters": filters_of(ds),
    }


def _object_id(obj) -> tuple[int, int, int]:
    """(file number, object address, hard-link count) of an open HDF5 object."""
    info = h5py.h5o.get_info(obj.id)
    return info.fileno, info.addr, info.rc


def _child_names(group: h5py.Group, datatype: str | None) -> list[str]:
    """Children in ``struct``/``table`` field order, then the others in HDF5 order."""
    names = list(group.keys())
    if datatype is None:
        return names
    try:
        fields = parse_datatype(datatype).fields
    except DatatypeError:
        return names
    present = set(names)
    ordered = [f for f in fields if f in present]
    taken = set(ordered)
    return ordered + [n for n in names if n not in taken]


def _n_rows(obj, datatype: str | None, filename: str, path: str) -> int | None:
    if datatype is None:
        return None
    try:
        dt = parse_datatype(datatype)
        if dt.kind not in _ROW_KINDS:
            return None
        return n_rows_of(obj, dt, filename, path)
    except (LH5Error, DatatypeError, KeyError, ValueError, TypeError, OSError):
        return None


def _link_entry(path: str, name: str, depth: int, kind: str, target: str) -> dict[str, Any]:
    """The entry of a link that is not followed (soft, external) or cannot be opened."""
    return {"path": path, "name": name, "depth": depth, "kind": kind, "datatype": None,
            "attrs": {}, "target": target, "hard_links": 0, "also": [], "cycle": False,
            "_id": None}


class _Walker:
    """Collects one entry per listed object, depth first, in display order."""

    def __init__(self, filename: str, max_depth: int | None, detail: bool) -> None:
        self.filename, self.max_depth, self.detail = filename, max_depth, detail
        self.entries: list[dict[str, Any]] = []

    def describe(self, obj, path: str, name: str, depth: int) -> dict[str, Any]:
        attrs = read_attrs(obj)
        datatype = attrs.pop("datatype", None)
        if isinstance(datatype, bytes):
            datatype = datatype.decode(errors="replace")
        fileno, addr, rc = _object_id(obj)
        entry: dict[str, Any] = {
            "path": path,
            "name": name,
            "depth": depth,
            "kind": "group" if isinstance(obj, h5py.Group) else "dataset",
            "datatype": None if datatype is None else str(datatype),
            "attrs": attrs,
            "target": None,
            "hard_links": rc,
            "also": [],
            "cycle": False,
            "_id": (fileno, addr),
        }
        if self.detail:
            entry["n_rows"] = _n_rows(obj, entry["datatype"], self.filename, path)
            if isinstance(obj, h5py.Dataset):
                entry.update(_dataset_detail(obj))
        return entry

    def walk(self, group: h5py.Group, entry: dict[str, Any], ancestors: frozenset) -> None:
        depth = entry["depth"]
        if self.max_depth is not None and depth >= self.max_depth:
            return
        ancestors = ancestors | {entry["_id"]}
        for name in _child_names(group, entry["datatype"]):
            path = f"{entry['path'].rstrip('/')}/{name}"
            link = group.get(name, getlink=True)
            if isinstance(link, (h5py.SoftLink, h5py.ExternalLink)):
                target = (link.path if isinstance(link, h5py.SoftLink)
                          else f"{link.filename}:{link.path}")
                kind = "soft_link" if isinstance(link, h5py.SoftLink) else "external_link"
                self.entries.append(_link_entry(path, name, depth + 1, kind, target))
                continue
            try:
                child = group[name]
            except (KeyError, OSError) as exc:  # e.g. a user-defined link type
                self.entries.append(_link_entry(path, name, depth + 1, "unreadable", str(exc)))
                continue
            child_entry = self.describe(child, path, name, depth + 1)
            self.entries.append(child_entry)
            if isinstance(child, h5py.Group):
                if child_entry["_id"] in ancestors:
                    child_entry["cycle"] = True  # a hard link to one of its own ancestors
                else:
                    self.walk(child, child_entry, ancestors)

    def finish(self) -> list[dict[str, Any]]:
        """Fill ``also`` (the other names of hard-linked objects) and drop internal keys."""
        by_id: dict[tuple, list[str]] = {}
        for e in self.entries:
            if e["_id"] is not None and e["hard_links"] > 1:
                by_id.setdefault(e["_id"], []).append(e["path"])
        for e in self.entries:
            paths = by_id.get(e.pop("_id"), [])
            e["also"] = [p for p in dict.fromkeys(paths) if p != e["path"]]
        return self.entries


def tree(
    path: PathLike, group: str = "/", *, depth: int | None = None, detail: bool = True
) -> list[dict[str, Any]]:
    """Every object under ``group`` of LH5 file ``path`` as a list of dicts, depth first.

    The first entry is ``group`` itself (``depth`` 0), then its descendants down to ``depth``
    levels (all when None). Keys: ``path`` (absolute), ``name``, ``depth``, ``kind``
    (``group``, ``dataset``, ``soft_link``, ``external_link``, ``unreadable``), ``datatype``
    (None when absent), ``attrs`` (without ``datatype``), ``target`` (links), ``hard_links``
    (HDF5 link count), ``also`` (other listed paths of the same hard-linked object),
    ``cycle`` (a hard link to its own ancestor, not descended into) and,
    with ``detail``, ``n_rows`` plus for datasets ``dtype``, ``shape``, ``nbytes``,
    ``storage_size``, ``layout``, ``chunks``, ``num_chunks``, ``filters``.
    """
    filename = os.fspath(path)
    if depth is not None and depth < 0:
        raise ValueError(f"depth must be >= 0, got {depth}")
    with open_lh5(filename) as f:
        key = "/" + group.strip("/")
        try:
            obj = get_object(f, filename, group)
        except LH5NotFoundError:
            raise
        except (KeyError, OSError) as exc:  # a dangling soft link or unreadable external link
            reason = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
            raise LH5NotFoundError(filename, key, f"cannot open the object: {reason}") from None
        walker = _Walker(filename, depth, detail)
        root = walker.describe(obj, key, key.rsplit("/", 1)[-1] or "/", 0)
        walker.entries.append(root)
        if isinstance(obj, h5py.Group):
            walker.walk(obj, root, frozenset())
        return walker.finish()


# ----------------------------------------------------------------------------- the rich tree
def _size(n: int | None) -> str:
    if n is None:
        return "?"
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} B"


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _attrs_text(attrs: dict) -> str:
    return "{" + ", ".join(f"{k}: {_short(v)}" for k, v in attrs.items()) + "}"


def _detail_text(e: dict[str, Any]) -> str | None:
    parts = []
    if e.get("n_rows") is not None and e["kind"] == "group":  # datasets: see shape
        parts.append(f"rows={e['n_rows']}")
    if e["kind"] == "dataset":
        shape = e["shape"]
        parts.append(f"dtype={e['dtype']}")
        parts.append(f"shape={shape if shape is None else tuple(shape)}")
        stored = _size(e["storage_size"])
        if e["nbytes"]:
            parts.append(f"nbytes={_size(e['nbytes'])}")
            parts.append(f"stored={stored} ({100 * e['storage_size'] / e['nbytes']:.0f}%)")
        else:
            parts.append(f"stored={stored}")
        if e["chunks"] is not None:
            n = "" if e["num_chunks"] is None else f"{e['num_chunks']}×"
            parts.append(f"chunks={n}{tuple(e['chunks'])}")
        else:
            parts.append(e["layout"])
        parts.append(f"filters={','.join(e['filters']) or 'none'}")
    return ", ".join(parts) or None


def _label(e: dict[str, Any], *, attrs: bool, detail: bool, header: bool = False):
    from rich.text import Text

    text = Text()
    text.append(e["path"] if header else e["name"], style="bold")
    kind = e["kind"]
    if kind in ("soft_link", "external_link"):
        text.append(f" -> {e['target']}", style="magenta")
        return text
    if kind == "unreadable":
        text.append(f" · unreadable link: {e['target']}", style="red")
        return text
    if e["datatype"] is not None:
        text.append(" · ")
        text.append(e["datatype"], style="cyan")
    else:
        text.append(" · ")
        text.append("HDF5 group" if kind == "group" else "no datatype", style="dim")
    if e["also"]:
        text.append(f" (hard link, also {', '.join(e['also'])})", style="yellow")
    elif e["hard_links"] > 1:  # the other names lie outside the listed part of the file
        text.append(f" (one of {e['hard_links']} hard links)", style="yellow")
    if e.get("cycle"):
        text.append(" (hard link to an ancestor, not expanded)", style="yellow")
    if attrs and e["attrs"]:
        text.append(" ── ")
        text.append(_attrs_text(e["attrs"]), style="green")
    if detail:
        line = _detail_text(e)
        if line:
            text.append("\n")
            text.append(line, style="italic dim")
    return text


def show(
    path: PathLike,
    group: str = "/",
    *,
    attrs: bool = False,
    detail: bool = False,
    depth: int | None = None,
    console=None,
) -> None:
    """Print the object tree of LH5 file ``path`` below ``group`` with rich.

    ``attrs`` appends each object's attributes (without ``datatype``); ``detail`` adds row
    counts and, for datasets, dtype, shape, size in memory and on disk, chunking and
    filters; ``depth`` limits how many levels are shown (all when None). ``console`` is a
    :class:`rich.console.Console`; by default one on stdout, without colours or line wrapping
    when stdout is not a terminal.
    """
    from rich.console import Console
    from rich.text import Text
    from rich.tree import Tree

    entries = tree(path, group, depth=depth, detail=detail)
    if console is None:
        console = Console()
        if not console.is_terminal:  # piped / captured: plain text, one line per object
            console = Console(width=100_000)
    root = Tree(_label(entries[0], attrs=attrs, detail=detail, header=True))
    nodes, stack = [root], [root]  # nodes[i] shows entries[i]; stack[d] the last node at depth d
    for e in entries[1:]:
        del stack[e["depth"]:]
        node = stack[-1].add(_label(e, attrs=attrs, detail=detail))
        stack.append(node)
        nodes.append(node)
    for i, e in enumerate(entries):  # groups with nothing inside (not merely cut by depth)
        if e["kind"] != "group" or e.get("cycle") or (depth is not None and e["depth"] >= depth):
            continue
        if i + 1 == len(entries) or entries[i + 1]["depth"] <= e["depth"]:
            nodes[i].add(Text("empty", style="dim"))
    console.print(root)
