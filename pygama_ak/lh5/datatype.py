"""The LH5 ``datatype`` attribute: parse it into a :class:`Datatype` and format it back.

Grammar (``../shared/specs/lh5.md`` §1.2)::

    real | bool | complex | string | blob                         scalar
    array<N>{E}  fixedsize_array<N>{E}                            N-d array
    array_of_equalsized_arrays<1,1>{E}                            2-d "AOESA" (waveform values)
    array<1>{array<1>{...}}                                       vector of vectors, any depth
    array<1>{encoded_array<1>{E}}                                 encoded vector of vectors
    array_of_encoded_equalsized_arrays<1,1>{E}                    encoded AOESA
    struct{a,b,...}  table{a,b,...}                               groups of named fields
    view{entries}  view{slices}                                   row selection of another object

The element ``E`` is ``real``, ``bool``, ``complex``, ``string``, ``blob``, ``detectorid`` or
``enum{NAME=INT,...}``. Field order is the order in the attribute (never assumed sorted).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

SCALAR_ELEMENTS = ("real", "bool", "complex", "string", "blob")

KINDS = (
    "scalar",
    "array",
    "fixedsize_array",
    "aoesa",
    "vov",
    "encoded_vov",
    "encoded_aoesa",
    "struct",
    "table",
    "view",
)


class DatatypeError(ValueError):
    """A ``datatype`` attribute that does not follow the LH5 grammar."""


@dataclass(frozen=True)
class Datatype:
    """One parsed LH5 datatype.

    ``kind`` is one of :data:`KINDS`; ``element`` the element type of arrays and scalars;
    ``ndim`` the number of dimensions of an array; ``fields`` the ordered field names of a
    struct/table; ``inner`` the element datatype of a vector of vectors.
    """

    kind: str
    element: str | None = None
    ndim: int = 1
    fields: tuple[str, ...] = field(default_factory=tuple)
    inner: Datatype | None = None

    @property
    def is_group(self) -> bool:
        """True when the object is stored as an HDF5 group (not a dataset)."""
        return self.kind in ("vov", "encoded_vov", "encoded_aoesa", "struct", "table", "view")

    @property
    def is_histogram(self) -> bool:
        """A struct with exactly the fields binning, weights, isdensity."""
        return self.kind == "struct" and set(self.fields) == {"binning", "weights", "isdensity"}

    def depth(self) -> int:
        """Nesting depth of a vector of vectors (1 for ``array<1>{array<1>{real}}``)."""
        return 1 + self.inner.depth() if self.kind == "vov" and self.inner.kind == "vov" else 1

    def leaf(self) -> Datatype:
        """The innermost non-VoV datatype of a vector of vectors."""
        return self.inner.leaf() if self.kind == "vov" else self

    def __str__(self) -> str:
        return format_datatype(self)


_ARRAY = re.compile(r"^array<(\d+)>\{(.+)\}$", re.S)
_FIXED = re.compile(r"^fixedsize_array<(\d+)>\{(.+)\}$", re.S)
_AOESA = re.compile(r"^array_of_equalsized_arrays<(\d+),(\d+)>\{(.+)\}$", re.S)
_ENC_AOESA = re.compile(r"^array_of_encoded_equalsized_arrays<(\d+),(\d+)>\{(.+)\}$", re.S)
_ENC_VOV = re.compile(r"^array<1>\{encoded_array<1>\{(.+)\}\}$", re.S)
_GROUP = re.compile(r"^(struct|table)\{(.*)\}$", re.S)
_VIEW = re.compile(r"^view\{(entries|slices)\}$")
_ELEMENT = re.compile(r"^(real|bool|complex|string|blob|detectorid|enum\{.*\})$", re.S)


def _element(text: str, whole: str) -> str:
    text = text.strip()
    if not _ELEMENT.match(text):
        raise DatatypeError(f"unknown element type {text!r} in datatype {whole!r}")
    return text


def parse_datatype(text: str | bytes) -> Datatype:
    """Parse an LH5 ``datatype`` string; raise :class:`DatatypeError` when it is not LH5."""
    return _parse(text.decode() if isinstance(text, bytes) else text)


@lru_cache(maxsize=4096)
def _parse(text: str) -> Datatype:
    s = text.strip()
    if s in SCALAR_ELEMENTS:
        return Datatype("scalar", element=s, ndim=0)
    if m := _ENC_VOV.match(s):
        return Datatype("encoded_vov", element=_element(m.group(1), s))
    if m := _ENC_AOESA.match(s):
        return Datatype("encoded_aoesa", element=_element(m.group(3), s), ndim=2)
    if m := _GROUP.match(s):
        body = m.group(2).strip()
        names = tuple(n.strip() for n in body.split(",")) if body else ()
        if any(not n for n in names):
            raise DatatypeError(f"empty field name in datatype {s!r}")
        return Datatype(m.group(1), fields=names)
    if m := _AOESA.match(s):
        return Datatype("aoesa", element=_element(m.group(3), s), ndim=2)
    if m := _FIXED.match(s):
        return Datatype("fixedsize_array", element=_element(m.group(2), s), ndim=int(m.group(1)))
    if m := _VIEW.match(s):
        return Datatype("view", element=m.group(1))
    if m := _ARRAY.match(s):
        ndim, body = int(m.group(1)), m.group(2)
        if ndim == 1 and (body.startswith("array<") or body.startswith("array_of")):
            inner = _parse(body)
            if inner.kind not in ("array", "vov", "aoesa", "fixedsize_array"):
                raise DatatypeError(f"unsupported vector-of-vectors element {body!r} in {s!r}")
            return Datatype("vov", element=inner.leaf().element, inner=inner)
        return Datatype("array", element=_element(body, s), ndim=ndim)
    raise DatatypeError(f"unknown datatype {s!r}")


def format_datatype(dt: Datatype) -> str:
    """The ``datatype`` attribute string of ``dt`` (fields in the order given)."""
    k = dt.kind
    if k == "scalar":
        return dt.element
    if k == "array":
        return f"array<{dt.ndim}>{{{dt.element}}}"
    if k == "fixedsize_array":
        return f"fixedsize_array<{dt.ndim}>{{{dt.element}}}"
    if k == "aoesa":
        return f"array_of_equalsized_arrays<1,1>{{{dt.element}}}"
    if k == "vov":
        return f"array<1>{{{format_datatype(dt.inner)}}}"
    if k == "encoded_vov":
        return f"array<1>{{encoded_array<1>{{{dt.element}}}}}"
    if k == "encoded_aoesa":
        return f"array_of_encoded_equalsized_arrays<1,1>{{{dt.element}}}"
    if k in ("struct", "table"):
        return f"{k}{{{','.join(dt.fields)}}}"
    if k == "view":
        return f"view{{{dt.element}}}"
    raise DatatypeError(f"cannot format datatype kind {k!r}")


def element_of_dtype(dtype) -> str:
    """LH5 element type of a numpy dtype: i/u/f → real, b → bool, c → complex, S/U/O → string."""
    kind = dtype.kind
    if kind in "iuf":
        return "real"
    if kind == "b":
        return "bool"
    if kind == "c":
        return "complex"
    if kind in "SUOT":
        return "string"
    if kind == "V":
        return "blob"
    raise DatatypeError(f"numpy dtype {dtype} has no LH5 element type")
