"""What :func:`~pygama_ak.raw.build_raw` did: rows per table, records, skips, speed."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass
class RawSummary:
    """Outcome of one DAQ file → raw LH5 conversion."""

    daq_file: str
    format: str
    outputs: list[str] = field(default_factory=list)  # files written (final names)
    tables: Counter = field(default_factory=Counter)  # "file:object" → rows written
    decoded: Counter = field(default_factory=Counter)  # decoder → rows decoded
    records: Counter = field(default_factory=Counter)  # record type → records decoded
    skipped: Counter = field(default_factory=Counter)  # record type or reason → count
    bytes_read: int = 0  # bytes of the DAQ file in complete records
    file_size: int = 0
    seconds: float = 0.0  # wall time
    warnings: list[str] = field(default_factory=list)
    error: str | None = None  # truncation/corruption message, when the file has one

    @property
    def mb_per_s(self) -> float:
        """Input megabytes (10⁶ bytes) per second of wall time."""
        return self.bytes_read / 1e6 / self.seconds if self.seconds > 0 else float("nan")

    def as_dict(self) -> dict:
        """Plain dict (JSON-friendly)."""
        return {
            "daq_file": self.daq_file,
            "format": self.format,
            "outputs": self.outputs,
            "tables": dict(self.tables),
            "decoded": dict(self.decoded),
            "records": dict(self.records),
            "skipped": dict(self.skipped),
            "bytes_read": self.bytes_read,
            "file_size": self.file_size,
            "seconds": self.seconds,
            "warnings": self.warnings,
            "error": self.error,
        }
