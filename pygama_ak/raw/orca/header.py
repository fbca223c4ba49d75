"""The ORCA header (packet 0): an Apple XML plist describing the run's hardware and ids.

Word 0 is the packet header (data id 0, length in words), word 1 the XML length in bytes,
then the XML, padded with NULs to a word boundary. :class:`OrcaHeader` wraps the parsed
dict and answers what the decoders need: the decoder name of each data id, the FlashCam
listeners (fcid, their cards and enabled inputs) and card settings by class name.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from .packets import code_of_data_id
from .plist import parse_plist

FC_ADC_CLASSES = ("ORFlashCamADCModel", "ORFlashCamADCStdModel")
FC_CARD_CLASSES = (*FC_ADC_CLASSES, "ORFlashCamTriggerModel", "ORFlashCamGlobalTriggerModel")


def fc_rawid(fcid: int, board_id: int, fc_input: int) -> int:
    """FlashCam channel key: fcid·10⁶ + board address·100 + input."""
    return fcid * 1_000_000 + board_id * 100 + fc_input


@dataclass
class FCListener:
    """One FlashCam listener (ORCA ``ORFlashCamListenerModel``) as the header describes it."""

    fcid: int
    cards: list[tuple[int, int, int]] = field(default_factory=list)  # (crate, slot, address)
    keys: list[int] = field(default_factory=list)  # rawids of the enabled ADC inputs
    event_samples: int = 0
    fsp_enabled: bool = False


class OrcaHeader:
    """Parsed ORCA header: ``data`` (the plist dict) and lookups derived from it."""

    def __init__(self, data: dict) -> None:
        self.data = data
        #: lookup code (see :mod:`.packets`) → decoder name written in the header
        self.decoders: dict[int, str] = {}
        for records in data.get("dataDescription", {}).values():
            for rec in records.values():
                if "dataId" in rec and "decoder" in rec:
                    self.decoders[code_of_data_id(rec["dataId"])] = str(rec["decoder"])

    @classmethod
    def from_xml(cls, xml: bytes) -> OrcaHeader:
        """Parse the XML plist bytes (without padding)."""
        return cls(parse_plist(xml))

    def json(self) -> str:
        """The header as daq2lh5 stores it in ``OrcaHeader``: ``json.dumps`` of the dict."""
        return json.dumps(self.data)

    def codes_of(self, decoder: str) -> list[int]:
        """Lookup codes whose packets the header assigns to ``decoder``."""
        return [c for c, name in self.decoders.items() if name == decoder]

    # ------------------------------------------------------------------ hardware
    def cards(self, classes: tuple[str, ...] | str) -> dict[tuple[int, int], dict]:
        """``(crate, slot) → card dict`` for cards of the given class names."""
        classes = (classes,) if isinstance(classes, str) else classes
        out = {}
        for crate in self.data.get("ObjectInfo", {}).get("Crates", []):
            for card in crate.get("Cards", []):
                if card.get("Class Name") in classes:
                    out[(int(crate.get("CrateNumber", 0)), int(card.get("Card", 0)))] = card
        return out

    def aux_hw(self, class_name: str, unique_id: int) -> dict:
        """The ``AuxHw`` entry of that class and ``uniqueID`` (empty if absent)."""
        for entry in self.data.get("ObjectInfo", {}).get("AuxHw", []):
            if entry.get("Class Name") == class_name and entry.get("uniqueID") == unique_id:
                return entry
        return {}

    def fc_listeners(self) -> list[FCListener]:
        """FlashCam listeners in ``ReadoutDescription`` order, with their enabled inputs."""
        cards = self.cards(FC_CARD_CLASSES)
        out = []
        for entry in self.data.get("ReadoutDescription", []):
            if entry.get("name") != "ORFlashCamListenerModel":
                continue
            fcid = int(entry["uniqueID"])
            aux = self.aux_hw("ORFlashCamListenerModel", fcid)
            listener = FCListener(
                fcid,
                event_samples=int(aux.get("eventSamples", 0)),
                fsp_enabled=bool(aux.get("fspEnabled", False)),
            )
            for child in entry.get("children", []):
                crate, slot = int(child["crate"]), int(child["station"])
                card = cards.get((crate, slot))
                if card is None:
                    continue
                address = int(card.get("CardAddress", 0))
                listener.cards.append((crate, slot, address))
                for fc_input, enabled in enumerate(card.get("Enabled", [])):
                    key = fc_rawid(fcid, address, fc_input)
                    if enabled and key not in listener.keys:
                        listener.keys.append(key)
            out.append(listener)
        return out
