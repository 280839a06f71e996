"""Errors raised by the audit chain.

    GovernanceError
     ├── AuditChainError            the log does not verify (exit 1); carries ``seq`` and ``reason``
     │    ├── AuditRecordMalformed  a line is not a JSON object of the record shape
     │    ├── AuditRecordEdited     a record's bytes do not hash to its ``hash`` (or are not canonical)
     │    ├── AuditRecordOutOfOrder a seq is missing, repeated or out of order; a prev_hash is wrong
     │    ├── AuditLogTruncated     a torn last line, or the file ends before the expected head
     │    ├── AuditHeadMismatch     the chain is intact but its head is not the expected one
     │    └── AuditSegmentError     a segment of a directory is missing, reordered, renamed,
     │                              edited (its manifest's sha256) or its manifest disagrees
     ├── AuditEventError            an event cannot be recorded (reserved key, not JSON) (exit 2)
     └── AuditWriteError            the log cannot be written; the log fails closed (exit 2)
          ├── AuditLogLocked        another process holds the log open for appending
          └── AuditLogUnavailable   a record cannot be made durable now (ENOSPC, EIO, EROFS…);
                                    appends are refused until a retried write succeeds
"""

from __future__ import annotations

from governance.errors import AuditChainError, GovernanceError, Location

__all__ = [
    "AuditChainError",
    "AuditEventError",
    "AuditHeadMismatch",
    "AuditLogLocked",
    "AuditLogTruncated",
    "AuditRecordEdited",
    "AuditRecordMalformed",
    "AuditRecordOutOfOrder",
    "AuditSegmentError",
    "AuditLogUnavailable",
    "AuditWriteError",
]


class _ChainError(AuditChainError):
    """An :class:`AuditChainError` that knows which record is first bad and why."""

    reason: str = "broken"

    def __init__(
        self,
        message: str,
        *,
        seq: int | None,
        location: Location | None = None,
        reason: str | None = None,
    ) -> None:
        super().__init__(message, location=location)
        self.seq = seq
        if reason is not None:
            self.reason = reason


class AuditRecordMalformed(_ChainError):
    code = "audit_record_malformed"
    reason = "malformed"


class AuditRecordEdited(_ChainError):
    code = "audit_record_edited"
    reason = "edited"


class AuditRecordOutOfOrder(_ChainError):
    """``reason`` is one of ``deleted``, ``reordered``, ``duplicated``, ``chain_broken``."""

    code = "audit_record_out_of_order"
    reason = "reordered"


class AuditLogTruncated(_ChainError):
    code = "audit_log_truncated"
    reason = "truncated"


class AuditHeadMismatch(_ChainError):
    code = "audit_head_mismatch"
    reason = "head_mismatch"


class AuditSegmentError(_ChainError):
    """``reason``: ``segment_missing``, ``segment_reordered``, ``segment_edited``,
    ``manifest_mismatch``, ``segment_unreadable``, ``unexpected_file``."""

    code = "audit_segment_invalid"
    reason = "segment_missing"


class AuditEventError(GovernanceError):
    code = "audit_event_invalid"
    exit_code = 2


class AuditWriteError(GovernanceError):
    code = "audit_write_failed"
    exit_code = 2


class AuditLogLocked(AuditWriteError):
    code = "audit_log_locked"


class AuditLogUnavailable(AuditWriteError):
    """The log cannot make records durable right now; it retries by itself. ``errno_name`` is
    the failing call's errno (``ENOSPC``, ``EIO``, ``EROFS``…)."""

    code = "audit_unavailable"

    def __init__(self, message: str, *, errno_name: str = "", location: Location | None = None
                 ) -> None:
        super().__init__(message, location=location)
        self.errno_name = errno_name
