"""The sink seam: one method, ``ship``, that uploads a sealed segment and verifies it arrived.

    SegmentSink.ship(segment) -> ShipReceipt        raises SinkError

A receipt is written next to the segment (``audit-NNNNNN.shipped.json``) only after the sink
verified what it stored (a read-back digest for stores that can be read, the receiver's
acceptance of every record for push protocols); retention deletes only segments with a receipt
from every configured sink.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from pydantic import BaseModel, ConfigDict

from governance.audit._segments import SegmentManifest
from governance.errors import GovernanceError, Location


class SinkError(GovernanceError):
    """A segment could not be shipped, or what the sink holds does not verify."""

    code = "audit_ship_failed"
    exit_code = 1


@dataclass(frozen=True)
class SealedSegment:
    directory: Path
    manifest: SegmentManifest

    @property
    def path(self) -> Path:
        return self.directory / self.manifest.file

    @property
    def manifest_path(self) -> Path:
        return self.directory / f"{self.manifest.segment}.manifest.json"

    def fail(self, message: str) -> SinkError:
        return SinkError(message, location=Location(str(self.path)))


class ShipReceipt(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    sink: str
    location: str  # where the segment now is (a path, an s3:// URL, an OTLP endpoint)
    sha256: str
    records: int
    verified: str  # how it was verified
    shipped_at: str


class SegmentSink(Protocol):
    """A place sealed segments go. ``name`` identifies it in receipts and metrics."""

    name: str

    async def ship(self, segment: SealedSegment) -> ShipReceipt: ...
