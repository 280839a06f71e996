"""The audit chain: hash-chained, group-committed, masked JSON Lines, in one file or in rotating,
compressed, chained segments (ARCHITECTURE.md, "Audit log records"; docs/audit.md).

>>> from governance.audit import AuditLog, MaskingRules, verify_audit_log, ChainSummary

- :class:`AuditLog` — ``await AuditLog.open(path, mask=..., group_commit_ms=2.0)`` (a file) or
  ``AuditLog.open(directory, segments=SegmentPolicy(...), compact=(...))``, then
  ``await log.append(event)`` (durable) or ``log.append_nowait(event)`` +
  ``await log.wait_durable(seq)``, ``await log.flush()``, ``log.head``, ``log.available``,
  ``await log.close()``.
- :func:`verify_audit_log` — verify a file or a segment directory, optionally against an
  expected head; raises an :class:`~governance.errors.AuditChainError` subclass naming the first
  bad record or segment.
- :func:`iter_events` — read events back with compacted parts resolved.
- :func:`write_worker_set` / :func:`verify_worker_set` — one chain per gateway worker under
  ``worker-<i>/`` and the ``workers.json`` manifest naming them; every named chain verified.
- :func:`recover_audit_log` — cut a torn last line left by a killed writer, finish seals.
- :class:`MaskingRules` — which fields are masked before hashing and writing (keyed digests).
- :mod:`governance.audit.sinks` — shipping sealed segments (directory, S3, OTLP) and retention.
"""

from governance.audit._errors import (
    AuditChainError,
    AuditEventError,
    AuditHeadMismatch,
    AuditLogLocked,
    AuditLogTruncated,
    AuditLogUnavailable,
    AuditRecordEdited,
    AuditRecordMalformed,
    AuditRecordOutOfOrder,
    AuditSegmentError,
    AuditWriteError,
)
from governance.audit._log import AuditListener, AuditLog, SegmentPolicy
from governance.audit._masking import DEFAULT_SECRET_FIELDS, SECRET_MARKER, MaskingRules
from governance.audit._open import recover_audit_log
from governance.audit._read import EventReader, iter_events
from governance.audit._records import GENESIS_HASH, AuditHead
from governance.audit._segments import SegmentManifest
from governance.audit._verify import ChainSummary, verify_audit_log
from governance.audit._workers import (
    MAX_WORKERS,
    WORKERS_MANIFEST,
    ChainVerdict,
    WorkerSet,
    holds_single_chain,
    read_worker_set,
    verify_worker_set,
    worker_chain_name,
    worker_set_head,
    write_worker_set,
)

__all__ = [
    "DEFAULT_SECRET_FIELDS",
    "GENESIS_HASH",
    "MAX_WORKERS",
    "SECRET_MARKER",
    "WORKERS_MANIFEST",
    "AuditChainError",
    "AuditEventError",
    "AuditHead",
    "AuditHeadMismatch",
    "AuditListener",
    "AuditLog",
    "AuditLogLocked",
    "AuditLogTruncated",
    "AuditLogUnavailable",
    "AuditRecordEdited",
    "AuditRecordMalformed",
    "AuditRecordOutOfOrder",
    "AuditSegmentError",
    "AuditWriteError",
    "ChainSummary",
    "ChainVerdict",
    "EventReader",
    "MaskingRules",
    "SegmentManifest",
    "SegmentPolicy",
    "WorkerSet",
    "iter_events",
    "holds_single_chain",
    "read_worker_set",
    "recover_audit_log",
    "verify_audit_log",
    "verify_worker_set",
    "worker_chain_name",
    "worker_set_head",
    "write_worker_set",
]
