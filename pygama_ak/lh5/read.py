"""Read LH5 objects into Awkward arrays.

Type mapping (``docs/lh5.md`` has the full table):

* table → record array in ``datatype`` field order (nested tables → nested records)
* ``array<1>{real|bool}`` → 1-d numbers (bool stored as uint8 comes back as bool)
* ``array<1>{string}`` → strings; ``array<N>`` and equal-sized arrays → regular dimensions
* vector of vectors (any depth) → ``var`` lists; encoded waveforms are decoded to their dtype
* struct / plain group / histogram → :class:`ak.Record` whose non-scalar fields are arrays
* scalar → Python/numpy scalar (strings as ``str``)

Every layout node carries the parameters ``datatype`` (the LH5 string) and, when present,
``units``; any other attributes sit in the ``attrs`` parameter.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence

import awkward as ak
import h5py
import hdf5plugin  # noqa: F401  (registers zstd, lz4, bitshuffle ... filters)
import numpy as np

from .datatype import Datatype, DatatypeError, format_datatype, parse_datatype
from .errors import LH5DecodeError, LH5Error, LH5NotFoundError
from .inflate import read_rows as read_rows_inflated

PathLike = str | os.PathLike
Selection = slice | np.ndarray  # a row range [start, stop) or sorted unique row indices


# ----------------------------------------------------------------------------- low-level handles
# The reader works on h5py's low-level object ids (GroupID / DatasetID): building high-level
# Group/Dataset/AttributeManager objects costs more than reading a small dataset.
_VLEN_STRING_TYPES: dict[int, h5py.h5t.TypeID] = {}
_VLEN_ANY = h5py.h5t.py_create(h5py.string_dtype("utf-8"))  # reads ASCII and UTF-8 alike


def _oid(obj):
    """The low-level id of a high-level h5py object (ids pass through)."""
    return obj.id if isinstance(obj, h5py.HLObject) else obj


def _open(oid, name: str):
    """Child ``name`` (may contain ``/``) of a group id; KeyError when missing."""
    return h5py.h5o.open(oid, name.encode())


def _has(oid, name: str) -> bool:
    try:
        return oid.links.exists(name.encode())
    except (KeyError, ValueError):
        return False


def _is_dataset(oid) -> bool:
    return isinstance(oid, h5py.h5d.DatasetID)


def _keys(oid) -> list[str]:
    return [k.decode() if isinstance(k, bytes) else k for k in h5py.Group(oid)]


def _attr_value(aid):
    try:  # fast path: a scalar variable-length string (what every LH5 writer uses)
        buf = np.empty((), dtype=object)
        aid.read(buf, mtype=_VLEN_ANY)
        value = buf[()]
        return value.decode("utf-8", errors="replace") if isinstance(value, bytes) else value
    except (OSError, TypeError, ValueError):
        pass
    tid = aid.get_type()
    if tid.get_class() == h5py.h5t.STRING and tid.is_variable_str():
        cset = tid.get_cset()
        mtype = _VLEN_STRING_TYPES.get(cset)
        if mtype is None:
            encoding = "utf-8" if cset == h5py.h5t.CSET_UTF8 else "ascii"
            mtype = _VLEN_STRING_TYPES[cset] = h5py.h5t.py_create(h5py.string_dtype(encoding))
        buf = np.empty(aid.shape, dtype=object)
        aid.read(buf, mtype=mtype)
    else:
        buf = np.empty(aid.shape, dtype=aid.dtype)
        aid.read(buf)
    return _plain(buf[()] if buf.ndim == 0 else buf)


def read_attrs(obj) -> dict:
    """All attributes of an HDF5 object as plain Python values (strings decoded)."""
    oid = _oid(obj)
    n = h5py.h5a.get_num_attrs(oid)
    if n == 0:
        return {}
    if n == 1:  # the common case: only the datatype
        try:
            return {"datatype": _attr_value(h5py.h5a.open(oid, b"datatype"))}
        except KeyError:
            pass
    out = {}
    for i in range(n):
        aid = h5py.h5a.open(oid, index=i)
        out[aid.name.decode()] = _attr_value(aid)
    return out


def _plain(value):
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, np.generic):
        return value.item() if not isinstance(value, np.bytes_) else value.decode()
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()] if value.ndim else _plain(value[()])
    return value


def _params(attrs: dict, datatype: str | None = None) -> dict:
    """Awkward parameters for one LH5 object: ``datatype``, ``units``, other ``attrs``."""
    params: dict = {}
    if datatype is not None:
        params["datatype"] = datatype
    if "units" in attrs:
        params["units"] = attrs["units"]
    extra = {k: v for k, v in attrs.items() if k not in ("datatype", "units")}
    if extra:
        params["attrs"] = extra
    return params


def datatype_of(obj, file: str, path: str, attrs: dict | None = None) -> Datatype | None:
    """Parsed ``datatype`` attribute of ``obj``; None for plain groups/datasets without one."""
    raw = (read_attrs(obj) if attrs is None else attrs).get("datatype")
    if raw is None:
        return None
    try:
        return parse_datatype(raw)
    except DatatypeError as err:
        raise LH5DecodeError(file, path, str(err)) from None


# ----------------------------------------------------------------------------- fields
def field_tree(fields: Iterable[str] | None) -> dict | None:
    """``["a", "b/c"]`` → ``{"a": None, "b": {"c": None}}`` (None = every sub-field)."""
    if fields is None:
        return None
    if isinstance(fields, str):
        fields = [fields]
    tree: dict = {}
    for name in fields:
        parts = [p for p in str(name).strip("/").split("/") if p]
        node = tree
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            if last:
                node[part] = None
            else:
                sub = node.get(part, {})
                if sub is None:
                    break  # already asked for the whole parent
                node[part] = sub
                node = sub
    return tree


# ----------------------------------------------------------------------------- row counts
def n_rows_of(obj, dt: Datatype | None, file: str = "", path: str = "") -> int | None:
    """Number of rows of an object without reading its data (None for scalars and structs)."""
    oid = _oid(obj)
    if dt is None:
        return oid.shape[0] if _is_dataset(oid) and oid.shape else None
    k = dt.kind
    if k in ("array", "fixedsize_array", "aoesa"):
        return oid.shape[0]
    if k == "vov":
        return _open(oid, "cumulative_length").shape[0]
    if k in ("encoded_aoesa", "encoded_vov"):
        return _open(oid, "encoded_data/cumulative_length").shape[0]
    if k == "table":
        for name in dt.fields:
            if _has(oid, name):
                child = _open(oid, name)
                sub = f"{path}/{name}"
                n = n_rows_of(child, datatype_of(child, file, sub), file, sub)
                if n is not None:
                    return n
        return 0
    if k == "view":
        entries = _read_numbers(_open(oid, "entries"), None)
        if entries.ndim == 2:
            return int((entries[:, 1] - entries[:, 0]).sum())
        return len(entries)
    return None


# ----------------------------------------------------------------------------- low-level reads
def _read_numbers(dsid, sel: slice | None) -> np.ndarray:
    """Rows [start, stop) (all rows when ``sel`` is None) of a dataset into a fresh array."""
    shape, dtype = dsid.shape, dsid.dtype
    if dtype.kind == "O" or len(shape) == 0:
        ds = h5py.Dataset(dsid)
        return ds[()] if len(shape) == 0 else (ds[sel] if sel is not None else ds[...])
    n = shape[0]
    start, stop = (0, n) if sel is None else (sel.start, sel.stop)
    out = np.empty((stop - start, *shape[1:]), dtype=dtype)
    if out.size == 0:
        return out
    if read_rows_inflated(dsid, start, stop, out):
        return out
    mtype = _MEMORY_TYPES.get(dtype)
    if mtype is None:
        mtype = _MEMORY_TYPES[dtype] = h5py.h5t.py_create(dtype)
    if start == 0 and stop == n:
        dsid.read(h5py.h5s.ALL, h5py.h5s.ALL, out, mtype=mtype)
    else:
        fspace = dsid.get_space()
        fspace.select_hyperslab((start,) + (0,) * (len(shape) - 1), out.shape)
        dsid.read(h5py.h5s.create_simple(out.shape), fspace, out, mtype=mtype)
    return out


_MEMORY_TYPES: dict[np.dtype, h5py.h5t.TypeID] = {}


def _strings_layout(data: np.ndarray, params: dict) -> ak.contents.Content:
    """Fixed-length ``S<n>`` (NUL padded) or object strings → an Awkward string layout."""
    params = {**params, "__array__": "string"}
    if data.dtype.kind == "S" and data.dtype.itemsize > 0:
        width = data.dtype.itemsize
        raw = np.ascontiguousarray(data).view(np.uint8).reshape(len(data), width)
        lengths = np.char.str_len(data).astype(np.int64)
        keep = np.arange(width)[None, :] < lengths[:, None]
        content = raw[keep]
    else:
        encoded = [v if isinstance(v, bytes) else str(v).encode() for v in data.tolist()]
        lengths = np.fromiter((len(b) for b in encoded), dtype=np.int64, count=len(encoded))
        content = np.frombuffer(b"".join(encoded), dtype=np.uint8)
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    chars = ak.contents.NumpyArray(content, parameters={"__array__": "char"})
    return ak.contents.ListOffsetArray(ak.index.Index64(offsets), chars, parameters=params)


def _array_layout(data: np.ndarray, dt: Datatype, params: dict) -> ak.contents.Content:
    """A numpy array read from an LH5 array dataset → layout (bool/strings/regular dims)."""
    if dt.element == "string" or data.dtype.kind in "SO":
        if data.ndim != 1:
            raise ValueError("multi-dimensional string arrays are not supported")
        return _strings_layout(data, params)
    if dt.element == "bool" and data.dtype != np.bool_:
        data = data.astype(np.bool_)
    if data.ndim == 1:
        return ak.contents.NumpyArray(data, parameters=params)
    inner: ak.contents.Content = ak.contents.NumpyArray(data.reshape(-1))
    for size in reversed(data.shape[1:]):
        inner = ak.contents.RegularArray(inner, size)
    return inner.copy(parameters=params) if params else inner


# ----------------------------------------------------------------------------- the reader
class _Reader:
    """Reads one object tree of one open file; knows the file name for error messages."""

    def __init__(self, file: h5py.File, filename: str) -> None:
        self.file, self.filename = file, filename
        self._open_groups: set[int] = set()  # plain groups being read (link-cycle guard)

    def err(self, path: str, reason: str) -> LH5DecodeError:
        return LH5DecodeError(self.filename, path, reason)

    def read(self, obj, path: str, sel: slice | None, fields: dict | None):
        obj = _oid(obj)
        attrs = read_attrs(obj)
        dt = datatype_of(obj, self.filename, path, attrs)
        if dt is None:
            if not _is_dataset(obj):
                address = h5py.h5o.get_info(obj).addr
                if address in self._open_groups:
                    raise self.err(path, "group links back to one of its parents (a link cycle)")
                self._open_groups.add(address)
                try:
                    return self._struct(obj, path, tuple(_keys(obj)), None, fields, plain=True)
                finally:
                    self._open_groups.discard(address)
            raise self.err(path, "dataset has no 'datatype' attribute")
        params = _params(attrs, format_datatype(dt))
        k = dt.kind
        try:
            if k == "scalar":
                return self._scalar(obj, dt)
            if k in ("array", "fixedsize_array", "aoesa"):
                if not _is_dataset(obj):
                    raise self.err(path, f"{format_datatype(dt)} must be a dataset")
                return _array_layout(_read_numbers(obj, sel), dt, params)
            if k == "vov":
                return self._vov(obj, path, dt, sel, params)
            if k == "encoded_aoesa":
                return self._encoded(obj, path, dt, sel, params, attrs, equal_size=True)
            if k == "encoded_vov":
                return self._encoded(obj, path, dt, sel, params, attrs, equal_size=False)
            if k == "table":
                return self._table(obj, path, dt, sel, fields, params)
            if k == "struct":
                return self._struct(obj, path, dt.fields, params, fields, plain=False)
            if k == "view":
                return self._view(obj, path, sel, fields)
        except LH5Error:
            raise
        except (KeyError, ValueError, TypeError, OSError) as exc:
            raise self.err(path, f"cannot read {format_datatype(dt)}: {exc}") from exc
        raise self.err(path, f"unsupported datatype {format_datatype(dt)}")

    # -- scalars, vectors of vectors, encoded arrays
    def _scalar(self, obj, dt: Datatype):
        value = _read_numbers(obj, None)
        if dt.element == "string":
            return value.decode("utf-8", errors="replace") if isinstance(value, bytes) else str(value)
        if dt.element == "bool":
            return bool(value)
        return value.item() if isinstance(value, np.generic) else value

    def _vov(self, obj: h5py.Group, path: str, dt: Datatype, sel: slice | None, params: dict):
        cl_ds = _open(obj, "cumulative_length")
        n = cl_ds.shape[0]
        sel = sel if sel is not None else slice(0, n)
        start, stop = sel.start, sel.stop
        lo = max(start - 1, 0)
        cl = _read_numbers(cl_ds, slice(lo, stop)).astype(np.int64, copy=False)
        base = int(cl[0]) if start > 0 else 0
        offsets = np.empty(stop - start + 1, dtype=np.int64)
        offsets[0] = 0
        offsets[1:] = (cl[1:] if start > 0 else cl) - base
        if len(offsets) > 1 and np.any(np.diff(offsets) < 0):
            raise self.err(path, "cumulative_length is not monotonically increasing")
        end = base + int(offsets[-1])
        flat = _open(obj, "flattened_data")
        inner_dt = dt.inner
        if inner_dt.kind == "vov":
            content = self._vov(flat, f"{path}/flattened_data", inner_dt, slice(base, end),
                                _params(read_attrs(flat), format_datatype(inner_dt)))
        else:
            if flat.shape[0] < end:
                raise self.err(path, f"flattened_data has {flat.shape[0]} entries, "
                                     f"cumulative_length needs {end}")
            flat_attrs = read_attrs(flat)
            content = _array_layout(_read_numbers(flat, slice(base, end)), inner_dt,
                                    _params(flat_attrs, format_datatype(inner_dt)))
            if "units" not in params and "units" in flat_attrs:
                params = {**params, "units": flat_attrs["units"]}
        return ak.contents.ListOffsetArray(ak.index.Index64(offsets), content, parameters=params)

    def _encoded(self, obj, path, dt, sel, params, attrs, *, equal_size: bool):
        from .codecs import CodecError, decode

        cl_ds = _open(obj, "encoded_data/cumulative_length")
        n = cl_ds.shape[0]
        sel = sel if sel is not None else slice(0, n)
        start, stop = sel.start, sel.stop
        lo = max(start - 1, 0)
        cl = _read_numbers(cl_ds, slice(lo, stop)).astype(np.int64, copy=False)
        base = int(cl[0]) if start > 0 else 0
        byte_offsets = np.empty(stop - start + 1, dtype=np.int64)
        byte_offsets[0] = 0
        byte_offsets[1:] = (cl[1:] if start > 0 else cl) - base
        encoded = _read_numbers(_open(obj, "encoded_data/flattened_data"),
                                slice(base, base + int(byte_offsets[-1])))
        size_ds = _open(obj, "decoded_size")
        sizes = (int(_read_numbers(size_ds, None)) if equal_size
                 else _read_numbers(size_ds, sel).astype(np.int64))
        codec = attrs.get("codec")
        shift = int(attrs.get("codec_shift", 0))
        dtype = decoded_dtype(attrs)
        try:
            try:
                flat = decode(codec, encoded, byte_offsets, sizes, dtype=dtype, codec_shift=shift)
            except CodecError as exc:
                if "dtype" in attrs or "does not fit" not in exc.reason:
                    raise
                # no stored dtype and the conventional one is too narrow: keep every value
                flat = decode(codec, encoded, byte_offsets, sizes, dtype=np.int64, codec_shift=shift)
        except CodecError as exc:
            raise self.err(path, str(exc)) from exc
        decoded_dt = Datatype("aoesa" if equal_size else "vov", element=dt.element,
                              inner=None if equal_size else Datatype("array", element=dt.element))
        params = {**params, "datatype": format_datatype(decoded_dt)}
        if equal_size:
            inner = ak.contents.NumpyArray(flat)
            return ak.contents.RegularArray(inner, sizes, zeros_length=stop - start, parameters=params)
        offsets = np.zeros(len(sizes) + 1, dtype=np.int64)
        np.cumsum(sizes, out=offsets[1:])
        return ak.contents.ListOffsetArray(ak.index.Index64(offsets), ak.contents.NumpyArray(flat),
                                           parameters=params)

    # -- groups
    def _table(self, obj, path, dt, sel, fields, params):
        names = list(dt.fields)
        if fields is not None:
            missing = [f for f in fields if f not in names]
            if missing:
                raise LH5NotFoundError(self.filename, f"{path}/{missing[0]}",
                                       f"no field {missing[0]!r} in table (fields: {', '.join(names)})")
            names = [n for n in names if n in fields]
        if sel is None:
            n = n_rows_of(obj, dt, self.filename, path) or 0
            sel = slice(0, n)
        contents = []
        for name in names:
            try:
                handle = _open(obj, name)
            except KeyError:
                raise self.err(f"{path}/{name}", "field listed in the table's datatype is missing") from None
            child = self.read(handle, f"{path}/{name}", sel, None if fields is None else fields[name])
            if not isinstance(child, ak.contents.Content):
                raise self.err(f"{path}/{name}", "a table column cannot be a scalar or struct")
            if child.length != sel.stop - sel.start:
                raise self.err(f"{path}/{name}", f"column has {child.length} rows, table has "
                                                f"{sel.stop - sel.start}")
            contents.append(child)
        kept = Datatype("table", fields=tuple(names))
        params = {**params, "datatype": format_datatype(kept)}
        return ak.contents.RecordArray(contents, names, length=sel.stop - sel.start, parameters=params)

    def _struct(self, obj, path, names, params, fields, *, plain: bool):
        names = list(names)
        if fields is not None:
            missing = [f for f in fields if f not in names]
            if missing:
                raise LH5NotFoundError(self.filename, f"{path}/{missing[0]}",
                                       f"no field {missing[0]!r} in struct (fields: {', '.join(names)})")
            names = [n for n in names if n in fields]
        contents, kept = [], []
        for name in names:
            if not _has(obj, name):
                if plain:
                    continue
                raise self.err(f"{path}/{name}", "field listed in the struct's datatype is missing")
            value = self.read(_open(obj, name), f"{path}/{name}", None,
                              None if fields is None else fields[name])
            contents.append(_struct_field(value))
            kept.append(name)
        params = dict(params or {})
        if not plain:
            params["datatype"] = format_datatype(Datatype("struct", fields=tuple(kept)))
        record = ak.contents.RecordArray(contents, kept, length=1, parameters=params or None)
        return ak.Array(record)[0]

    def _view(self, obj, path, sel, fields):
        entries = _read_numbers(_open(obj, "entries"), None)
        target = _open(obj, "data")
        rows = (np.concatenate([np.arange(a, b) for a, b in entries]) if entries.ndim == 2
                else np.asarray(entries, dtype=np.int64))
        if sel is not None:
            rows = rows[sel]
        if len(rows) == 0:
            layout = self.read(target, f"{path}/data", slice(0, 0), fields)
            return layout
        lo, hi = int(rows.min()), int(rows.max()) + 1
        layout = self.read(target, f"{path}/data", slice(lo, hi), fields)
        return ak.to_layout(ak.to_packed(ak.Array(layout)[rows - lo]))


def _struct_field(value) -> ak.contents.Content:
    """One struct field as a length-1 layout: scalars as is, arrays wrapped in one list."""
    if isinstance(value, ak.contents.Content):
        return ak.contents.RegularArray(value, value.length, zeros_length=1)
    if isinstance(value, ak.Record):
        inner = value.layout.array[value.layout.at : value.layout.at + 1]
        return inner
    if isinstance(value, str):
        return string_layout(value)
    return ak.contents.NumpyArray(np.asarray([value]))


def string_layout(value: str) -> ak.contents.ListOffsetArray:
    """One UTF-8 string as a length-1 layout, as awkward lays out ``["..."]`` (10× faster
    than ``ak.to_layout``)."""
    data = np.frombuffer(value.encode("utf-8"), dtype=np.uint8)
    chars = ak.contents.NumpyArray(data, parameters={"__array__": "char"})
    return ak.contents.ListOffsetArray(ak.index.Index64(np.array([0, len(data)], np.int64)),
                                       chars, parameters={"__array__": "string"})


def decoded_dtype(attrs: dict) -> np.dtype:
    """dtype of decoded waveform samples (the files do not store it; lgdo returns int32).

    The ``dtype`` attribute when the writer stored one (pygama_ak does when the convention
    below would be wrong); else radware with ``codec_shift`` -32768 → uint16 (FlashCam ADC
    samples), other radware → int16 (the codec is 16-bit); uleb128 → uint32 (production
    presummed waveforms), int64 if a value does not fit.
    """
    if "dtype" in attrs:
        return np.dtype(attrs["dtype"])
    if attrs.get("codec") == "radware_sigcompress":
        return np.dtype(np.uint16) if int(attrs.get("codec_shift", 0)) == -32768 else np.dtype(np.int16)
    return np.dtype(np.uint32)


# ----------------------------------------------------------------------------- public API
def _as_paths(paths: PathLike | Sequence[PathLike]) -> list[str]:
    if isinstance(paths, (str, os.PathLike)):
        return [os.fspath(paths)]
    return [os.fspath(p) for p in paths]


def open_lh5(path: PathLike) -> h5py.File:
    """Open an LH5 file read-only, without HDF5 file locking; a clear error if it is not HDF5."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path}: no such file")
    try:
        try:
            return h5py.File(path, "r", locking=False)
        except OSError as exc:
            if "locking" not in str(exc):
                raise
            return h5py.File(path, "r")  # already open elsewhere in this process with locking
    except OSError as exc:
        raise LH5DecodeError(path, "/", f"not an HDF5 file or unreadable: {exc}") from exc


def get_object(f: h5py.File, filename: str, name: str):
    """``f[name]`` with an error that names the file and the object path."""
    key = "/" + name.strip("/")
    if key != "/" and key not in f:
        parent = key.rsplit("/", 1)[0] or "/"
        have = sorted(f[parent].keys()) if parent in f and isinstance(f[parent], h5py.Group) else []
        hint = f" (in {parent}: {', '.join(have[:12])}{' ...' if len(have) > 12 else ''})" if have else ""
        raise LH5NotFoundError(filename, key, f"no such object{hint}")
    try:
        return f[key]
    except (KeyError, OSError) as exc:
        raise LH5NotFoundError(filename, key, f"link cannot be resolved (dangling or external): {exc}") from None


def _global_selection(counts: list[int], rows, index) -> list[Selection | None]:
    """Split a global row range / index list over files with ``counts`` rows each."""
    total = sum(counts)
    bounds = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    if index is not None:
        idx = np.asarray(index)
        if idx.dtype == np.bool_:
            if len(idx) != total:
                raise ValueError(f"boolean index has {len(idx)} entries for {total} rows")
            idx = np.flatnonzero(idx)
        idx = np.asarray(idx, dtype=np.int64)
        if len(idx) and (idx.min() < 0 or idx.max() >= total):
            raise IndexError(f"row index out of range [0, {total})")
        if rows is not None:
            r = range(total)[rows] if isinstance(rows, slice) else range(*rows)
            idx = idx[(idx >= r.start) & (idx < r.stop)]
        if len(idx) > 1 and np.any(np.diff(idx) <= 0):
            idx = np.unique(idx)
        out = []
        for i in range(len(counts)):
            part = idx[(idx >= bounds[i]) & (idx < bounds[i + 1])] - bounds[i]
            out.append(part)
        return out
    if rows is None:
        return [None] * len(counts)
    if isinstance(rows, slice):
        if rows.step not in (None, 1):
            raise ValueError("rows must be a contiguous range (step 1)")
        r = range(total)[rows]
    else:
        start, stop = rows
        r = range(total)[slice(start, stop)]
    out = []
    for i in range(len(counts)):
        s = max(r.start, int(bounds[i])) - int(bounds[i])
        e = min(r.stop, int(bounds[i + 1])) - int(bounds[i])
        out.append(slice(s, max(s, e)))
    return out


def read(
    paths: PathLike | Sequence[PathLike],
    name: str,
    *,
    fields: Iterable[str] | None = None,
    rows: slice | tuple[int, int] | None = None,
    index: np.ndarray | Sequence[int] | None = None,
):
    """Read the LH5 object ``name`` from one file or several (concatenated row-wise).

    ``fields`` selects (nested, ``/``-separated) columns of tables and structs; ``rows`` a
    contiguous row range ``slice(start, stop)`` or ``(start, stop)``; ``index`` sorted row
    numbers or a boolean mask. ``rows``/``index`` count over all files together.
    Returns an :class:`ak.Array` (tables, arrays), an :class:`ak.Record` (structs,
    histograms) or a scalar.
    """
    files = _as_paths(paths)
    if not files:
        raise ValueError("no input files")
    tree = field_tree(fields)
    handles = [open_lh5(p) for p in files]
    try:
        objs = [get_object(f, p, name) for f, p in zip(handles, files)]
        dts = [datatype_of(o, p, name) for o, p in zip(objs, files)]
        if rows is not None or index is not None:
            counts = [n_rows_of(o, d, p, name) for o, d, p in zip(objs, dts, files)]
            if any(c is None for c in counts):
                raise LH5DecodeError(files[0], name, "rows/index given but the object has no rows")
            sels = _global_selection(counts, rows, index)
        else:
            sels = [None] * len(files)
        parts = []
        for f, p, o, sel in zip(handles, files, objs, sels):
            parts.append(_read_one(_Reader(f, p), o, "/" + name.strip("/"), sel, tree))
    finally:
        for f in handles:
            f.close()
    if len(parts) == 1:
        return _wrap(parts[0])
    if not all(isinstance(x, ak.contents.Content) for x in parts):
        raise LH5DecodeError(files[0], name, "only arrays and tables can be concatenated over files")
    return ak.concatenate([ak.Array(x) for x in parts], axis=0)


INDEX_GAP_ROWS = 4096  # sorted indices further apart than this are read as separate ranges
INDEX_MAX_RANGES = 64  # ... but at most this many ranges per object (per-read overhead)


def index_ranges(index: np.ndarray, gap: int = INDEX_GAP_ROWS,
                 max_ranges: int = INDEX_MAX_RANGES) -> list[np.ndarray]:
    """Split sorted row indices where they jump by more than ``gap`` rows (the largest jumps
    first, at most ``max_ranges`` parts), so that a sparse selection reads (and decompresses)
    only the chunks around its rows instead of the whole span."""
    if len(index) < 2:
        return [index]
    jumps = np.diff(index)
    cut = np.flatnonzero(jumps > gap)
    if len(cut) >= max_ranges:
        cut = np.sort(cut[np.argsort(jumps[cut], kind="stable")[-(max_ranges - 1):]])
    return np.split(index, cut + 1)


def _read_one(reader: _Reader, obj, name: str, sel: Selection | None, tree):
    if isinstance(sel, np.ndarray):
        if len(sel) == 0:
            return reader.read(obj, name, slice(0, 0), tree)
        parts = []
        for part in index_ranges(sel):
            lo, hi = int(part[0]), int(part[-1]) + 1
            layout = reader.read(obj, name, slice(lo, hi), tree)
            parts.append(layout if len(part) == hi - lo else ak.Array(layout)[part - lo])
        if len(parts) == 1:
            only = parts[0]
            return only if isinstance(only, ak.contents.Content) else ak.to_layout(ak.to_packed(only))
        return ak.to_layout(ak.to_packed(ak.concatenate([ak.Array(p) for p in parts])))
    return reader.read(obj, name, sel, tree)


def _wrap(value):
    if isinstance(value, ak.contents.Content):
        return ak.Array(value)
    return value


def read_n_rows(path: PathLike, name: str) -> int | None:
    """Rows of object ``name`` in file ``path`` without reading its data."""
    with open_lh5(path) as f:
        obj = get_object(f, os.fspath(path), name)
        return n_rows_of(obj, datatype_of(obj, os.fspath(path), name), os.fspath(path), name)


def tables_in(path: PathLike) -> list[str]:
    """Paths (no leading ``/``) of every ``table{...}`` object in a file, in HDF5 order."""
    found: list[str] = []

    def visit(name: str, obj) -> None:
        if isinstance(obj, h5py.Group):
            dt = obj.attrs.get("datatype", b"")
            if (dt.decode() if isinstance(dt, bytes) else str(dt)).startswith("table{"):
                found.append(name)

    with open_lh5(path) as f:
        f.visititems(visit)
    return found


def ls(path: PathLike, group: str = "/") -> list[str]:
    """Names of the children of ``group`` (full paths without leading ``/``), sorted."""
    with open_lh5(path) as f:
        obj = get_object(f, os.fspath(path), group)
        if not isinstance(obj, h5py.Group):
            return [group.strip("/")]
        prefix = group.strip("/")
        return [f"{prefix}/{k}" if prefix else k for k in obj]


__all__ = ["read", "read_n_rows", "ls", "read_attrs", "open_lh5"]
