"""Awkward ⇄ Arrow ⇄ Polars, zero-copy for numbers and lists.

Type mapping (what :func:`to_arrow` produces; :func:`from_arrow` reverses it):

* record array (LH5 table) → :class:`pyarrow.Table`; nested records → ``struct`` (Polars ``Struct``)
* numbers → the same Arrow primitive type, sharing the numpy buffer
* ``var`` lists (vector of vectors) → ``large_list`` (int64 offsets, Polars ``List``), sharing
  offsets and content
* regular dimensions (waveform ``values``, ``N * uint16``) → ``fixed_size_list`` (Polars
  ``pl.Array``), sharing the flat buffer
* strings → ``large_string`` (offsets and bytes shared)
* booleans → Arrow ``bool``: Awkward stores one byte per value, Arrow one bit, so this is the
  one conversion that **copies** (and packs) the data

Awkward parameters ``datatype`` and ``units`` become Arrow field metadata under the keys
``b"datatype"`` and ``b"units"``; the ``attrs`` parameter (other LH5 attributes) is stored as
JSON under ``b"attrs"``. A table's own parameters go to the schema metadata, those of list
contents to the list's value field. Polars drops field metadata, so :func:`to_polars` stores
nothing extra and :func:`from_polars` accepts plain frames.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

import awkward as ak
import numpy as np
import polars as pl
import pyarrow as pa

_META_KEYS = ("datatype", "units")
_TO_ARROW = {"extensionarray": False, "list_to32": False, "string_to32": False,
             "bytestring_to32": False}


# ----------------------------------------------------------------------------- metadata
def _metadata(params: dict | None) -> dict[bytes, bytes] | None:
    """Arrow field metadata for the LH5-related Awkward parameters of one node."""
    if not params:
        return None
    meta = {k.encode(): str(params[k]).encode() for k in _META_KEYS if params.get(k) is not None}
    if params.get("attrs"):
        meta[b"attrs"] = json.dumps(params["attrs"], default=_json_default).encode()
    return meta or None


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    raise TypeError(f"attribute value {value!r} is not JSON serialisable")


def _params(meta: dict[bytes, bytes] | None) -> dict:
    """Awkward parameters from Arrow field metadata (the reverse of :func:`_metadata`)."""
    if not meta:
        return {}
    out: dict = {}
    for key in _META_KEYS:
        if key.encode() in meta:
            out[key] = meta[key.encode()].decode()
    if b"attrs" in meta:
        with contextlib.suppress(ValueError):  # not ours: leave it out
            out["attrs"] = json.loads(meta[b"attrs"])
    return out


# ----------------------------------------------------------------------------- Awkward → Arrow
def _strip_form(form: ak.forms.Form) -> tuple[ak.forms.Form, dict]:
    """Skip option/indexed wrappers (they have no Arrow node of their own); merged parameters."""
    params: dict = {}
    while isinstance(form, ak.forms.IndexedForm | ak.forms.IndexedOptionForm | ak.forms.UnmaskedForm
                     | ak.forms.BitMaskedForm | ak.forms.ByteMaskedForm):
        params = {**(form.parameters or {}), **params}
        form = form.content
    return form, {**(form.parameters or {}), **params}


def _is_list_type(t: pa.DataType) -> bool:
    return pa.types.is_large_list(t) or pa.types.is_list(t) or pa.types.is_fixed_size_list(t)


def _with_value_field(t: pa.DataType, field: pa.Field) -> pa.DataType:
    if pa.types.is_large_list(t):
        return pa.large_list(field)
    if pa.types.is_list(t):
        return pa.list_(field)
    return pa.list_(field, t.list_size)


def _annotate(form: ak.forms.Form, t: pa.DataType) -> tuple[pa.DataType, dict | None]:
    """Arrow type ``t`` with field metadata from the parameters of ``form``; the metadata of
    the node itself is returned separately (it belongs to the parent's field)."""
    form, params = _strip_form(form)
    meta = _metadata(params)
    if params.get("__array__") in ("string", "bytestring"):
        return t, meta
    if isinstance(form, ak.forms.RecordForm) and pa.types.is_struct(t):
        fields = []
        for i, content in enumerate(form.contents):
            f = t.field(i)
            sub, sub_meta = _annotate(content, f.type)
            fields.append(pa.field(f.name, sub, f.nullable, metadata=sub_meta))
        return pa.struct(fields), meta
    if isinstance(form, ak.forms.ListOffsetForm | ak.forms.ListForm | ak.forms.RegularForm) \
            and _is_list_type(t):
        f = t.value_field
        sub, sub_meta = _annotate(form.content, f.type)
        return _with_value_field(t, pa.field(f.name, sub, f.nullable, metadata=sub_meta)), meta
    return t, meta  # numbers, bool, multi-dim NumpyArray (fixed_size_list of numbers), unions


def _is_record_form(form: ak.forms.Form) -> bool:
    return isinstance(_strip_form(form)[0], ak.forms.RecordForm)


def to_arrow(array: ak.Array) -> pa.Table | pa.Array | pa.ChunkedArray:
    """An Awkward array → Arrow, sharing the numpy buffers (booleans are copied, see module).

    Record arrays become a :class:`pa.Table` (one column per field), anything else a
    :class:`pa.Array`. Parameters ``datatype``/``units``/``attrs`` become field metadata;
    those of a non-record array's outermost node have no field to live in and are dropped.
    """
    array = array if isinstance(array, ak.Array) else ak.Array(array)
    form = array.layout.form
    arr = ak.to_arrow(array, **_TO_ARROW)
    typ, meta = _annotate(form, arr.type)
    arr = arr.view(typ) if isinstance(arr, pa.Array) else arr.cast(typ)
    if not (_is_record_form(form) and pa.types.is_struct(typ)):
        return arr
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if arr.null_count:
        raise ValueError("missing (None) records cannot become table rows")
    table = pa.Table.from_struct_array(arr)
    return table.replace_schema_metadata(meta) if meta else table


def to_polars(array: ak.Array) -> pl.DataFrame | pl.Series:
    """A record array → :class:`pl.DataFrame` (other arrays → :class:`pl.Series`), zero-copy
    as :func:`to_arrow`. Polars keeps no field metadata, so units/datatypes are not stored."""
    array = array if isinstance(array, ak.Array) else ak.Array(array)
    arr = ak.to_arrow(array, **_TO_ARROW)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if _is_record_form(array.layout.form) and pa.types.is_struct(arr.type):
        if arr.null_count:
            raise ValueError("missing (None) records cannot become table rows")
        if len(arr.type) == 0:
            return pl.DataFrame(height=len(arr))
        return pl.from_arrow(pa.Table.from_struct_array(arr), rechunk=False)
    return pl.from_arrow(arr, rechunk=False)


# ----------------------------------------------------------------------------- Arrow → Awkward
def _drop_empty_options(layout: ak.contents.Content) -> ak.contents.Content:
    """Remove option nodes that mark no missing value (Arrow/Polars fields are all nullable)."""
    if isinstance(layout, ak.contents.UnmaskedArray):
        inner = layout.content
        return _drop_empty_options(inner.copy(parameters=_merge(inner, layout)))
    if isinstance(layout, ak.contents.BitMaskedArray | ak.contents.ByteMaskedArray):
        if np.all(layout.mask_as_bool(valid_when=True)):
            inner = layout.content[: layout.length]
            return _drop_empty_options(inner.copy(parameters=_merge(inner, layout)))
        return layout.copy(content=_drop_empty_options(layout.content))
    if isinstance(layout, ak.contents.IndexedOptionArray):
        index = np.asarray(layout.index.data)
        if np.all(index >= 0):
            return _drop_empty_options(ak.contents.IndexedArray(
                ak.index.Index64(index.astype(np.int64, copy=False)), layout.content,
                parameters=layout.parameters))
        return layout.copy(content=_drop_empty_options(layout.content))
    if isinstance(layout, ak.contents.IndexedArray):
        return layout.copy(content=_drop_empty_options(layout.content))
    if isinstance(layout, ak.contents.RecordArray):
        return layout.copy(contents=[_drop_empty_options(c) for c in layout.contents])
    if isinstance(layout, ak.contents.ListOffsetArray | ak.contents.ListArray
                  | ak.contents.RegularArray):
        return layout.copy(content=_drop_empty_options(layout.content))
    return layout


def _merge(inner: ak.contents.Content, outer: ak.contents.Content) -> dict | None:
    params = {**(inner.parameters or {}), **(outer.parameters or {})}
    return params or None


def _restore(layout: ak.contents.Content, t: pa.DataType,
             meta: dict[bytes, bytes] | None) -> ak.contents.Content:
    """Attach the parameters stored in Arrow metadata to ``layout`` (built from type ``t``)."""
    params = _params(meta)
    if layout.is_option or layout.is_indexed:
        content = _restore(layout.content, t, meta)
        return layout.copy(content=content)
    if isinstance(layout, ak.contents.RecordArray) and pa.types.is_struct(t):
        contents = [_restore(c, t.field(i).type, t.field(i).metadata)
                    for i, c in enumerate(layout.contents)]
        layout = layout.copy(contents=contents)
    elif (isinstance(layout, ak.contents.ListOffsetArray | ak.contents.ListArray
                     | ak.contents.RegularArray)
          and (layout.parameters or {}).get("__array__") not in ("string", "bytestring")
          and _is_list_type(t)):
        f = t.value_field
        layout = layout.copy(content=_restore(layout.content, f.type, f.metadata))
    if params:
        layout = layout.copy(parameters={**(layout.parameters or {}), **params})
    return layout


def from_arrow(obj: pa.Table | pa.RecordBatch | pa.Array | pa.ChunkedArray) -> ak.Array:
    """Arrow → Awkward without copying numbers and lists; restores ``datatype``/``units``/
    ``attrs`` parameters from field (and schema) metadata where present. Option types are
    kept only where a value is actually missing. Polars objects are accepted too."""
    if isinstance(obj, pl.DataFrame | pl.Series):
        return from_polars(obj)
    if isinstance(obj, pa.RecordBatch):
        obj = pa.Table.from_batches([obj])
    if isinstance(obj, pa.Table):
        struct = pa.struct(list(obj.schema))
        meta = obj.schema.metadata
        if obj.num_columns == 0:
            return ak.Array(ak.contents.RecordArray([], [], length=obj.num_rows,
                                                    parameters=_params(meta) or None))
    elif isinstance(obj, pa.Array | pa.ChunkedArray):
        struct, meta = obj.type, None
    else:
        raise TypeError(f"from_arrow needs a pyarrow Table, RecordBatch or Array, not {type(obj)}")
    layout = ak.to_layout(ak.from_arrow(obj, generate_bitmasks=False))
    layout = _restore(_drop_empty_options(layout), struct, meta)
    return ak.Array(layout)


def from_polars(df: pl.DataFrame | pl.Series) -> ak.Array:
    """A Polars frame (→ record array) or series → Awkward, zero-copy for numbers and lists
    (strings and booleans as in Arrow). Plain frames need no metadata."""
    if isinstance(df, pl.LazyFrame):
        raise TypeError("from_polars needs a DataFrame: call .collect() first")
    arrow = df.to_arrow(compat_level=pl.CompatLevel.oldest())
    return from_arrow(arrow)


__all__ = ["to_arrow", "from_arrow", "to_polars", "from_polars"]
