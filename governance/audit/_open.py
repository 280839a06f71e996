"""Opening an audit log for appending: lock it, verify what is not sealed, cut a torn tail,
finish interrupted seals. Runs in a worker thread (blocking I/O).

A final line without a newline can only be a write torn before its batch was acknowledged (a
batch is acknowledged after its newline is durable), so it is cut off; every acknowledged
record is kept. Anything else that does not verify raises
:class:`~governance.errors.AuditChainError`: a broken chain is never extended.
"""

from __future__ import annotations

import fcntl
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from pydantic import ValidationError

from governance.audit._errors import AuditLogLocked, AuditSegmentError, AuditWriteError
from governance.audit._records import GENESIS_HASH, AuditHead, utc_timestamp
from governance.audit._segments import (
    LOCK_FILE,
    Compression,
    seal_segment,
    SegmentTail,
    fsync_directory,
    list_segments,
    read_manifest,
    segment_name,
)
from governance.audit._verify import ChainState, ChainSummary, scan_chain, scan_lines
from governance.errors import Location

_sync = getattr(os, "fdatasync", os.fsync)


@dataclass
class OpenedLog:
    lock_fd: int  # holds the flock; for a single file also the file written
    fd: int | None  # the file appended to (None for a directory until a segment opens)
    head: AuditHead
    torn_tail_bytes: int = 0
    next_index: int = 0
    last_segment: tuple[str, AuditHead] | None = None
    unsealed: list[SegmentTail] = field(default_factory=list)
    # a single file's blob table (ref → value): its compacted values are not written again
    blobs: dict[str, Any] = field(default_factory=dict)


def _lock(fd: int, path: Path) -> None:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError as exc:
        raise AuditLogLocked("audit log is held open by another process",
                             location=Location(str(path))) from exc


def open_file(path: Path) -> OpenedLog:
    """Open (or create) a single-file log, lock it, verify it, cut a torn tail."""
    created = not path.exists()
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o640)
    except OSError as exc:
        raise AuditWriteError(
            f"cannot open audit log: {exc.strerror or exc}", location=Location(str(path))
        ) from exc
    try:
        _lock(fd, path)
        if created:
            fsync_directory(path.parent)
        blobs: dict[str, Any] = {}
        summary = scan_chain(path, tolerate_torn_tail=True, blobs=blobs)
        if summary.torn_tail_bytes:
            size = os.fstat(fd).st_size
            os.ftruncate(fd, size - summary.torn_tail_bytes)
            _sync(fd)
        head = summary.head if summary.count else AuditHead(seq=-1, hash=GENESIS_HASH)
        return OpenedLog(lock_fd=fd, fd=fd, head=head, torn_tail_bytes=summary.torn_tail_bytes,
                         blobs=blobs)
    except BaseException:
        os.close(fd)
        raise


def open_directory(directory: Path) -> OpenedLog:
    """Open (or create) a segment directory: lock it, settle interrupted seals, verify and
    repair the unsealed segments; they are returned in ``unsealed`` for sealing."""
    try:
        created = not directory.exists()
        directory.mkdir(parents=True, exist_ok=True)
        if created:
            fsync_directory(directory.parent)
        lock_fd = os.open(directory / LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o640)
    except OSError as exc:
        raise AuditWriteError(f"cannot open audit directory: {exc.strerror or exc}",
                              location=Location(str(directory))) from exc
    try:
        _lock(lock_fd, directory)
        return _settle(directory, lock_fd)
    except BaseException:
        os.close(lock_fd)
        raise


def _settle(directory: Path, lock_fd: int) -> OpenedLog:
    try:
        for entry in os.listdir(directory):
            if entry.endswith(".tmp"):
                (directory / entry).unlink()  # an interrupted seal or manifest write
        found, _ = list_segments(directory)
    except OSError as exc:
        raise AuditWriteError(f"cannot read audit directory: {exc.strerror or exc}",
                              location=Location(str(directory))) from exc
    head = AuditHead.empty()
    last: tuple[str, AuditHead] | None = None
    unsealed: list[SegmentTail] = []
    torn_total = 0
    next_index = 0
    indices = sorted(found)
    for index in indices:
        files = found[index]
        name = segment_name(index)
        if files.manifest is not None:
            try:
                manifest = read_manifest(files.manifest)
            except (OSError, orjson.JSONDecodeError, ValidationError) as exc:
                raise AuditSegmentError(f"manifest {files.manifest.name} is unreadable: {exc}",
                                        seq=None, location=Location(str(files.manifest)),
                                        reason="segment_unreadable") from exc
            if files.active is not None:  # the seal finished but for removing the plain file
                files.active.unlink()
                fsync_directory(directory)
            head = AuditHead(seq=manifest.last_seq, hash=manifest.head_hash)
            last = (name, head)
            next_index = index + 1
            continue
        if files.active is None:
            if files.sealed is not None:
                raise AuditSegmentError(
                    f"{files.sealed.name} has no manifest and no plain segment beside it",
                    seq=None, location=Location(str(files.sealed)), reason="manifest_mismatch")
            continue  # only a shipping receipt left: the segment was deleted by retention
        if files.sealed is not None:  # compressed but the manifest never written: redo
            files.sealed.unlink()
        tail, torn = _recover_plain(files.active, index, head if last else None,
                                    tolerate_torn=index == indices[-1])
        torn_total += torn
        if tail is None:  # created, nothing acknowledged in it
            files.active.unlink()
            fsync_directory(directory)
            continue
        unsealed.append(tail)
        head = AuditHead(seq=tail.last_seq, hash=tail.head_hash)
        last = (name, head)
        next_index = index + 1
    return OpenedLog(lock_fd=lock_fd, fd=None, head=head, torn_tail_bytes=torn_total,
                     next_index=next_index, last_segment=last, unsealed=unsealed)


def _recover_plain(path: Path, index: int, previous: AuditHead | None,
                   tolerate_torn: bool) -> tuple[SegmentTail | None, int]:
    """Verify an unsealed segment (continuing from ``previous``), cut a torn tail."""
    if previous is not None:
        state = ChainState(previous.seq + 1, previous.hash)
    else:  # the first segment present (older ones deleted by retention, or none)
        state = ChainState()
        try:
            with open(path, "rb") as handle:
                first = orjson.loads(handle.readline())
            if isinstance(first, dict) and type(first.get("seq")) is int:
                state = ChainState(first["seq"], str(first.get("prev_hash")))
        except (OSError, orjson.JSONDecodeError):
            pass  # the scan below reports it
    try:
        handle = open(path, "rb")  # noqa: SIM115
    except OSError as exc:
        raise AuditWriteError(f"cannot read segment: {exc.strerror or exc}",
                              location=Location(str(path))) from exc
    with handle:
        start_seq, start_hash = state.expected, state.prev_hash
        torn = scan_lines(handle, str(path), state, tolerate_torn_tail=tolerate_torn)
    if torn:
        fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
        try:
            os.ftruncate(fd, os.fstat(fd).st_size - torn)
            _sync(fd)
        finally:
            os.close(fd)
    if state.count == 0:
        return None, torn
    return SegmentTail(index=index, first_seq=start_seq, last_seq=state.expected - 1,
                       prev_hash=start_hash, head_hash=state.prev_hash), torn


def recover_audit_log(path: str | os.PathLike[str]) -> ChainSummary:
    """Cut a torn final line left by a crashed writer (and, for a segment directory, finish
    interrupted seals and seal what was left unsealed), then return the verified summary.

    The same steps :meth:`AuditLog.open` takes, for readers that do not append (e.g. a harness
    collecting the log of a gateway that was killed). ``torn_tail_bytes`` says what was cut.
    Raises :class:`AuditLogLocked` while a writer holds the log, :class:`AuditWriteError`, and
    :class:`~governance.errors.AuditChainError` if the chain does not verify.
    """
    from governance.audit._verify import verify_audit_log

    target = Path(path)
    if not target.exists():
        raise AuditWriteError("audit log does not exist", location=Location(str(target)))
    if target.is_dir():
        opened = open_directory(target)
        try:
            compression = _compression_of(target)
            for tail in opened.unsealed:
                seal_segment(target, tail, compression, lambda: utc_timestamp(time.time()))
        except OSError as exc:
            raise AuditWriteError(f"cannot seal segment: {exc.strerror or exc}",
                                  location=Location(str(target))) from exc
        finally:
            fcntl.flock(opened.lock_fd, fcntl.LOCK_UN)
            os.close(opened.lock_fd)
        summary = verify_audit_log(target)
        return summary.model_copy(update={"torn_tail_bytes": opened.torn_tail_bytes})
    opened = open_file(target)
    try:
        fcntl.flock(opened.lock_fd, fcntl.LOCK_UN)
    finally:
        os.close(opened.lock_fd)
    summary = scan_chain(target, tolerate_torn_tail=False)
    return summary.model_copy(update={"torn_tail_bytes": opened.torn_tail_bytes})


def _compression_of(directory: Path) -> Compression:
    """The compression the directory's sealed segments use (gzip when there are none)."""
    for entry in sorted(os.listdir(directory), reverse=True):
        if entry.endswith(".jsonl.zst"):
            return "zstd"
        if entry.endswith(".jsonl.gz"):
            return "gzip"
    return "gzip"
