"""The ORCA header's fast plist reader equals :func:`plistlib.loads` on the real headers, on
the simulator's, on every value type, and raises plistlib's errors on broken XML."""

from __future__ import annotations

import datetime
import plistlib
from xml.parsers.expat import ExpatError

import pytest

from pygama_ak.daq.simulate_orca import simulate_flashcam_orca, simulate_gretina4m_orca
from pygama_ak.raw.orca.plist import parse_plist

REAL = (
    "orca/fc/L200-comm-20220519-phy-geds.orca",
    "orca/fcio/l200-p14-r004-cal-20250606T010224Z.orca",
)


def header_xml(data: bytes) -> bytes:
    xml_len = int.from_bytes(data[4:8], "little")
    return data[8 : 8 + xml_len]


@pytest.mark.parametrize("rel", REAL)
def test_real_headers_equal_plistlib(testdata_dir, rel):
    xml = header_xml((testdata_dir / rel).read_bytes())
    ours, theirs = parse_plist(xml), plistlib.loads(xml)
    assert ours == theirs
    assert len(ours["ObjectInfo"]["Crates"]) > 0  # a real header, not an empty dict
    # the same types, not only equal values (True == 1, 1.0 == 1)
    assert repr(ours) == repr(theirs)


@pytest.mark.parametrize("simulate", [simulate_flashcam_orca, simulate_gretina4m_orca])
def test_simulated_headers_equal_plistlib(tmp_path, simulate):
    path = tmp_path / "sim.orca"
    simulate(path, 4)
    xml = header_xml(path.read_bytes())
    assert repr(parse_plist(xml)) == repr(plistlib.loads(xml))


VALUES = {
    "int": 7,
    "negative": -123456789012,
    "big": 2**63 - 1,
    "real": 0.1,
    "whole real": 3.0,
    "yes": True,
    "no": False,
    "empty": "",
    "text": "a < b & c > d, ünïcödé",
    "spaces": "  padded  ",
    "bytes": b"\x00\x01binary\xff",
    "nested": {"list": [1, "two", [3.5, {"deep": False}], {}], "empty list": []},
    "": "empty key",
}


def test_every_value_type():
    xml = plistlib.dumps(VALUES, fmt=plistlib.FMT_XML)
    ours = parse_plist(xml)
    assert ours == VALUES
    assert repr(ours) == repr(plistlib.loads(xml))


def test_hex_integer_and_top_level_array():
    xml = (
        b'<?xml version="1.0"?><plist version="1.0"><array><integer>0x1F</integer>'
        b"<integer>0X10</integer><string/></array></plist>"
    )
    assert parse_plist(xml) == [31, 16, ""] == plistlib.loads(xml)


def test_dates_go_to_plistlib():
    value = {"when": datetime.datetime(2025, 6, 6, 1, 2, 24)}
    xml = plistlib.dumps(value, fmt=plistlib.FMT_XML)
    assert parse_plist(xml) == value


@pytest.mark.parametrize(
    "xml",
    [
        b'<plist version="1.0"><dict><key>a</key><integer>1</integer>',  # cut
        b"<plist><dict><key>a</key></dict></plist>",  # key without value
        b"<plist><dict><integer>1</integer><integer>2</integer></dict></plist>",  # no key
        b"<plist><integer>x</integer></plist>",  # not a number
    ],
)
def test_broken_xml_raises_plistlibs_error(xml):
    with pytest.raises((ValueError, ExpatError)) as ours:
        parse_plist(xml)
    with pytest.raises((ValueError, ExpatError)) as theirs:
        plistlib.loads(xml)
    assert type(ours.value) is type(theirs.value)


def test_entity_declarations_are_refused():
    xml = (
        b'<?xml version="1.0"?><!DOCTYPE plist [<!ENTITY e "x">]>'
        b"<plist><string>&e;</string></plist>"
    )
    with pytest.raises(plistlib.InvalidFileException):
        parse_plist(xml)
