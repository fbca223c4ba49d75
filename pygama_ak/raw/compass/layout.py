"""CoMPASS event layouts: which optional fields an event holds, and its numpy dtype.

The file may start with a 2-byte little-endian header ``0xCAEx`` whose low bits tell the
optional fields: bit 0 energy in channels (u16), bit 1 calibrated energy (f64), bit 2
energy short (u16), bit 3 waveform. An event is: board u16, channel u16, timestamp u64 [ps],
[energy u16], [calibrated energy f64], [energy short u16], flags u32 and, with waveforms,
waveform code u8, number of samples u32 and the samples (u16). All waveforms of a file
have the same length, so events have a fixed size and a chunk of them is a numpy
structured array. Size-split files after the first have no header: the layout is guessed
from the first events (:func:`guess_layout`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

HEADER_MAGIC = 0xCAE0
HEADER_BYTES = 2
GUESS_EVENTS = 64  # events checked when guessing a header-less file's layout
MAX_BOARD = 255  # plausibility limits for guessing
MAX_CHANNEL = 63
MIN_CALIBRATED, MAX_CALIBRATED = 1e-3, 1e8  # |calibrated energy| (keV or MeV) if not 0


@dataclass(frozen=True)
class Layout:
    """Which optional fields each event of a file holds."""

    energy: bool  # energy in ADC channels (u16)
    calibrated: bool  # calibrated energy (f64)
    short: bool  # energy short (u16)
    waveform: bool  # waveform code, number of samples and samples

    @classmethod
    def from_header(cls, word: int) -> Layout:
        return cls(bool(word & 1), bool(word & 2), bool(word & 4), bool(word & 8))

    @property
    def header_word(self) -> int:
        """The 2-byte file header that announces this layout."""
        bits = self.energy | self.calibrated << 1 | self.short << 2 | self.waveform << 3
        return HEADER_MAGIC | bits

    @property
    def fixed_bytes(self) -> int:
        """Bytes of an event before its samples."""
        return (
            12
            + 2 * self.energy
            + 8 * self.calibrated
            + 2 * self.short
            + 4
            + (5 if self.waveform else 0)
        )

    @property
    def nsamples_offset(self) -> int:
        """Byte offset of the number of samples in an event (waveform layouts)."""
        return self.fixed_bytes - 4

    def event_bytes(self, nsamples: int) -> int:
        return self.fixed_bytes + 2 * nsamples

    def dtype(self, nsamples: int) -> np.dtype:
        """The packed little-endian numpy dtype of one event."""
        fields: list[tuple] = [("board", "<u2"), ("channel", "<u2"), ("timestamp", "<u8")]
        if self.energy:
            fields.append(("energy", "<u2"))
        if self.calibrated:
            fields.append(("energy_calibrated", "<f8"))
        if self.short:
            fields.append(("energy_short", "<u2"))
        fields.append(("flags", "<u4"))
        if self.waveform:
            fields += [("wave_code", "u1"), ("num_samples", "<u4")]
            fields.append(("samples", "<u2", (nsamples,)))
        return np.dtype(fields)


ALL_LAYOUTS = tuple(
    Layout(e, c, s, w)
    for w in (True, False)
    for e, c in ((True, False), (False, True), (True, True))
    for s in (False, True)
)


def _plausible(buf: bytes, layout: Layout, at: int) -> int | None:
    """Number of samples of a plausible event at byte ``at`` (0 without waveform), or None."""
    fixed = layout.fixed_bytes
    if at + fixed > len(buf):
        return None
    board = int.from_bytes(buf[at : at + 2], "little")
    channel = int.from_bytes(buf[at + 2 : at + 4], "little")
    if board > MAX_BOARD or channel > MAX_CHANNEL:
        return None
    if layout.calibrated:
        off = at + 12 + 2 * layout.energy
        value = np.frombuffer(buf[off : off + 8], "<f8")[0]
        if not (value == 0 or MIN_CALIBRATED < abs(value) < MAX_CALIBRATED):
            return None  # also rejects bytes of other fields read as a float
    if not layout.waveform:
        return 0
    pos = at + layout.nsamples_offset
    return int.from_bytes(buf[pos : pos + 4], "little")


def guess_layout(head: bytes, file_size: int) -> Layout | None:
    """The layout of a header-less file from its first bytes (``head``), or None.

    A layout fits if the first events (up to :data:`GUESS_EVENTS`, as many as ``head``
    holds) have plausible board and channel numbers and calibrated energies and equal
    waveform lengths, and the file size is a whole number of events (failing that: any
    size). Waveform layouts are tried first (energy, calibrated, both; without and with
    energy short), as daq2lh5 does. Layouts of equal size (calibrated + short, energy +
    calibrated) are told apart by the calibrated energy's plausible range.
    """
    for whole in (True, False):  # then allow a cut last event
        for layout in ALL_LAYOUTS:
            first = _plausible(head, layout, 0)
            if first is None:
                continue
            size = layout.event_bytes(first)
            if whole and file_size % size:
                continue
            n = min(GUESS_EVENTS, len(head) // size, file_size // size)
            if n == 0:
                continue
            if all(_plausible(head, layout, i * size) == first for i in range(1, n)):
                return layout
    return None
