"""Shipping sealed audit segments to sinks, and retention (docs/audit.md, "Shipping").

- :class:`SegmentSink` — the one-method seam (``async ship(segment) -> ShipReceipt``).
- :class:`DirectorySink` (default), :class:`S3Sink` (extra ``s3``: boto3),
  :class:`OtlpLogSink` (extra ``otlp``: OpenTelemetry logs over OTLP/HTTP protobuf).
- :class:`SegmentShipper` — ships what is sealed, writes receipts, applies retention.
"""

from governance.audit.sinks._ship import SegmentShipper, ShipRound
from governance.audit.sinks._sink import SealedSegment, SegmentSink, ShipReceipt, SinkError
from governance.audit.sinks.directory import DirectorySink
from governance.audit.sinks.otlp import OtlpLogSink
from governance.audit.sinks.s3 import S3Sink

__all__ = [
    "DirectorySink",
    "OtlpLogSink",
    "S3Sink",
    "SealedSegment",
    "SegmentShipper",
    "SegmentSink",
    "ShipReceipt",
    "ShipRound",
    "SinkError",
]
