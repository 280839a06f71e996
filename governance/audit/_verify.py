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
from pathlib import Path
from collections.abc import Iterable, Mapping
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
from governance.audit._compact import REF_CHARS
from governance.audit._records import BLOB_KIND, GENESIS_HASH, AuditHead
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
    segments: int = 0  # segment files walked (0: a single-file log)


def verify_audit_log(
    path: str | os.PathLike[str],
    expected_head: AuditHead | Mapping[str, Any] | str | None = None,
) -> ChainSummary:
    """Verify the whole chain in ``path`` — a log file, or a directory of segments
    (:mod:`governance.audit._verify_dir`); return its summary.

    ``expected_head`` may be an :class:`AuditHead` (seq and hash), a mapping with ``seq`` and
    ``hash`` (as read from a report), or just a head hash.

    Raises :class:`~governance.errors.AuditChainError` (one of its subclasses in
    :mod:`governance.audit`) with ``Location(file, line)``, ``seq`` and ``reason`` for the first
    bad record; ``FileNotFoundError``-style problems as :class:`AuditRecordMalformed`.
    """
    if isinstance(expected_head, Mapping):
        expected_head = AuditHead.model_validate(dict(expected_head))
    if os.path.isdir(path):
        from governance.audit._verify_dir import verify_directory

        return verify_directory(Path(path), expected_head)
    return scan_chain(path, tolerate_torn_tail=False, expected_head=expected_head)


class ChainState:
    """Where a scan stands: the next seq, the previous hash, and what the verifier collected
    (the blob table of the current segment, the first record of the current file, retention
    claims). Shared across the files of a segmented log."""

    __slots__ = ("expected", "prev_hash", "blobs", "first", "retained", "seen_want_at",
                 "count", "lines")

    def __init__(self, expected: int = 0, prev_hash: str = GENESIS_HASH) -> None:
        self.expected = expected
        self.prev_hash = prev_hash
        self.blobs: dict[str, Any] = {}
        self.first: dict[str, Any] | None = None
        self.retained: list[dict[str, Any]] = []
        self.seen_want_at: int | None = None
        self.count = 0
        self.lines = 0


def scan_chain(
    path: str | os.PathLike[str],
    *,
    tolerate_torn_tail: bool,
    expected_head: AuditHead | str | None = None,
    blobs: dict[str, Any] | None = None,
) -> ChainSummary:
    """The verification loop over one file. With ``tolerate_torn_tail`` an incomplete last line
    is reported in ``torn_tail_bytes`` instead of raising (used when reopening a log for
    appending). ``blobs``, when given, receives the file's blob table (ref → value): a
    reopened log must not define those refs again."""
    label = str(path)
    want_seq, want_hash = _want(expected_head)
    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed below
    except OSError as exc:
        raise AuditRecordMalformed(
            f"cannot read audit log: {exc.strerror or exc}", seq=None, location=Location(label)
        ) from exc
    state = ChainState()
    if blobs is not None:
        state.blobs = blobs
    with handle:
        torn = scan_lines(handle, label, state, tolerate_torn_tail=tolerate_torn_tail,
                          want_hash=want_hash)
    head = AuditHead(seq=state.expected - 1, hash=state.prev_hash) if state.count \
        else AuditHead.empty()
    if want_hash is not None:
        _check_head(label, state.lines, head, want_seq, want_hash, state.seen_want_at)
    return ChainSummary(
        count=state.count,
        first_seq=0 if state.count else None,
        last_seq=state.expected - 1 if state.count else None,
        head_hash=head.hash,
        head=head,
        torn_tail_bytes=torn,
    )


def _want(expected_head: AuditHead | str | None) -> tuple[int | None, str | None]:
    if isinstance(expected_head, str):
        return None, expected_head
    if expected_head is not None:
        return expected_head.seq, expected_head.hash
    return None, None


def scan_lines(
    lines: Iterable[bytes],
    label: str,
    state: ChainState,
    *,
    tolerate_torn_tail: bool = False,
    want_hash: str | None = None,
) -> int:
    """Verify ``lines`` continuing from ``state`` (updated in place); return the length of a
    torn last line when ``tolerate_torn_tail`` (0 otherwise). Line numbers in errors count
    from 1 within ``lines``. Raises the :class:`AuditChainError` subclasses of the module
    docstring, and :class:`AuditRecordMalformed` (reason ``unresolved_ref``) for a compacted
    reference that names no earlier blob of the segment."""
    loads, dumps, sha256 = orjson.loads, orjson.dumps, hashlib.sha256
    expected = state.expected
    prev_hash = state.prev_hash
    blobs = state.blobs
    first = state.first
    lineno = 0
    torn = 0
    count = 0
    try:
        for line in lines:
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
            if first is None:
                first = state.first = record
            kind = record.get("kind")
            if kind == BLOB_KIND:
                _check_blob(record, blobs, label, lineno, seq)
            elif kind == "retention":
                state.retained.append(record)
            refs = record.get("refs")
            if refs is not None:
                _check_refs(refs, blobs, label, lineno, seq)
            if want_hash is not None and claimed == want_hash:
                state.seen_want_at = seq
            prev_hash = claimed
            expected += 1
            count += 1
    finally:
        state.expected = expected
        state.prev_hash = prev_hash
        state.count += count
        state.lines = lineno
    return torn


def _check_blob(record: dict[str, Any], blobs: dict[str, Any], label: str, lineno: int,
                seq: int) -> None:
    ref, digest = record.get("ref"), record.get("sha256")
    where = Location(label, lineno)
    if type(ref) is not str or type(digest) is not str or "value" not in record:
        raise AuditRecordMalformed(
            f"blob record seq {seq} (line {lineno}) lacks a string 'ref', 'sha256' or a 'value'",
            seq=seq, location=where, reason="malformed")
    actual = hashlib.sha256(orjson.dumps(record["value"], option=_SORT)).hexdigest()
    if actual != digest or len(ref) < REF_CHARS or not digest.startswith(ref):
        raise AuditRecordEdited(
            f"blob record seq {seq} (line {lineno}): its value does not hash to its sha256, or"
            " its ref is not a prefix of that digest",
            seq=seq, location=where)
    if ref in blobs:
        raise AuditRecordMalformed(
            f"blob record seq {seq} (line {lineno}) defines ref {ref} a second time in this"
            " segment: references would be ambiguous",
            seq=seq, location=where, reason="duplicated_ref")
    blobs[ref] = record["value"]


def _check_refs(refs: Any, blobs: dict[str, Any], label: str, lineno: int, seq: int) -> None:
    if type(refs) is not dict:
        raise AuditRecordMalformed(
            f"record seq {seq} (line {lineno}): 'refs' is not an object", seq=seq,
            location=Location(label, lineno), reason="malformed")
    for path, ref in refs.items():
        if type(ref) is not str or ref not in blobs:
            raise AuditRecordMalformed(
                f"record seq {seq} (line {lineno}): reference {path} = {ref!r} names no blob"
                " written earlier in this segment (a blob record was deleted or the segment was"
                " cut)",
                seq=seq, location=Location(label, lineno), reason="unresolved_ref")


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
