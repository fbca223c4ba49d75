"""The CoMPASS run settings file (``<run>_settings.xml``): boards, sample rates, channels.

Per ``<board>``: ``modelName`` and ``adcBitCount`` (kept as text, like daq2lh5), the sample
rate in samples/ns (from the model: DT5730 0.5, DT5725 0.25; other models from the board's
``sampleTime`` in ps), the record length ``wf_len`` in samples (``SRV_PARAM_RECLEN`` [ns] ×
rate) and, per enabled channel, its own ``SRV_PARAM_*``/``SW_PARAM*`` entries as text (an
entry without a value takes the board's value). A channel is enabled when its
``SRV_PARAM_CH_ENABLED`` (or the board's default) is ``true``. Parsed with the standard
library's :mod:`xml.etree`.
"""

from __future__ import annotations

import math
import os
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

#: samples per ns of the digitizer models daq2lh5 knows
MODEL_SAMPLE_RATE = {"DT5730": 0.5, "DT5725": 0.25}


class CompassSettingsError(ValueError):
    """The settings file cannot be used (names the file and the element)."""


@dataclass
class BoardSettings:
    """One ``<board>`` of the settings file."""

    model: str
    adc_bits: str
    sample_rate: float  # samples/ns (NaN: unknown)
    wf_len: float  # samples per waveform (SRV_PARAM_RECLEN [ns] × sample_rate)
    channels: dict[int, dict[str, str]] = field(default_factory=dict)  # enabled channels

    @property
    def dt_ns(self) -> float:
        """Sample period in ns."""
        return 1.0 / self.sample_rate if self.sample_rate > 0 else math.nan


@dataclass
class CompassSettings:
    """The boards of a settings file, in file order (board index = position)."""

    path: str
    boards: list[BoardSettings]
    warnings: list[str] = field(default_factory=list)


def _text(elem: ET.Element | None) -> str:
    return "" if elem is None or elem.text is None else elem.text.strip()


def _board_value(entry: ET.Element) -> str:
    """Board parameters: ``<entry><key/><value><value>TEXT</value><descriptor/></value>``."""
    outer = entry.find("value")
    if outer is None:
        return ""
    inner = outer.find("value")
    return _text(inner if inner is not None else outer)


def parse_settings(path: str | os.PathLike) -> CompassSettings:
    """Read a CoMPASS settings XML file."""
    path = os.fspath(path)
    try:
        root = ET.parse(path).getroot()
    except (ET.ParseError, OSError) as exc:
        raise CompassSettingsError(f"{path}: not a readable CoMPASS settings file: {exc}") from exc
    settings = CompassSettings(path, [])
    for i, board in enumerate(root.findall("board")):
        where = f"{path}: board {i}"
        model = _text(board.find("modelName"))
        params = {_text(e.find("key")): _board_value(e) for e in board.findall("parameters/entry")}
        if model in MODEL_SAMPLE_RATE:
            rate = MODEL_SAMPLE_RATE[model]
        else:
            sample_ps = _text(board.find("sampleTime"))
            try:
                rate = 1000.0 / float(sample_ps)
            except (ValueError, ZeroDivisionError):
                rate = math.nan
                settings.warnings.append(
                    f"{where}: model {model!r} has no known sample rate and no sampleTime: "
                    "waveform dt is NaN"
                )
        reclen = params.get("SRV_PARAM_RECLEN")
        if reclen is None:
            raise CompassSettingsError(f"{where} ({model}): SRV_PARAM_RECLEN missing")
        try:
            wf_len = float(reclen) * rate
        except ValueError as exc:
            raise CompassSettingsError(
                f"{where} ({model}): SRV_PARAM_RECLEN {reclen!r} is not a number"
            ) from exc
        default_enabled = params.get("SRV_PARAM_CH_ENABLED", "false").lower() == "true"
        channels: dict[int, dict[str, str]] = {}
        for ch in board.findall("channel"):
            index = int(_text(ch.find("index")))
            entries: dict[str, str] = {}
            for e in ch.findall("values/entry"):
                key = _text(e.find("key"))
                value = e.find("value")
                entries[key] = _text(value) if value is not None else params.get(key, "")
            enabled = entries.get("SRV_PARAM_CH_ENABLED")
            if (enabled.lower() == "true") if enabled is not None else default_enabled:
                channels[index] = entries
        settings.boards.append(
            BoardSettings(model, _text(board.find("adcBitCount")), rate, wf_len, channels)
        )
    if not settings.boards:
        raise CompassSettingsError(f"{path}: no <board> element")
    return settings
