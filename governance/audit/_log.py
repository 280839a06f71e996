"""The append side of the audit chain: an async, group-committed, hash-chained JSON Lines log,
in one file or in a directory of rotating, compressed segments.

>>> import asyncio, tempfile, pathlib
>>> async def demo(path):
...     log = await AuditLog.open(path, mask=MaskingRules(fields=("prompt",)))
...     seq = await log.append({"kind": "phase", "name": "steady-state", "prompt": "secret"})
...     await log.close()
...     return seq
>>> asyncio.run(demo(pathlib.Path(tempfile.mkdtemp()) / "audit.jsonl"))
0

Durability (invariant 3). ``append`` returns only after the batch holding the record was written
and ``fdatasync``-ed, so an acknowledged record survives ``kill -9`` and power loss.
``append_nowait`` assigns the seq and chains the record at once (so order is call order) and
leaves it to the next group commit; ``wait_durable(seq)`` / ``flush`` wait for it.

Group commit. One writer thread owns the file (:mod:`governance.audit._writer`): the first record
after a commit rings its bell, more records join for at most ``group_commit_ms`` — or until
someone awaits durability — then the whole batch is written with one ``write`` and one
``fdatasync``; what arrives meanwhile forms the next batch.

Segments (``segments=SegmentPolicy(...)``; ``path`` is then a directory). Before a record is
chained, a segment that reached ``max_segment_bytes`` or ``max_segment_age_s`` is closed and a new
one opened; its first record is a ``segment`` record naming it and its predecessor with the
predecessor's head, chained to that head. A closed segment is sealed (compressed, manifest) by a
sealer thread (:mod:`governance.audit._segments`). An idle segment past its age is closed without
opening the next one until a record arrives.

Compaction (``compact=("input.candidates", "result")``): :mod:`governance.audit._compact`.

Failure (fail safe). If a write or sync fails (ENOSPC, EIO, EROFS…), the records not yet durable
are kept, in order, and retried every ``retry_ms`` (the file is first cut back to its last durable
size, so a torn write is never extended); meanwhile durability waiters get
:class:`AuditLogUnavailable` and ``append_nowait`` refuses new events with it. When a retried
write succeeds the log is available again and records an ``audit_outage`` event (when, why, how
many events it refused). The ``listener`` hears each transition (from the writer thread).

Reopening verifies the unsealed part of the chain (fail closed: a broken chain is never
extended), cuts a torn last line (a batch is acknowledged only after its newline is durable,
so a torn line was never acknowledged) and finishes any interrupted seal. A log is used from
one event loop; only one process may hold it open (``flock``): a second gets
:class:`AuditLogLocked`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field

from governance.audit._compact import Interner, parse_paths
from governance.audit._errors import AuditEventError, AuditLogUnavailable, AuditWriteError
from governance.audit._masking import MaskingRules
from governance.audit._open import OpenedLog, open_directory, open_file
from governance.audit._records import (
    OUTAGE_KIND,
    RESERVED_KEYS,
    RESERVED_KINDS,
    SEGMENT_KIND,
    AuditHead,
    canonical_body,
    record_hash,
    record_line,
    utc_timestamp,
)
from governance.audit._segments import Compression, SegmentManifest, SegmentTail, segment_name
from governance.audit._writer import BatchWriter, Close, Open
from governance.errors import Location

logger = logging.getLogger("govchaos.audit")


class SegmentPolicy(BaseModel):
    """When segments rotate and how sealed ones are compressed."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_segment_bytes: int | None = Field(64 * 1024 * 1024, gt=0)
    max_segment_age_s: float | None = Field(3600.0, gt=0)
    compression: Compression = "gzip"


class AuditListener(Protocol):
    """Hears the log's state changes. Called from the log's threads: be quick, be thread-safe."""

    def unavailable(self, error: AuditLogUnavailable) -> None: ...
    def available(self, outage_s: float) -> None: ...
    def sealed(self, manifest: SegmentManifest) -> None: ...


class AuditLog:
    """An open, appendable audit chain. Create it with :meth:`open`."""

    def __init__(self, path: Path, opened: OpenedLog, mask: MaskingRules, group_commit_s: float,
                 clock: Callable[[], float], segments: SegmentPolicy | None,
                 compact: tuple[str, ...], retry_s: float,
                 listener: AuditListener | None) -> None:
        self.path = path
        self._mask = mask
        self._clock = clock
        self._segments = segments
        self.torn_tail_bytes = opened.torn_tail_bytes
        head = opened.head
        self._next_seq = head.seq + 1
        self._prev_hash = head.hash
        self._interner = Interner(parse_paths(compact)) if compact else None
        if self._interner is not None and opened.blobs:
            self._interner.seed(opened.blobs)  # a single file continued: its blobs stay valid
        self._loop = asyncio.get_running_loop()
        self._closing = False
        self._closed = False
        self.refused = 0  # events refused while unavailable, since the last outage record
        # segment state (loop thread)
        self._seg_index = opened.next_index - 1
        self._seg_open = False
        self._seg_bytes = 0
        self._seg_started = 0.0
        self._seg_first_seq = 0
        self._seg_prev_hash = head.hash
        self._last_segment = opened.last_segment  # (name, head) of the last closed segment
        self._age_timer: asyncio.TimerHandle | None = None
        self._writer = BatchWriter(
            path, opened.fd, head, self._loop, group_commit_s, retry_s, lock_fd=opened.lock_fd,
            compression=segments.compression if segments else None,
            now=lambda: utc_timestamp(clock()), listener=listener,
            on_recovered=self._recovered,
        )
        for tail in opened.unsealed:
            self._writer.seal_later(tail)
        if segments is not None and segments.max_segment_age_s:
            self._schedule_age_check()

    # -- opening ------------------------------------------------------------------------------

    @classmethod
    async def open(
        cls,
        path: str | os.PathLike[str],
        *,
        mask: MaskingRules | None = None,
        group_commit_ms: float = 2.0,
        clock: Callable[[], float] = time.time,
        segments: SegmentPolicy | None = None,
        compact: tuple[str, ...] = (),
        retry_ms: float = 250.0,
        listener: AuditListener | None = None,
    ) -> AuditLog:
        """Open ``path`` for appending: a file, or with ``segments`` a directory (created, with
        its directory entries made durable, if absent).

        Raises :class:`AuditLogLocked` if another process holds it, :class:`AuditWriteError` if it
        cannot be opened, :class:`~governance.errors.AuditChainError` if the existing chain does
        not verify, and ``ValueError`` for a bad ``group_commit_ms``, ``retry_ms`` or ``compact``.
        """
        if group_commit_ms < 0 or retry_ms <= 0:
            raise ValueError("group_commit_ms must be >= 0 and retry_ms > 0")
        parse_paths(compact)
        target = Path(path)
        opener = open_directory if segments is not None else open_file
        opened = await asyncio.to_thread(opener, target)
        return cls(target, opened, mask or MaskingRules(), group_commit_ms / 1000.0, clock,
                   segments, compact, retry_ms / 1000.0, listener)

    # -- state --------------------------------------------------------------------------------

    @property
    def head(self) -> AuditHead:
        """The last *durable* record (``seq == -1`` for an empty log)."""
        return self._writer.durable_head

    @property
    def pending_head(self) -> AuditHead:
        """The last *enqueued* record, durable or not."""
        durable = self._writer.durable_head
        if self._next_seq - 1 == durable.seq:
            return durable
        return AuditHead(seq=self._next_seq - 1, hash=self._prev_hash)

    @property
    def available(self) -> bool:
        """False while records cannot be made durable (appends are refused)."""
        return self._writer.unavailable is None

    @property
    def unavailable_error(self) -> AuditLogUnavailable | None:
        return self._writer.unavailable

    @property
    def segmented(self) -> bool:
        return self._segments is not None

    # -- appending ----------------------------------------------------------------------------

    def append_nowait(self, event: dict[str, Any]) -> int:
        """Mask, chain and enqueue ``event``; return its seq. Durable at the next group commit.

        ``event`` must be a JSON object with a string ``kind`` (not one the log writes itself)
        and none of the keys the log owns (``seq``, ``ts``, ``prev_hash``, ``hash``, ``refs``).
        Raises :class:`AuditEventError` for a bad event, :class:`AuditLogUnavailable` while
        records cannot be made durable, and :class:`AuditWriteError` if the log is closed.
        """
        unavailable = self._writer.unavailable
        if unavailable is not None:
            self.refused += 1
            raise unavailable
        if self._closing:
            raise AuditWriteError("audit log is closed", location=Location(str(self.path)))
        if not isinstance(event, dict):
            raise AuditEventError(f"audit event must be a dict, not {type(event).__name__}")
        kind = event.get("kind")
        if not isinstance(kind, str) or not kind:
            raise AuditEventError("audit event needs a non-empty string 'kind'")
        if kind in RESERVED_KINDS:
            raise AuditEventError(f"audit event kind {kind!r} is written by the log itself")
        clash = RESERVED_KEYS.intersection(event)
        if clash:
            raise AuditEventError(
                f"audit event may not set {', '.join(sorted(clash))}: the log owns those fields"
            )
        record = self._mask.view(event)  # shallow when nothing is masked; only top keys added
        if self._segments is not None:
            self._rotate_if_due()
        interner = self._interner
        if interner is not None:
            try:
                blobs = interner.compact(record)
            except TypeError as exc:
                raise AuditEventError(f"audit event is not JSON-serializable: {exc}") from exc
            for blob in blobs:
                self._chain(blob)
        return self._chain(record)

    def _chain(self, record: dict[str, Any]) -> int:
        """Give ``record`` its seq, time and prev_hash, hash it, enqueue it; return the seq.
        Raises :class:`AuditEventError` (not JSON) before any state changes."""
        seq = self._next_seq
        record["seq"] = seq
        record["ts"] = utc_timestamp(self._clock())
        record["prev_hash"] = self._prev_hash
        body = canonical_body(record)
        digest = record_hash(body)
        line = record_line(body, digest)
        self._next_seq = seq + 1
        self._prev_hash = digest
        self._seg_bytes += len(line)
        self._writer.enqueue(line, seq, digest)
        return seq

    async def append(self, event: dict[str, Any]) -> int:
        """Append ``event`` and return its seq once it is durable (written and synced).

        Raises what :meth:`append_nowait` raises, and :class:`AuditWriteError` (or
        :class:`AuditLogUnavailable`) if the write fails. Cancelling the caller does not
        withdraw the record.
        """
        seq = self.append_nowait(event)
        await self._writer.wait_durable(seq)
        return seq

    async def wait_durable(self, seq: int) -> None:
        """Return once record ``seq`` is durable. Raises :class:`AuditLogUnavailable` while the
        log cannot write (the record stays queued and is written once it can)."""
        await self._writer.wait_durable(seq)

    async def flush(self) -> None:
        """Wait until every record enqueued so far is durable. Raises :class:`AuditWriteError`."""
        await self._writer.wait_durable(self._next_seq - 1)

    # -- segments -----------------------------------------------------------------------------

    def _rotate_if_due(self) -> None:
        policy = self._segments
        assert policy is not None
        if self._seg_open:
            full = policy.max_segment_bytes is not None and self._seg_bytes >= policy.max_segment_bytes
            old = (policy.max_segment_age_s is not None
                   and time.monotonic() - self._seg_started >= policy.max_segment_age_s)
            if not (full or old):
                return
            self._close_segment()
        self._open_segment()

    def _open_segment(self) -> None:
        self._seg_index += 1
        name = segment_name(self._seg_index)
        self._writer.enqueue_control(Open(self._seg_index, self.pending_head))
        if self._interner is not None:
            self._interner.reset()
        self._seg_open = True
        self._seg_bytes = 0
        self._seg_started = time.monotonic()
        self._seg_first_seq = self._next_seq
        self._seg_prev_hash = self._prev_hash
        previous = None
        if self._last_segment is not None:
            last_name, last_head = self._last_segment
            previous = {"segment": last_name, "seq": last_head.seq, "hash": last_head.hash}
        self._chain({"kind": SEGMENT_KIND, "segment": name, "previous": previous})

    def _close_segment(self) -> None:
        head = self.pending_head
        tail = SegmentTail(index=self._seg_index, first_seq=self._seg_first_seq,
                           last_seq=head.seq, prev_hash=self._seg_prev_hash, head_hash=head.hash)
        self._writer.enqueue_control(Close(tail, head))
        self._seg_open = False
        self._last_segment = (segment_name(self._seg_index), head)

    def rotate(self) -> None:
        """Close the active segment now (sealed in the background); the next record opens a
        new one. No-op for a single-file log or when no segment is open."""
        if self._segments is not None and self._seg_open and not self._closing:
            self._close_segment()

    def _schedule_age_check(self) -> None:
        policy = self._segments
        assert policy is not None and policy.max_segment_age_s
        delay = max(0.02, min(policy.max_segment_age_s / 4, 1.0))
        self._age_timer = self._loop.call_later(delay, self._age_check)

    def _age_check(self) -> None:
        policy = self._segments
        if self._closing or policy is None or policy.max_segment_age_s is None:
            return
        if (self._seg_open and self._writer.unavailable is None
                and time.monotonic() - self._seg_started >= policy.max_segment_age_s):
            self._close_segment()
        self._schedule_age_check()

    def _recovered(self, since: float, until: float, error: str) -> None:
        """Loop thread, after an outage: record it in the chain."""
        if self._closing:
            return
        refused, self.refused = self.refused, 0
        try:
            if self._segments is not None:
                self._rotate_if_due()
            self._chain({"kind": OUTAGE_KIND, "since": utc_timestamp(since),
                         "until": utc_timestamp(until), "error": error, "refused": refused})
        except AuditWriteError:  # pragma: no cover - failed again at once; the next one records it
            self.refused += refused

    # -- closing ------------------------------------------------------------------------------

    async def close(self) -> None:
        """Flush, close (and seal) the active segment, stop the writer and sealer, release the
        log. Idempotent. Raises :class:`AuditWriteError` if records could not be made durable."""
        if self._closed:
            return
        if self._age_timer is not None:
            self._age_timer.cancel()
        if self._segments is not None and self._seg_open and self._writer.unavailable is None:
            self._close_segment()
        self._closing = True
        try:
            await asyncio.to_thread(self._writer.stop)
        finally:
            self._closed = True
        failure = self._writer.failure
        if failure is not None:
            raise failure

    async def __aenter__(self) -> AuditLog:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

