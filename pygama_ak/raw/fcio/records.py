"""FCIO record tags, limits and the names daq2lh5 gives the decoders of each record.

An FCIO file is a tmio stream: an int32 protocol tag (−1000000001) and a 64-byte protocol
string (``"FlashCamV1"``), then records. A record is an int32 ``−tag`` followed by data frames,
each an int32 byte count and that many payload bytes (little-endian).
"""

from __future__ import annotations

PROTOCOL_TAG = -1_000_000_001
PROTOCOL_SIZE = 64  # bytes of the protocol string after the protocol tag
PROTOCOL_NAME = b"FlashCamV1"
MAX_TAG = 1_000_000_000  # tags above this (other than the protocol tag) are forbidden

MAX_CHANNELS = 2400
MAX_SAMPLES = 32768
MAX_CARDS = 256
CARD_STATUS_WORDS = 295  # u32 words of one card's status block (1180 bytes)
#: the largest frame a valid FCIO file can hold: a full event of 2400 traces × 32770 u16
MAX_FRAME_BYTES = MAX_CHANNELS * (MAX_SAMPLES + 2) * 2

# record tags
CONFIG = 1
CALIB = 2  # deprecated
EVENT = 3
STATUS = 4
RECEVENT = 5
SPARSE_EVENT = 6
EVENT_HEADER = 7
FSP_CONFIG = 8
FSP_EVENT = 9
FSP_STATUS = 10

#: pseudo tags the framing scanner emits for things that are not records
PSEUDO_PROTOCOL = 0  # a (repeated) protocol header: concatenated files
PSEUDO_ORPHAN = -2  # data frames outside any record (skipped, as tmio does)

TAG_NAMES = {
    CONFIG: "Config",
    CALIB: "Calib",
    EVENT: "Event",
    STATUS: "Status",
    RECEVENT: "RecEvent",
    SPARSE_EVENT: "SparseEvent",
    EVENT_HEADER: "EventHeader",
    FSP_CONFIG: "FSPConfig",
    FSP_EVENT: "FSPEvent",
    FSP_STATUS: "FSPStatus",
    PSEUDO_PROTOCOL: "protocol header",
    PSEUDO_ORPHAN: "frames outside a record",
}

#: FSP (software trigger) records annotate the FCIO record that follows them
FSP_TAGS = (FSP_CONFIG, FSP_EVENT, FSP_STATUS)


def tag_name(tag: int) -> str:
    """Human name of a record tag (``"tag 42"`` for unknown ones)."""
    return TAG_NAMES.get(int(tag), f"tag {int(tag)}")


def is_fcio(head: bytes) -> bool:
    """Whether the first bytes of a file are a tmio protocol header for FlashCam.

    A file shorter than the header counts if it is the header's beginning (a cut file).
    """
    start = PROTOCOL_TAG.to_bytes(4, "little", signed=True) + PROTOCOL_NAME
    if len(head) < len(start):
        return len(head) > 0 and start.startswith(head)
    return head[: len(start)] == start
