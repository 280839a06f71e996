"""The audit chain: hash-chained, group-committed, masked JSON Lines (ARCHITECTURE.md,
"Audit log records").

>>> from governance.audit import AuditLog, MaskingRules, verify_audit_log, ChainSummary

- :class:`AuditLog` — ``await AuditLog.open(path, mask=..., group_commit_ms=2.0)``, then
  ``await log.append(event)`` (durable) or ``log.append_nowait(event)``, ``await log.flush()``,
  ``log.head``, ``await log.close()``.
- :func:`verify_audit_log` — verify a file, optionally against an expected head; raises an
  :class:`~governance.errors.AuditChainError` subclass naming the first bad record.
- :func:`recover_audit_log` — cut a torn last line left by a killed writer (what ``open`` does).
- :class:`MaskingRules` — which fields are masked before hashing and writing.
"""

from governance.audit._errors import (
    AuditChainError,
    AuditEventError,
    AuditHeadMismatch,
    AuditLogLocked,
    AuditLogTruncated,
    AuditRecordEdited,
    AuditRecordMalformed,
    AuditRecordOutOfOrder,
    AuditWriteError,
)
from governance.audit._log import AuditLog, recover_audit_log
from governance.audit._masking import DEFAULT_SECRET_FIELDS, SECRET_MARKER, MaskingRules
from governance.audit._records import GENESIS_HASH, AuditHead
from governance.audit._verify import ChainSummary, verify_audit_log

__all__ = [
    "DEFAULT_SECRET_FIELDS",
    "GENESIS_HASH",
    "SECRET_MARKER",
    "AuditChainError",
    "AuditEventError",
    "AuditHead",
    "AuditHeadMismatch",
    "AuditLog",
    "AuditLogLocked",
    "AuditLogTruncated",
    "AuditRecordEdited",
    "AuditRecordMalformed",
    "AuditRecordOutOfOrder",
    "AuditWriteError",
    "ChainSummary",
    "MaskingRules",
    "recover_audit_log",
    "verify_audit_log",
]
