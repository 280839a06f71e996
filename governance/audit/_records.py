"""The record format of the audit chain: canonical bytes, hashes, heads.

A record on disk is one line::

    {"kind":"attempt","prev_hash":"…","seq":7,"ts":"2025-01-01T00:00:00.000000Z",…,"hash":"…"}

Everything before ``"hash"`` is the *canonical body*: the record without ``hash`` serialized by
orjson with sorted keys and no whitespace; ``hash`` is the hex sha256 of that body. The ``hash``
member is appended last so a writer serializes each record once and a verifier can compare the
line byte for byte with the canonical form it recomputes (a re-spaced or re-escaped line is an
edit even when it parses to the same value).

>>> body = canonical_body({"seq": 0, "ts": "t", "prev_hash": GENESIS_HASH, "kind": "phase"})
>>> line = record_line(body, record_hash(body))
>>> line.endswith(b'"}\\n') and len(record_hash(body)) == 64
True
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict

from governance.audit._errors import AuditEventError

# prev_hash of record 0. Fixed and documented so third parties can verify a log by hand.
GENESIS_HASH = "0" * 64

# Members the log itself owns; an event may not set them (``refs``: compacted parts, see
# governance.audit._compact).
RESERVED_KEYS = frozenset({"seq", "ts", "prev_hash", "hash", "refs"})

# Kinds of record the log writes itself: a content-addressed part of later records (``blob``),
# the first record of a segment (``segment``), a period the log could not write
# (``audit_outage``). An event may not claim them.
BLOB_KIND = "blob"
SEGMENT_KIND = "segment"
OUTAGE_KIND = "audit_outage"
RESERVED_KINDS = frozenset({BLOB_KIND, SEGMENT_KIND, OUTAGE_KIND})

_DUMPS_OPTIONS = orjson.OPT_SORT_KEYS
_HASH_PREFIX = b',"hash":"'
_HASH_SUFFIX = b'"}\n'


class AuditHead(BaseModel):
    """The last record of a chain: its seq and hash. ``seq == -1`` is the empty chain."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    seq: int
    hash: str

    @classmethod
    def empty(cls) -> AuditHead:
        return cls(seq=-1, hash=GENESIS_HASH)


def canonical_body(record: dict[str, Any]) -> bytes:
    """Serialize a record (without ``hash``) canonically.

    Raises :class:`AuditEventError` when a value is not JSON (non-string keys, integers beyond
    64 bits, unknown types).
    """
    try:
        return orjson.dumps(record, option=_DUMPS_OPTIONS)
    except TypeError as exc:  # orjson.JSONEncodeError subclasses TypeError
        raise AuditEventError(f"audit event is not JSON-serializable: {exc}") from exc


def record_hash(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def record_line(body: bytes, digest: str) -> bytes:
    """The on-disk line: the canonical body with ``"hash"`` appended as its last member."""
    return b"".join((body[:-1], _HASH_PREFIX, digest.encode("ascii"), _HASH_SUFFIX))


# (whole second, its "YYYY-MM-DDTHH:MM:SS"), replaced as one tuple (threads share it)
_second: tuple[int, str] = (-1, "")


def _set_second(whole: int, prefix: str) -> None:
    global _second
    _second = (whole, prefix)


def utc_timestamp(epoch_s: float) -> str:
    """RFC 3339 UTC with microseconds, e.g. ``2025-01-01T00:00:00.000000Z``.

    The same string as ``datetime.fromtimestamp(epoch_s, UTC)`` formats (microseconds rounded
    half to even, as it rounds), with the second's part formatted once per second."""
    if epoch_s >= 0:
        whole = int(epoch_s)
        us = round((epoch_s - whole) * 1e6)  # exact subtraction, then datetime's rounding
        if us >= 1_000_000:
            whole += 1
            us -= 1_000_000
        sec, prefix = _second
        if sec != whole:
            prefix = datetime.fromtimestamp(whole, UTC).isoformat()[:-6]
            _set_second(whole, prefix)
        return f"{prefix}.{us:06d}Z"
    dt = datetime.fromtimestamp(epoch_s, UTC)
    if dt.year < 1000:  # strftime does not zero-pad such years on every platform
        return dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return dt.isoformat(timespec="microseconds")[:-6] + "Z"
