"""Fast reading of the ORCA header's XML plist.

``plistlib`` parses with Python callbacks per element: 11–25 ms for a LEGEND-200 header
(140–200 kB, 5 000 elements), as long as decoding a whole 1 MB file. ElementTree builds the
element tree in C; walking it to Python objects takes half that time. The values equal
``plistlib.loads``'s (tests compare them on every real header); anything this walker does
not know (``<date>``, a malformed element, broken XML) goes to ``plistlib`` itself, so its
results and its errors are plistlib's.
"""

from __future__ import annotations

import binascii
import plistlib
import xml.etree.ElementTree as ET
from typing import Any


class _Unknown(Exception):
    """An element this walker leaves to plistlib."""


def _integer(text: str | None) -> int:
    raw = (text or "").strip()
    return int(raw, 16) if raw[:2] in ("0x", "0X") else int(raw)


def _value(element: ET.Element) -> Any:
    tag = element.tag
    if tag == "dict":
        out: dict[str, Any] = {}
        children = list(element)
        if len(children) % 2:
            raise _Unknown(tag)
        for key, value in zip(children[::2], children[1::2], strict=True):
            if key.tag != "key":
                raise _Unknown(key.tag)
            out[key.text or ""] = _value(value)
        return out
    if tag == "array":
        return [_value(child) for child in element]
    if len(element):  # scalars have no children
        raise _Unknown(tag)
    if tag == "string":
        return element.text or ""
    if tag == "integer":
        return _integer(element.text)
    if tag == "real":
        return float(element.text or "")
    if tag == "true":
        return True
    if tag == "false":
        return False
    if tag == "data":
        return binascii.a2b_base64((element.text or "").encode("ascii"))
    raise _Unknown(tag)


def parse_plist(xml: bytes) -> Any:
    """The object an XML plist holds (as :func:`plistlib.loads` returns it)."""
    if b"<!ENTITY" in xml:  # plistlib refuses entity declarations; so do we, through it
        return plistlib.loads(xml, fmt=plistlib.FMT_XML)
    try:
        root = ET.fromstring(xml)
        if root.tag != "plist" or len(root) != 1:
            raise _Unknown(root.tag)
        return _value(root[0])
    except (_Unknown, ET.ParseError, ValueError, UnicodeError):
        return plistlib.loads(xml, fmt=plistlib.FMT_XML)
