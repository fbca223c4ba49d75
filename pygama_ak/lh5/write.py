"""Write Awkward arrays as LH5 objects, the way legend-pydataobj 2.0.3 writes them.

* tables/structs: HDF5 groups with a sorted ``datatype`` field list; strings attributes are
  stored as variable-length ASCII; bool arrays as uint8; strings as fixed-length ``S<n>``
* every array dataset is resizable (``maxshape=(None, ...)``) with an explicit chunk shape
  chosen from the row size (never frozen by a tiny first write)
* default filters: shuffle + gzip level 4; ``compression`` picks lzf, zstd, lz4, bitshuffle
  (hdf5plugin), none, or a waveform codec per field
* shuffle+gzip datasets are encoded by :mod:`pygama_ak.lh5.deflate` (numpy shuffle, zlib in a
  thread pool, ``write_direct_chunk``) under the same declared filter pipeline, so any HDF5
  reader decodes them; :class:`Appender` keeps a file open across appends and compresses
  one chunk of rows while the caller computes the next
* a new file is written under a temporary name and renamed when complete
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Mapping
from typing import Any

import awkward as ak
import h5py
import hdf5plugin
import numpy as np

from .datatype import Datatype, element_of_dtype, format_datatype, parse_datatype
from .deflate import ChunkSink
from .errors import LH5WriteError

MODES = ("write_safe", "append", "overwrite", "overwrite_file", "append_column")
_MODE_ALIASES = {"w": "write_safe", "a": "append", "o": "overwrite", "of": "overwrite_file",
                 "ac": "append_column"}
CODEC_NAMES = ("radware_sigcompress", "uleb128_zigzag_diff")
CHUNK_BYTES = 1 << 19  # target uncompressed bytes per chunk (512 KiB)
MIN_UNFILTERED_CHUNK_BYTES = 1 << 15  # 32 KiB: the smallest chunk of an unfiltered dataset


# ----------------------------------------------------------------------------- settings
def filter_kwargs(setting: Any) -> dict:
    """h5py ``create_dataset`` keyword arguments for one compression setting."""
    if setting is None or setting in ("none", False):
        return {}
    if isinstance(setting, Mapping):
        return dict(setting)
    if isinstance(setting, str):
        name = setting.lower()
        if name in ("gzip", "default", "deflate"):
            return {"compression": "gzip", "compression_opts": 4, "shuffle": True}
        if name == "lzf":
            return {"compression": "lzf", "shuffle": True}
        if name == "zstd":
            return {**hdf5plugin.Zstd(clevel=3), "shuffle": True}
        if name == "lz4":
            return {**hdf5plugin.LZ4(), "shuffle": True}
        if name == "bitshuffle":
            return dict(hdf5plugin.Bitshuffle(cname="lz4"))
        raise ValueError(f"unknown compression {setting!r}: use gzip, lzf, zstd, lz4, "
                         f"bitshuffle, none, {', '.join(CODEC_NAMES)} or a dict of h5py options")
    if hasattr(setting, "filter_id"):  # an hdf5plugin filter object
        return dict(setting)
    raise ValueError(f"unknown compression setting {setting!r}")


class _Settings:
    """Compression per field path: ``{"default": "gzip", "waveform/values": "radware_sigcompress"}``."""

    def __init__(self, compression: Any) -> None:
        if isinstance(compression, Mapping) and not _is_h5py_kwargs(compression):
            self.default = compression.get("default", "gzip")
            self.per_field = {k.strip("/"): v for k, v in compression.items() if k != "default"}
        else:
            self.default, self.per_field = compression, {}
        for v in [self.default, *self.per_field.values()]:
            if not _is_codec(v):
                filter_kwargs(v)  # validate early

    def for_field(self, path: str) -> Any:
        return self.per_field.get(path.strip("/"), self.default)

    def filters(self, path: str) -> dict:
        setting = self.for_field(path)
        return filter_kwargs(self.default if _is_codec(setting) else setting)


def _is_h5py_kwargs(d: Mapping) -> bool:
    return any(k in d for k in ("compression", "shuffle", "compression_opts", "chunks", "fletcher32"))


def with_checksum(setting: Any) -> dict:
    """A compression setting plus HDF5 Fletcher32 checksums (verified by HDF5 on every read)."""
    if _is_codec(setting) or (isinstance(setting, Mapping) and not _is_h5py_kwargs(setting)):
        raise ValueError("checksums need one plain compression setting (gzip, lzf, zstd, none...), "
                         f"not {setting!r}")
    return {**filter_kwargs(setting), "fletcher32": True}


def _is_codec(setting: Any) -> bool:
    if isinstance(setting, str):
        return setting in CODEC_NAMES
    return isinstance(setting, Mapping) and setting.get("codec") in CODEC_NAMES


def chunk_rows(row_bytes: int, n_rows: int, filtered: bool) -> int:
    """Rows per chunk: ≈ CHUNK_BYTES of data. Unfiltered chunks take their full size on disk,
    so a small unfiltered first write gets smaller chunks — but never below
    MIN_UNFILTERED_CHUNK_BYTES, or later appends would crawl through tiny chunks."""
    row_bytes = max(row_bytes, 1)
    rows = max(1, CHUNK_BYTES // row_bytes)
    if not filtered:
        rows = min(rows, max(n_rows, MIN_UNFILTERED_CHUNK_BYTES // row_bytes, 1))
    return rows


# ----------------------------------------------------------------------------- layouts
def _packed_layout(array) -> ak.contents.Content:
    layout = ak.to_layout(array, allow_record=True)
    if isinstance(layout, ak.record.Record):
        layout = layout.array[layout.at : layout.at + 1]
    if not _is_packed(layout):  # ak.to_packed walks every node too: 3-5 ms for 40 columns
        layout = ak.to_layout(ak.to_packed(ak.Array(layout)))
    return _without_options(layout)


def _is_packed(layout: ak.contents.Content, length: int | None = None) -> bool:
    """True when ``layout`` holds exactly its own data, as :func:`ak.to_packed` would return
    it: C-contiguous leaves, lists whose offsets start at 0 and end at their content's
    length, regular arrays and records whose contents are just long enough, no options."""
    n = layout.length if length is None else length
    if isinstance(layout, ak.contents.NumpyArray):
        data = layout.data
        return (isinstance(data, np.ndarray) and data.ndim == 1 and data.flags.c_contiguous
                and len(data) == n)  # awkward packs a 2-D NumpyArray into a RegularArray
    if isinstance(layout, ak.contents.RecordArray):
        return all(_is_packed(c, n) and c.length == n for c in layout.contents)
    if isinstance(layout, ak.contents.RegularArray):
        inner = n * layout.size
        return layout.content.length == inner and _is_packed(layout.content, inner)
    if isinstance(layout, ak.contents.ListOffsetArray):
        offsets = layout.offsets.data
        if not isinstance(offsets, np.ndarray) or len(offsets) != n + 1:
            return False
        return (int(offsets[0]) == 0 and layout.content.length == int(offsets[-1])
                and _is_packed(layout.content))
    return False  # options, indexed, unions, ListArray, ...: let awkward pack them


def _without_options(layout: ak.contents.Content) -> ak.contents.Content:
    """Drop option types that hold no missing value (Arrow/Polars data are all nullable)."""
    if layout.is_option:
        if ak.any(ak.is_none(ak.Array(layout), axis=0)):
            return layout  # the writer reports the missing values with the field's path
        content = layout.project()
        params = {**(content.parameters or {}), **(layout.parameters or {})}
        return _without_options(content.copy(parameters=params or None))
    if isinstance(layout, ak.contents.RecordArray):
        return layout.copy(contents=[_without_options(c) for c in layout.contents])
    if isinstance(layout, ak.contents.ListArray):
        layout = layout.to_ListOffsetArray64(True)
    if isinstance(layout, ak.contents.ListOffsetArray | ak.contents.RegularArray):
        return layout.copy(content=_without_options(layout.content))
    return layout


def _attrs_from_params(layout: ak.contents.Content) -> dict:
    params = layout.parameters or {}
    attrs = {}
    if "units" in params:
        attrs["units"] = params["units"]
    for k, v in (params.get("attrs") or {}).items():
        if k not in ("codec", "codec_shift", "dtype"):
            attrs[k] = v
    return attrs


def _is_string(layout) -> bool:
    return (layout.parameters or {}).get("__array__") in ("string", "bytestring")


def _strings_to_numpy(layout: ak.contents.Content) -> np.ndarray:
    """An Awkward string layout → fixed-length NUL-padded ``S<n>`` numpy array."""
    offsets = np.asarray(layout.offsets.data, dtype=np.int64)
    content = np.asarray(layout.content.data, dtype=np.uint8)
    lengths = np.diff(offsets)
    width = max(int(lengths.max()) if len(lengths) else 0, 1)
    buf = np.zeros((len(lengths), width), dtype=np.uint8)
    mask = np.arange(width)[None, :] < lengths[:, None]
    buf[mask] = content[offsets[0] : offsets[-1]]
    return buf.view(f"S{width}").reshape(len(lengths))


def _regular_to_numpy(layout: ak.contents.RegularArray) -> np.ndarray:
    shape = [layout.length]
    node = layout
    while isinstance(node, ak.contents.RegularArray):
        shape.append(node.size)
        node = node.content
    if not isinstance(node, ak.contents.NumpyArray):
        raise TypeError("regular dimensions must hold numbers")
    data = np.asarray(node.data)
    return data[: int(np.prod(shape))].reshape(shape)


# ----------------------------------------------------------------------------- the writer
class _Writer:
    def __init__(self, file: h5py.File, filename: str, mode: str, settings: _Settings,
                 sink: ChunkSink | None = None) -> None:
        self.file, self.filename, self.mode, self.settings = file, filename, mode, settings
        self.sink = sink  # compresses shuffle+gzip datasets in threads (see .deflate)
        self._cumulative: list[tuple[np.ndarray, int, np.ndarray]] = []  # recent VoV offsets

    def err(self, path: str, reason: str) -> LH5WriteError:
        return LH5WriteError(self.filename, path, reason)

    # -- attributes
    @staticmethod
    def set_attrs(obj, datatype: str, attrs: dict) -> None:
        obj.attrs["datatype"] = datatype.encode()
        for k, v in attrs.items():
            obj.attrs[k] = v.encode() if isinstance(v, str) else v

    def check_datatype(self, obj, path: str, datatype: str) -> None:
        have = obj.attrs.get("datatype")
        have = have.decode() if isinstance(have, bytes) else have
        if have is not None and have != datatype:
            raise self.err(path, f"cannot append {datatype} to existing {have}")

    # -- objects
    def write(self, parent: h5py.Group, name: str, layout, relpath: str, *, append: bool) -> None:
        path = f"{parent.name.rstrip('/')}/{name}"
        if layout.is_option:  # e.g. from Arrow: fine as long as nothing is missing
            if ak.any(ak.is_none(ak.Array(layout), axis=0)):
                raise self.err(path, "missing values (None) cannot be stored in LH5: "
                                     "fill them first (e.g. ak.fill_none(array, np.nan))")
            content = layout.project()
            params = {**(content.parameters or {}), **(layout.parameters or {})}
            return self.write(parent, name, content.copy(parameters=params or None), relpath,
                              append=append)
        if isinstance(layout, ak.contents.IndexedArray):
            return self.write(parent, name, layout.project(), relpath, append=append)
        if isinstance(layout, ak.contents.RecordArray):
            return self.table(parent, name, layout, relpath, append=append)
        if _is_string(layout):
            data = _strings_to_numpy(layout.to_ListOffsetArray64(True))
            return self.dataset(parent, name, data, "array<1>{string}", _attrs_from_params(layout),
                                relpath, append=append)
        if isinstance(layout, ak.contents.NumpyArray):
            data = np.asarray(layout.data)
            if data.ndim > 1:
                return self.write(parent, name, layout.to_RegularArray(), relpath, append=append)
            dt = Datatype("array", element=element_of_dtype(data.dtype))
            return self.dataset(parent, name, data, format_datatype(dt), _attrs_from_params(layout),
                                relpath, append=append)
        if isinstance(layout, ak.contents.RegularArray):
            return self.regular(parent, name, layout, relpath, append=append)
        if isinstance(layout, ak.contents.ListArray | ak.contents.ListOffsetArray):
            if not (isinstance(layout, ak.contents.ListOffsetArray) and
                    layout.offsets.data.dtype == np.int64):  # (vov() handles offsets[0] > 0)
                layout = layout.to_ListOffsetArray64(True)
            return self.vov(parent, name, layout, relpath, append=append)
        if isinstance(layout, ak.contents.EmptyArray):
            return self.write(parent, name, layout.to_NumpyArray(np.float64), relpath, append=append)
        raise self.err(path, f"cannot store Awkward layout {type(layout).__name__} in LH5")

    def dataset(self, parent, name, data: np.ndarray, datatype: str, attrs: dict, relpath: str,
                *, append: bool, filters: dict | None = None) -> h5py.Dataset:
        path = f"{parent.name.rstrip('/')}/{name}"
        if data.dtype == np.bool_:
            data = data.view(np.uint8)  # numpy bools are the bytes 0 and 1
        if data.dtype.kind == "U":
            data = np.char.encode(data, "utf-8")
        if data.dtype.kind == "S" and data.dtype.itemsize == 0:
            data = data.astype("S1")
        ds = None
        if append:
            ds = self.sink.dataset_at(path) if self.sink is not None else None
            if ds is None:
                ds = parent.get(name)
        if ds is not None:
            known = self.sink.target_of(ds) if self.sink is not None else None
            if known is None:  # (a dataset the sink knows was checked by an earlier append)
                self.check_datatype(ds, path, datatype)
            row_shape, dtype = (known.row_shape, known.dtype) if known else (ds.shape[1:], ds.dtype)
            if row_shape != data.shape[1:]:
                raise self.err(path, f"cannot append rows of shape {data.shape[1:]} to "
                                     f"dataset of shape {row_shape}")
            if dtype.kind == "S" and data.dtype.itemsize > dtype.itemsize:
                raise self.err(path, f"strings of {data.dtype.itemsize} bytes do not fit the "
                                     f"existing {dtype} dataset")
            if known is not None or (self.sink is not None and self.sink.accepts(ds)):
                self.sink.append(ds, data)
                return ds
            old = ds.shape[0]
            ds.resize(old + len(data), axis=0)
            if len(data):
                ds[old:] = data
            return ds
        if name in parent:
            del parent[name]
        filters = self.settings.filters(relpath) if filters is None else filters
        row_bytes = data.dtype.itemsize * int(np.prod(data.shape[1:], dtype=np.int64))
        rows = chunk_rows(row_bytes, len(data), bool(filters))
        shape = dict(maxshape=(None, *data.shape[1:]), chunks=(rows, *data.shape[1:]))
        if self.sink is not None and len(data) and filters.get("compression") == "gzip":
            ds = parent.create_dataset(name, shape=(0, *data.shape[1:]), dtype=data.dtype,
                                       **shape, **filters)
            if self.sink.accepts(ds):
                self.sink.append(ds, data)
            else:
                ds.resize(len(data), axis=0)
                ds[...] = data
        else:
            ds = parent.create_dataset(name, data=data, **shape, **filters)
        self.set_attrs(ds, datatype, attrs)
        return ds

    def regular(self, parent, name, layout: ak.contents.RegularArray, relpath, *, append):
        params = layout.parameters or {}
        declared = params.get("datatype")
        data = _regular_to_numpy(layout)
        codec = self.codec_for(layout, relpath)
        if codec is not None and data.ndim == 2:
            return self.encoded(parent, name, data, None, codec, layout, relpath, append=append)
        if declared and declared.startswith("array<") and not declared.startswith("array<1>"):
            dt = Datatype("array", element=element_of_dtype(data.dtype), ndim=data.ndim)
        elif declared and declared.startswith("fixedsize_array"):
            dt = Datatype("fixedsize_array", element=element_of_dtype(data.dtype), ndim=data.ndim)
        elif data.ndim == 2:
            dt = Datatype("aoesa", element=element_of_dtype(data.dtype), ndim=2)
        else:
            dt = Datatype("array", element=element_of_dtype(data.dtype), ndim=data.ndim)
        return self.dataset(parent, name, data, format_datatype(dt), _attrs_from_params(layout),
                            relpath, append=append)

    def vov(self, parent, name, layout: ak.contents.ListOffsetArray, relpath, *, append):
        path = f"{parent.name.rstrip('/')}/{name}"
        offsets = np.asarray(layout.offsets.data, dtype=np.int64)
        content = layout.content
        if offsets[0] != 0:
            content = content[offsets[0] : offsets[-1]]
            offsets = offsets - offsets[0]
        else:
            content = content[: offsets[-1]]
        codec = self.codec_for(layout, relpath)
        if codec is not None and isinstance(content, ak.contents.NumpyArray):
            return self.encoded(parent, name, np.asarray(content.data), offsets, codec, layout,
                                relpath, append=append)
        datatype = format_datatype(self.datatype_of(content, path))
        datatype = f"array<1>{{{datatype}}}"
        if name in parent and append:
            grp = parent[name]
            self.check_datatype(grp, path, datatype)
            cl = grp["cumulative_length"]
            last = self.last_value(cl)
        else:
            if name in parent:
                del parent[name]
            grp = parent.create_group(name)
            self.set_attrs(grp, datatype, _attrs_from_params(layout))
            last = 0
        self.write(grp, "flattened_data", content, relpath, append=append)
        self.dataset(grp, "cumulative_length", self.cumulative(offsets, last), "array<1>{real}",
                     {}, relpath, append=append)
        return grp

    def last_value(self, ds: h5py.Dataset) -> int:
        """The last entry of a 1-d dataset (0 when empty), rows still in the sink included."""
        if not ds.shape[0]:
            return 0
        held = self.sink.last_row(ds) if self.sink is not None else None
        return int(held if held is not None else ds[-1])

    def cumulative(self, offsets: np.ndarray, last: int) -> np.ndarray:
        """``offsets[1:] + last``; VoVs with equal offsets (a TCM's two columns) get the same
        array, so the sink compresses its chunks once."""
        for kept_offsets, kept_last, cl in self._cumulative:
            if kept_last == last and np.array_equal(kept_offsets, offsets):
                return cl
        cl = offsets[1:] + last if last else offsets[1:]  # (the sink copies nothing)
        self._cumulative = [*self._cumulative[-1:], (offsets, last, cl)]
        return cl

    def datatype_of(self, layout, path: str) -> Datatype:
        """Datatype a layout will be written with (used for VoV element types)."""
        if _is_string(layout):
            return Datatype("array", element="string")
        if isinstance(layout, ak.contents.NumpyArray):
            data = np.asarray(layout.data)
            if data.ndim > 1:
                return Datatype("aoesa", element=element_of_dtype(data.dtype), ndim=2)
            return Datatype("array", element=element_of_dtype(data.dtype))
        if isinstance(layout, ak.contents.RegularArray):
            inner = layout.content
            while isinstance(inner, ak.contents.RegularArray):
                inner = inner.content
            return Datatype("aoesa", element=element_of_dtype(np.asarray(inner.data).dtype), ndim=2)
        if isinstance(layout, ak.contents.ListOffsetArray | ak.contents.ListArray):
            return Datatype("vov", inner=self.datatype_of(layout.content, path))
        if isinstance(layout, ak.contents.EmptyArray):
            return Datatype("array", element="real")
        raise self.err(path, f"vectors of {type(layout).__name__} cannot be stored in LH5")

    # -- waveform codecs
    def codec_for(self, layout, relpath: str) -> dict | None:
        setting = self.settings.for_field(relpath)
        if not _is_codec(setting):
            if relpath.strip("/") in self.settings.per_field:
                return None
            attrs = (layout.parameters or {}).get("attrs") or {}
            if attrs.get("codec") in CODEC_NAMES:  # keep the encoding an array was read with
                setting = {"codec": attrs["codec"], "codec_shift": attrs.get("codec_shift", 0)}
            else:
                return None
        if isinstance(setting, str):
            setting = {"codec": setting}
        return dict(setting)

    def encoded(self, parent, name, data: np.ndarray, offsets: np.ndarray | None, codec: dict,
                layout, relpath, *, append: bool):
        from .codecs import encode

        path = f"{parent.name.rstrip('/')}/{name}"
        if data.dtype.kind not in "iu":
            raise self.err(path, f"codec {codec['codec']} needs integer samples, got {data.dtype}")
        codec_name = codec["codec"]
        attrs: dict[str, Any] = {"codec": codec_name}
        shift = 0
        if codec_name == "radware_sigcompress":
            default_shift = -32768 if data.dtype == np.uint16 else 0
            shift = int(codec.get("codec_shift", default_shift))
            attrs["codec_shift"] = np.int64(shift)
        from .read import decoded_dtype

        if decoded_dtype(attrs) != data.dtype:
            attrs["dtype"] = str(data.dtype)
        equal = offsets is None
        enc_bytes, byte_offsets = encode(codec_name, data, offsets, codec_shift=shift)
        element = element_of_dtype(data.dtype)
        datatype = (f"array_of_encoded_equalsized_arrays<1,1>{{{element}}}" if equal
                    else f"array<1>{{encoded_array<1>{{{element}}}}}")
        if name in parent and append:
            grp = parent[name]
            self.check_datatype(grp, path, datatype)
            have = {k: grp.attrs.get(k) for k in ("codec", "codec_shift")}
            have_codec = have["codec"].decode() if isinstance(have["codec"], bytes) else have["codec"]
            if have_codec != codec_name or int(have["codec_shift"] or 0) != shift:
                raise self.err(path, f"cannot append {codec_name} (shift {shift}) waveforms to "
                                     f"{have_codec} (shift {have['codec_shift']}) ones")
            if equal and int(grp["decoded_size"][()]) != data.shape[1]:
                raise self.err(path, "cannot append waveforms of a different length")
        else:
            if name in parent:
                del parent[name]
            grp = parent.create_group(name)
            self.set_attrs(grp, datatype, {**_attrs_from_params(layout), **attrs})
            if equal:
                ds = grp.create_dataset("decoded_size", data=np.int64(data.shape[1]))
                self.set_attrs(ds, "real", {})
        if not equal:
            sizes = np.diff(offsets).astype(np.uint32)
            self.dataset(grp, "decoded_size", sizes, "array<1>{real}", {}, relpath, append=append)
        if "encoded_data" in grp and append:
            enc = grp["encoded_data"]
            cl = enc["cumulative_length"]
            last = self.last_value(cl)
        else:
            enc = grp.create_group("encoded_data")
            self.set_attrs(enc, "array<1>{array<1>{real}}", {})
            last = 0
        self.dataset(enc, "flattened_data", enc_bytes, "array<1>{real}", {}, relpath, append=append,
                     filters={"shuffle": True})
        self.dataset(enc, "cumulative_length", (byte_offsets[1:] + last).astype(np.uint32),
                     "array<1>{real}", {}, relpath, append=append)
        return grp

    # -- groups
    def table(self, parent, name, layout: ak.contents.RecordArray, relpath, *, append):
        path = f"{parent.name.rstrip('/')}/{name}"
        if layout.is_tuple:
            raise self.err(path, "tuples cannot be stored in LH5: give the fields names")
        fields = list(layout.fields)
        bad = [f for f in fields if any(c in f for c in ",{}/")]
        if bad:
            raise self.err(path, f"field name {bad[0]!r} contains one of , {{ }} /")
        datatype = f"table{{{','.join(sorted(fields))}}}"
        if name in parent and append:
            grp = parent[name]
            have = grp.attrs.get("datatype")
            have = have.decode() if isinstance(have, bytes) else have
            if have is not None:
                old = parse_datatype(have)
                if set(old.fields) != set(fields):
                    raise self.err(path, f"cannot append a table with fields {sorted(fields)} to "
                                         f"one with fields {sorted(old.fields)}")
        else:
            if name in parent:
                del parent[name]
            grp = parent.create_group(name)
            self.set_attrs(grp, datatype, _attrs_from_params(layout))
        for field in fields:
            sub = f"{relpath}/{field}".strip("/")
            self.write(grp, field, layout.content(field), sub, append=append)
        return grp

    def struct(self, parent, name, layout: ak.contents.RecordArray, relpath, *, append):
        """A length-1 record: scalars are fields, wrapped lists are arrays/tables."""
        path = f"{parent.name.rstrip('/')}/{name}"
        if name in parent and not append:
            del parent[name]
        grp = parent.require_group(name)
        fields = list(layout.fields)
        old = grp.attrs.get("datatype")
        old_fields = parse_datatype(old.decode() if isinstance(old, bytes) else old).fields if old else ()
        self.set_attrs(grp, f"struct{{{','.join(sorted(set(fields) | set(old_fields)))}}}",
                       _attrs_from_params(layout))
        for field in fields:
            sub = f"{relpath}/{field}".strip("/")
            self.struct_field(grp, field, layout.content(field)[:1], sub, append=append, path=path)
        return grp

    def struct_field(self, grp, field, content, relpath, *, append, path):
        if isinstance(content, ak.contents.RecordArray):
            return self.struct(grp, field, content, relpath, append=append)
        if _is_string(content):
            text = ak.to_list(ak.Array(content))[0]
            value = text.encode() if isinstance(text, str) else text
            return self.scalar(grp, field, value, "string", content)
        if isinstance(content, ak.contents.NumpyArray) and np.asarray(content.data).ndim == 1:
            value = np.asarray(content.data)[0]
            return self.scalar(grp, field, value, element_of_dtype(value.dtype), content)
        if isinstance(content, ak.contents.RegularArray | ak.contents.ListOffsetArray |
                      ak.contents.ListArray):
            inner = ak.to_layout(ak.to_packed(ak.Array(content)[0]))
            if isinstance(inner, ak.contents.RecordArray) and \
                    str((inner.parameters or {}).get("datatype", "")).startswith("struct"):
                return self.struct(grp, field, inner, relpath, append=append)
            return self.write(grp, field, inner, relpath, append=append)
        raise self.err(f"{path}/{field}", f"cannot store struct field of layout {type(content).__name__}")

    def scalar(self, parent, name, value, element: str, layout=None):
        if name in parent:
            if self.mode == "write_safe":
                raise self.err(f"{parent.name}/{name}", "object exists (mode write_safe)")
            del parent[name]
        if element == "bool":
            value = np.bool_(value)
        ds = parent.create_dataset(name, data=value)
        self.set_attrs(ds, element, _attrs_from_params(layout) if layout is not None else {})
        return ds


# ----------------------------------------------------------------------------- public API
def _normalize_mode(mode: str) -> str:
    mode = _MODE_ALIASES.get(mode, mode)
    if mode not in MODES:
        raise ValueError(f"unknown write mode {mode!r}; use one of {', '.join(MODES)}")
    return mode


def _ensure_parents(f: h5py.File, name: str) -> tuple[h5py.Group, str]:
    """Create missing parent groups of ``name`` as ``struct{...}`` and register the child."""
    parts = [p for p in name.strip("/").split("/") if p]
    if not parts:
        raise ValueError("object name must not be empty")
    group = f["/"]
    for i, part in enumerate(parts[:-1]):
        child = parts[i + 1]
        grp = group.require_group(part)
        dt = grp.attrs.get("datatype")
        dt = dt.decode() if isinstance(dt, bytes) else dt
        if dt is None and len(grp.keys()) == 0:
            grp.attrs["datatype"] = f"struct{{{child}}}".encode()
        elif dt is not None and dt.startswith("struct{"):
            fields = set(parse_datatype(dt).fields) | {child}
            grp.attrs["datatype"] = f"struct{{{','.join(sorted(fields))}}}".encode()
        group = grp
    return group, parts[-1]


def _to_layout(array) -> tuple[ak.contents.Content | None, Any, bool]:
    """(layout, scalar value, is_struct) of what the user passed."""
    if isinstance(array, ak.Record):
        return _packed_layout(array), None, True
    if isinstance(array, (str, bytes, int, float, bool, np.generic)):
        return None, array, False
    if isinstance(array, Mapping):
        return _packed_layout(ak.Record(dict(array))), None, True
    return _packed_layout(array), None, False


def write(
    array,
    path: str | os.PathLike,
    name: str,
    *,
    mode: str = "write_safe",
    compression: Any = "gzip",
) -> None:
    """Write ``array`` as LH5 object ``name`` in file ``path``.

    ``mode``: ``write_safe`` (error if the object exists), ``append`` (add rows),
    ``overwrite`` (replace the object), ``overwrite_file`` (replace the whole file),
    ``append_column`` (add fields to an existing table). ``compression``: ``"gzip"``
    (shuffle+gzip-4, default), ``"lzf"``, ``"zstd"``, ``"lz4"``, ``"bitshuffle"``, ``None``,
    a dict of h5py options, or a mapping ``{"default": ..., "waveform/values":
    "radware_sigcompress"}`` giving a setting or codec per field path.
    A new file is written to a temporary file first and renamed into place when complete.
    """
    mode = _normalize_mode(mode)
    path = os.fspath(path)
    settings = _Settings(compression)
    layout, scalar, is_struct = _to_layout(array)
    exists = os.path.exists(path)
    if exists and mode != "overwrite_file" and not h5py.is_hdf5(path):
        raise LH5WriteError(path, "/", "file exists and is not an HDF5 file; not touching it")
    new_file = not exists or mode == "overwrite_file"
    if new_file:
        folder = os.path.dirname(os.path.abspath(path))
        os.makedirs(folder, exist_ok=True)
        fd, target = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=folder)
        os.close(fd)
        h5mode = "w"
    else:
        target, h5mode = path, "a"
    try:
        with h5py.File(target, h5mode, locking=False) as f:
            sink = ChunkSink()
            try:
                _write_into(f, path, name, layout, scalar, is_struct, mode, settings, sink)
                sink.close()
            finally:
                sink.abort()
        if new_file:
            mask = os.umask(0)
            os.umask(mask)
            os.chmod(target, 0o666 & ~mask)  # mkstemp made it private; give it the usual mode
            os.replace(target, path)
    except BaseException:
        if new_file:
            with contextlib.suppress(OSError):
                os.unlink(target)
        raise


class Appender:
    """Append arrays/tables to LH5 objects of one file kept open, chunk after chunk.

    Like :func:`write` with ``mode="append"`` called once per chunk, but the shuffle+gzip
    compression of a chunk runs in threads while the caller computes the next one, and the
    rows that do not fill a whole HDF5 chunk wait in memory for the next call, so every HDF5
    chunk is compressed and written once. The file (created if missing) is complete after
    :meth:`close` (or the ``with`` block); write it under a temporary name and rename it.
    Arrays passed to :meth:`append` must not be modified afterwards.
    """

    def __init__(self, path: str | os.PathLike, *, compression: Any = "gzip") -> None:
        self.path = os.fspath(path)
        if os.path.exists(self.path) and not h5py.is_hdf5(self.path):
            raise LH5WriteError(self.path, "/", "file exists and is not an HDF5 file; not touching it")
        self.settings = _Settings(compression)
        self.file = h5py.File(self.path, "a", locking=False)
        self.sink = ChunkSink()

    def append(self, array, name: str) -> None:
        """Add the rows of ``array`` to object ``name`` (created by the first call)."""
        layout, scalar, is_struct = _to_layout(array)
        _write_into(self.file, self.path, name, layout, scalar, is_struct, "append", self.settings,
                    self.sink)

    def close(self) -> None:
        """Store the rows still held, close the file."""
        try:
            self.sink.close()
        finally:
            self.sink.abort()
            self.file.close()

    def abort(self) -> None:
        """Drop what is not stored yet and close the file (it is incomplete: delete it)."""
        self.sink.abort()
        self.file.close()

    def __enter__(self) -> Appender:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def _write_into(f, filename, name, layout, scalar, is_struct, mode, settings,
                sink: ChunkSink | None = None) -> None:
    key = "/" + name.strip("/")
    writer = _Writer(f, filename, mode, settings, sink)
    if key in f and mode == "write_safe":
        raise LH5WriteError(filename, key, "object exists; pass mode='overwrite' to replace it, "
                                           "'append' to add rows or 'append_column' to add fields")
    if mode == "append_column":
        if key not in f:
            raise LH5WriteError(filename, key, "append_column needs an existing table or struct")
        return _append_columns(writer, f[key], key, layout, is_struct)
    parent, leaf = _ensure_parents(f, key)
    append = mode == "append"
    if scalar is not None:
        element = "string" if isinstance(scalar, (str, bytes)) else element_of_dtype(np.asarray(scalar).dtype)
        value = scalar.encode() if isinstance(scalar, str) else scalar
        writer.scalar(parent, leaf, value, element)
        return
    if is_struct:
        if key in f and not append:
            del f[key]
        writer.struct(parent, leaf, layout, "", append=append)
        return
    if key in f and not append:
        del f[key]
    writer.write(parent, leaf, layout, "", append=append)


def _append_columns(writer: _Writer, grp, key, layout, is_struct) -> None:
    have = grp.attrs.get("datatype")
    have = have.decode() if isinstance(have, bytes) else have
    if have is None or not (have.startswith("table{") or have.startswith("struct{")):
        raise LH5WriteError(writer.filename, key, f"append_column needs a table or struct, found {have}")
    dt = parse_datatype(have)
    if not isinstance(layout, ak.contents.RecordArray):
        raise LH5WriteError(writer.filename, key, "append_column needs a record array of new fields")
    clash = [f for f in layout.fields if f in dt.fields]
    if clash:
        raise LH5WriteError(writer.filename, f"{key}/{clash[0]}", "field exists already")
    if dt.kind == "table":
        from .read import datatype_of, n_rows_of

        n = n_rows_of(grp, datatype_of(grp, writer.filename, key), writer.filename, key)
        if n is not None and dt.fields and layout.length != n:
            raise LH5WriteError(writer.filename, key,
                                f"new columns have {layout.length} rows, table has {n}")
        for field in layout.fields:
            writer.write(grp, field, layout.content(field), field, append=False)
    else:
        for field in layout.fields:
            writer.struct_field(grp, field, layout.content(field)[:1], field, append=False, path=key)
    fields = sorted(set(dt.fields) | set(layout.fields))
    grp.attrs["datatype"] = f"{dt.kind}{{{','.join(fields)}}}".encode()
