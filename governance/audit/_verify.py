"""Verifying an audit chain, pinpointing the first bad record.

>>> import tempfile, pathlib
>>> p = pathlib.Path(tempfile.mkdtemp()) / "empty.jsonl"; _ = p.write_bytes(b"")
>>> verify_audit_log(p).count
0

Checks, in order, for each line (line ``n`` holds seq ``n - 1`` in an intact log):

1. the line ends with a newline, else the log is *truncated* (a torn last write);
2. it is a JSON object with a string ``hash`` and an integer ``seq``, else *malformed*;
3. it is byte-for-byte the canonical form of its own content, and the sha256 of its canonical
   body equals ``hash``, else *edited*;
4. ``seq`` is the next number, else *deleted* (a gap), *duplicated* (the previous record again)
   or *reordered*;
5. ``prev_hash`` is the previous record's ``hash`` (``GENESIS_HASH`` for seq 0), else the chain
   is broken (a record was replaced and re-hashed, or inserted).

With ``expected_head`` (recorded elsewhere, e.g. in a signed report) the log must end exactly
there: ending earlier is *truncated*, ending elsewhere is a *head mismatch*. Without it, removing
whole records from the end cannot be detected — that is what the expected head is for.

Speed matters (≥ 100,000 records/s): the loop uses orjson and hashlib directly and builds no
pydantic model per record.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict

from governance.audit._errors import (
    AuditHeadMismatch,
    AuditLogTruncated,
    AuditRecordEdited,
    AuditRecordMalformed,
    AuditRecordOutOfOrder,
)
from governance.audit._records import GENESIS_HASH, AuditHead
from governance.errors import Location

_SORT = orjson.OPT_SORT_KEYS
_HASH_PREFIX = b',"hash":"'
_HASH_SUFFIX = b'"}\n'


class ChainSummary(BaseModel):
    """What a verified chain holds. ``head`` is :meth:`AuditHead.empty` for an empty log."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    count: int
    first_seq: int | None
    last_seq: int | None
    head_hash: str
    head: AuditHead
    torn_tail_bytes: int = 0  # only non-zero from the open-for-append recovery scan


def verify_audit_log(
    path: str | os.PathLike[str],
    expected_head: AuditHead | Mapping[str, Any] | str | None = None,
) -> ChainSummary:
    """Verify the whole chain in ``path``; return its summary.

    ``expected_head`` may be an :class:`AuditHead` (seq and hash), a mapping with ``seq`` and
    ``hash`` (as read from a report), or just a head hash.

    Raises :class:`~governance.errors.AuditChainError` (one of its subclasses in
    :mod:`governance.audit`) with ``Location(file, line)``, ``seq`` and ``reason`` for the first
    bad record; ``FileNotFoundError``-style problems as :class:`AuditRecordMalformed`.
    """
    if isinstance(expected_head, Mapping):
        expected_head = AuditHead.model_validate(dict(expected_head))
    return scan_chain(path, tolerate_torn_tail=False, expected_head=expected_head)


def scan_chain(
    path: str | os.PathLike[str],
    *,
    tolerate_torn_tail: bool,
    expected_head: AuditHead | str | None = None,
) -> ChainSummary:
    """The verification loop. With ``tolerate_torn_tail`` an incomplete last line is reported
    in ``torn_tail_bytes`` instead of raising (used when reopening a log for appending)."""
    label = str(path)
    if isinstance(expected_head, str):
        want_seq: int | None = None
        want_hash: str | None = expected_head
    elif expected_head is not None:
        want_seq, want_hash = expected_head.seq, expected_head.hash
    else:
        want_seq = want_hash = None
    seen_want_at: int | None = None  # seq at which the expected hash was seen, if any

    loads, dumps, sha256 = orjson.loads, orjson.dumps, hashlib.sha256
    expected = 0
    prev_hash = GENESIS_HASH
    lineno = 0
    torn = 0
    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed below; a with-block costs nothing here
    except OSError as exc:
        raise AuditRecordMalformed(
            f"cannot read audit log: {exc.strerror or exc}", seq=None, location=Location(label)
        ) from exc
    with handle:
        for line in handle:
            lineno += 1
            if line[-1:] != b"\n":
                if tolerate_torn_tail:
                    torn = len(line)
                    break
                raise AuditLogTruncated(
                    f"line {lineno} is incomplete (no newline): the log was truncated or its last"
                    f" write was torn; records up to seq {expected - 1} are intact",
                    seq=expected,
                    location=Location(label, lineno),
                )
            try:
                record = loads(line)
            except orjson.JSONDecodeError as exc:
                raise AuditRecordMalformed(
                    f"record at line {lineno} (expected seq {expected}) is not valid JSON: it was"
                    f" edited or corrupted ({exc})",
                    seq=expected,
                    location=Location(label, lineno),
                    reason="edited",
                ) from exc
            if type(record) is not dict:
                raise AuditRecordMalformed(
                    f"record at line {lineno} (expected seq {expected}) is not a JSON object",
                    seq=expected,
                    location=Location(label, lineno),
                    reason="edited",
                )
            claimed = record.pop("hash", None)
            seq = record.get("seq")
            if type(claimed) is not str or type(seq) is not int:
                raise AuditRecordMalformed(
                    f"record at line {lineno} (expected seq {expected}) lacks a string 'hash' or"
                    " an integer 'seq': it was edited",
                    seq=expected,
                    location=Location(label, lineno),
                    reason="edited",
                )
            body = dumps(record, option=_SORT)
            rebuilt = b"".join(
                (body[:-1], _HASH_PREFIX, claimed.encode("ascii", "replace"), _HASH_SUFFIX)
            )
            if rebuilt != line:
                raise AuditRecordEdited(
                    f"record seq {expected} (line {lineno}) is not in canonical form: it was"
                    " edited",
                    seq=expected,
                    location=Location(label, lineno),
                )
            if sha256(body).hexdigest() != claimed:
                raise AuditRecordEdited(
                    f"record seq {expected} (line {lineno}) does not match its hash: it was"
                    " edited",
                    seq=expected,
                    location=Location(label, lineno),
                )
            if seq != expected:
                _raise_out_of_order(label, lineno, expected, seq, claimed, prev_hash)
            if record.get("prev_hash") != prev_hash:
                raise AuditRecordOutOfOrder(
                    f"record seq {seq} (line {lineno}) does not link to the hash of seq"
                    f" {seq - 1}: a record before it was replaced, or it was inserted",
                    seq=seq,
                    location=Location(label, lineno),
                    reason="chain_broken",
                )
            if want_hash is not None and claimed == want_hash:
                seen_want_at = seq
            prev_hash = claimed
            expected += 1

    count = expected
    head = AuditHead(seq=count - 1, hash=prev_hash) if count else AuditHead.empty()
    if want_hash is not None:
        _check_head(label, lineno, head, want_seq, want_hash, seen_want_at)
    return ChainSummary(
        count=count,
        first_seq=0 if count else None,
        last_seq=count - 1 if count else None,
        head_hash=head.hash,
        head=head,
        torn_tail_bytes=torn,
    )


def _raise_out_of_order(
    label: str, lineno: int, expected: int, seq: int, claimed: str, prev_hash: str
) -> None:
    where = Location(label, lineno)
    if seq > expected:
        missing = f"seq {expected}" if seq == expected + 1 else f"seqs {expected}..{seq - 1}"
        raise AuditRecordOutOfOrder(
            f"line {lineno} holds seq {seq} where seq {expected} was expected: {missing}"
            " deleted, or records reordered",
            seq=expected,
            location=where,
            reason="deleted",
        )
    if claimed == prev_hash:
        raise AuditRecordOutOfOrder(
            f"line {lineno} repeats seq {seq}: the record was duplicated",
            seq=expected,
            location=where,
            reason="duplicated",
        )
    raise AuditRecordOutOfOrder(
        f"line {lineno} holds seq {seq} where seq {expected} was expected: records were"
        " reordered or duplicated",
        seq=expected,
        location=where,
        reason="reordered",
    )


def _check_head(
    label: str,
    lineno: int,
    head: AuditHead,
    want_seq: int | None,
    want_hash: str,
    seen_want_at: int | None,
) -> None:
    if head.hash == want_hash and (want_seq is None or head.seq == want_seq):
        return
    end = Location(label, lineno + 1)
    if want_seq is not None and head.seq < want_seq:
        raise AuditLogTruncated(
            f"the log ends at seq {head.seq} but the expected head is seq {want_seq}: records"
            f" {head.seq + 1}..{want_seq} were removed from the end (truncated)",
            seq=head.seq + 1,
            location=end,
        )
    if seen_want_at is not None:
        raise AuditHeadMismatch(
            f"the expected head (seq {seen_want_at}) is followed by {head.seq - seen_want_at}"
            f" more record(s): the log continues past the expected head",
            seq=seen_want_at + 1,
            location=end,
        )
    if want_seq is None:
        raise AuditHeadMismatch(
            f"the log's head (seq {head.seq}, hash {head.hash[:12]}…) is not the expected head"
            f" (hash {want_hash[:12]}…): the log was truncated, replaced or rewritten",
            seq=head.seq,
            location=end,
        )
    raise AuditHeadMismatch(
        f"record seq {min(head.seq, want_seq)} is not the expected head (expected hash"
        f" {want_hash[:12]}…): the log was rewritten from there on or is another chain",
        seq=min(head.seq, want_seq),
        location=end,
    )
