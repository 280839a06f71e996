"""Verifying a directory of segments: one chain across files, every segment accounted for.

>>> import tempfile, pathlib
>>> verify_directory(pathlib.Path(tempfile.mkdtemp())).count
0

Walks the segments in index order (:mod:`governance.audit._segments`) and, on top of the record
checks of :func:`governance.audit.verify_audit_log` (which run across file boundaries, as one
chain), checks for each segment:

1. a sealed segment's file has the sha256 of its manifest — else it was **edited** (the record
   checks then name the first bad record when they can);
2. its first record is the ``segment`` record naming this very segment — else segments were
   **renamed or reordered** — and naming the previous segment with its head;
3. its manifest's first/last seq, record count and head hash are what the file holds;
4. no index is skipped — a **missing** segment is allowed only where a ``retention`` record
   later in the chain says it was deleted, with the seq range and head it had (before the first
   segment present, the one right before it must be accounted for: its record links the chain);
5. only segment files are present (an unknown file is reported, not ignored).

An unsealed ``.jsonl`` segment (the active one, or one whose seal was interrupted) is verified
as plain lines. Errors are :class:`~governance.audit.AuditSegmentError` (or the record errors)
with the segment file as location.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
from pydantic import ValidationError

from governance.audit._errors import AuditSegmentError
from governance.audit._records import SEGMENT_KIND, AuditHead
from governance.audit._segments import (
    SegmentFiles,
    SegmentManifest,
    list_segments,
    open_lines,
    read_manifest,
    segment_name,
    sha256_file,
)
from governance.audit._verify import ChainState, ChainSummary, _check_head, _want, scan_lines
from governance.errors import AuditChainError, Location


def verify_directory(directory: Path, expected_head: AuditHead | str | None = None
                     ) -> ChainSummary:
    """Verify every segment of ``directory`` as one chain. Raises
    :class:`~governance.errors.AuditChainError` subclasses naming the segment file (and line)."""
    want_seq, want_hash = _want(expected_head)
    try:
        found, other = list_segments(directory)
    except OSError as exc:
        raise AuditSegmentError(f"cannot list the audit directory: {exc.strerror or exc}",
                                seq=None, location=Location(str(directory)),
                                reason="segment_unreadable") from exc
    if other:
        raise AuditSegmentError(
            f"{other[0]} is not a segment file: only audit-NNNNNN.* files belong in an audit"
            " directory", seq=None, location=Location(str(directory / other[0])),
            reason="unexpected_file")
    state = ChainState()
    gaps: list[tuple[list[str], dict[str, Any], str]] = []
    prev_index = -1
    prev_name: str | None = None
    first_seq: int | None = None
    label = str(directory)
    walked = 0
    for index in sorted(found):
        files = found[index]
        name = files.name
        path, manifest = _pick(directory, files)
        label = str(path)
        walked += 1
        state.blobs = {}
        state.first = None
        before = state.expected
        gap = index != prev_index + 1
        if gap:
            head = _peek(path)
            if head is not None:
                state.expected, state.prev_hash = head
        digest_ok = manifest is None or sha256_file(path) == manifest.sha256
        try:
            _scan_file(path, state)
        except AuditChainError:
            raise  # the record checks pinpoint an edited sealed segment
        if not digest_ok:
            raise AuditSegmentError(
                f"{path.name} does not have the sha256 its manifest records: the sealed segment"
                " was replaced or re-compressed", seq=state.first.get("seq") if state.first
                else None, location=Location(label), reason="segment_edited")
        hdr = state.first
        if hdr is None:
            if manifest is not None or index != max(found):
                raise AuditSegmentError(f"{path.name} holds no record: a segment starts with"
                                        " its segment record", seq=before,
                                        location=Location(label), reason="segment_edited")
            continue  # an active segment created just before a crash, not yet written
        _check_header(hdr, name, prev_name, label, gap)
        if first_seq is None:
            first_seq = hdr["seq"]
        if gap:
            missing = [segment_name(i) for i in range(prev_index + 1, index)]
            gaps.append((missing, hdr, label))
        if manifest is not None:
            _check_manifest(manifest, hdr, state, label)
        prev_index, prev_name = index, name
    _check_gaps(gaps, state.retained)
    count = state.count
    head = AuditHead(seq=state.expected - 1, hash=state.prev_hash) if count else AuditHead.empty()
    if want_hash is not None:
        _check_head(label, state.lines, head, want_seq, want_hash, state.seen_want_at)
    return ChainSummary(count=count, first_seq=first_seq, last_seq=head.seq if count else None,
                        head_hash=head.hash, head=head, segments=walked)


def _pick(directory: Path, files: SegmentFiles) -> tuple[Path, SegmentManifest | None]:
    """The file that holds the segment's records, and its manifest when sealed."""
    where = Location(str(files.manifest or files.sealed or files.active or directory))
    if files.extra_sealed:
        raise AuditSegmentError(
            f"{files.name} has two sealed files ({files.sealed.name if files.sealed else ''},"
            f" {files.extra_sealed[0].name})", seq=None, location=where,
            reason="segment_edited")
    if files.manifest is None:
        if files.active is None:
            raise AuditSegmentError(
                f"{files.name} is sealed but has no manifest (and no plain file)", seq=None,
                location=where, reason="manifest_mismatch")
        return files.active, None  # a sealed file without manifest is an interrupted seal
    try:
        manifest = read_manifest(files.manifest)
    except (OSError, orjson.JSONDecodeError, ValidationError) as exc:
        raise AuditSegmentError(f"manifest {files.manifest.name} is unreadable: {exc}",
                                seq=None, location=where, reason="segment_unreadable") from exc
    if manifest.segment != files.name or files.sealed is None \
            or manifest.file != files.sealed.name:
        raise AuditSegmentError(
            f"manifest {files.manifest.name} describes {manifest.segment} in {manifest.file},"
            f" but the sealed file here is {files.sealed.name if files.sealed else 'missing'}",
            seq=None, location=where, reason="manifest_mismatch")
    return directory / manifest.file, manifest


def _scan_file(path: Path, state: ChainState) -> None:
    try:
        handle = open_lines(path)
    except (OSError, ImportError) as exc:
        raise AuditSegmentError(f"cannot read {path.name}: {exc}", seq=state.expected,
                                location=Location(str(path)), reason="segment_unreadable") from exc
    try:
        with handle:
            scan_lines(handle, str(path), state)
    except (OSError, EOFError) as exc:  # a corrupt gzip/zstd stream
        raise AuditSegmentError(f"{path.name} cannot be decompressed: {exc}", seq=state.expected,
                                location=Location(str(path)), reason="segment_edited") from exc


def _peek(path: Path) -> tuple[int, str] | None:
    """The seq and prev_hash of a segment's first record (after a gap), if readable."""
    try:
        with open_lines(path) as handle:
            first = orjson.loads(handle.readline())
    except Exception:
        return None  # the scan reports what is wrong with it
    if isinstance(first, dict) and type(first.get("seq")) is int \
            and isinstance(first.get("prev_hash"), str):
        return first["seq"], first["prev_hash"]
    return None


def _check_header(hdr: dict[str, Any], name: str, prev_name: str | None, label: str,
                  gap: bool) -> None:
    where = Location(label, 1)
    seq = hdr.get("seq")
    if hdr.get("kind") != SEGMENT_KIND:
        raise AuditSegmentError(f"the first record of {name} (seq {seq}) is not its segment"
                                " record: the segment was cut or edited", seq=seq,
                                location=where, reason="segment_edited")
    if hdr.get("segment") != name:
        raise AuditSegmentError(
            f"file of {name} holds segment {hdr.get('segment')!r}: segments were renamed or"
            " reordered", seq=seq, location=where, reason="segment_reordered")
    previous = hdr.get("previous")
    if gap:
        return  # checked against the retention records at the end
    if prev_name is None:
        if previous is not None:
            raise AuditSegmentError(
                f"{name} says it follows {previous.get('segment')!r}, which is missing",
                seq=seq, location=where, reason="segment_missing")
        return
    if not isinstance(previous, dict) or previous.get("segment") != prev_name \
            or previous.get("hash") != hdr.get("prev_hash"):
        raise AuditSegmentError(
            f"{name} does not name {prev_name} and its head as its predecessor: segments were"
            " reordered or replaced", seq=seq, location=where, reason="segment_reordered")


def _check_manifest(manifest: SegmentManifest, hdr: dict[str, Any], state: ChainState,
                    label: str) -> None:
    facts = {"first_seq": hdr["seq"], "last_seq": state.expected - 1,
             "records": state.expected - hdr["seq"], "head_hash": state.prev_hash,
             "prev_hash": hdr.get("prev_hash")}
    for key, actual in facts.items():
        if getattr(manifest, key) != actual:
            raise AuditSegmentError(
                f"manifest of {manifest.segment} says {key} = {getattr(manifest, key)!r} but the"
                f" segment holds {actual!r}", seq=hdr["seq"], location=Location(label),
                reason="manifest_mismatch")


def _check_gaps(gaps: list[tuple[list[str], dict[str, Any], str]],
                retained: list[dict[str, Any]]) -> None:
    claims: dict[str, dict[str, Any]] = {}
    for record in retained:
        for item in record.get("deleted") or ():
            if isinstance(item, dict) and isinstance(item.get("segment"), str):
                claims[item["segment"]] = item
    for missing, hdr, label in gaps:
        seq = hdr["seq"]
        # Before the first segment present only the link matters (older retention records may
        # themselves have been deleted since); a hole in the middle must be claimed entirely.
        leading = missing[0] == segment_name(0)
        unclaimed = [m for m in (missing[-1:] if leading else missing) if m not in claims]
        last = claims.get(missing[-1])
        linked = last is not None and last.get("last_seq") == seq - 1 \
            and last.get("head_hash") == hdr.get("prev_hash")
        previous = hdr.get("previous") or {}
        if unclaimed or not linked or previous.get("segment") != missing[-1]:
            what = unclaimed[0] if unclaimed else missing[-1]
            raise AuditSegmentError(
                f"segment {what} is missing (before {hdr.get('segment')}, whose first record is"
                f" seq {seq}) and no retention record accounts for it: it was deleted or lost",
                seq=seq - 1, location=Location(label, 1), reason="segment_missing")
