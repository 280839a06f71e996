"""The append side of the audit chain: an async, group-committed, hash-chained JSON Lines log.

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
leaves it to the next group commit; ``flush`` waits for everything enqueued so far.

Group commit. One writer thread owns the file. The first record after a commit rings its bell
(a ``SimpleQueue`` put: no event-loop work); it lets more records join — for at most
``group_commit_ms``, and no longer than appenders keep producing them — then writes the whole
batch with one ``write`` and one ``fdatasync`` (the loop keeps accepting appends meanwhile;
those form the next batch). While nobody awaits durability it takes the whole window (fewer,
larger syncs); while someone does it stops as soon as appenders go quiet. The thread calls back into the event loop only when someone awaits
durability (``append``, ``flush``, ``close``): ``append_nowait`` callers such as the gateway cost
the loop no wake-up per batch. A lone appender pays about one fsync, not ``group_commit_ms``.

Reopening. ``open`` verifies the existing chain (fail closed: a broken chain is never extended)
and continues it. A final line without a newline can only be a write that was torn before its
batch was acknowledged (a batch is acknowledged after its newline is durable), so it is cut off
and reported in :attr:`AuditLog.torn_tail_bytes`; every acknowledged record is kept. Anything
else that does not verify raises :class:`~governance.errors.AuditChainError`.

Failure. If a write or sync fails, every waiter of that batch gets :class:`AuditWriteError` and the
log refuses further appends: a record the caller was told about might be missing, so the chain
on disk can no longer be trusted to be complete.

A log is used from one event loop. Only one process may hold a log open (``flock``);
a second gets :class:`AuditLogLocked`.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import queue
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

from governance.audit._errors import AuditEventError, AuditLogLocked, AuditWriteError
from governance.audit._masking import MaskingRules
from governance.audit._records import (
    GENESIS_HASH,
    RESERVED_KEYS,
    AuditHead,
    canonical_body,
    record_hash,
    record_line,
    utc_timestamp,
)
from governance.audit._verify import ChainSummary, scan_chain
from governance.errors import Location

_sync = getattr(os, "fdatasync", os.fsync)


class AuditLog:
    """An open, appendable audit chain. Create it with :meth:`open`."""

    def __init__(
        self,
        path: Path,
        fd: int,
        head: AuditHead,
        mask: MaskingRules,
        group_commit_s: float,
        clock: Callable[[], float],
        torn_tail_bytes: int,
    ) -> None:
        self.path = path
        self._fd = fd
        self._mask = mask
        self._group_commit_s = group_commit_s
        self._clock = clock
        self.torn_tail_bytes = torn_tail_bytes
        self._durable_head = head
        self._next_seq = head.seq + 1
        self._prev_hash = head.hash
        self._loop = asyncio.get_running_loop()
        # Shared with the writer thread, under _lock: records not yet handed to the writer,
        # the head they end at, whether the bell is already rung, and durability waiters.
        self._lock = threading.Lock()
        self._pending: list[bytes] = []
        self._pending_end: AuditHead = head
        self._rung = False
        self._stopping = False
        self._waiters: list[tuple[int, asyncio.Future[None]]] = []
        self._bell: queue.SimpleQueue[bool] = queue.SimpleQueue()
        self._closing = False
        self._closed = False
        self._failure: AuditWriteError | None = None
        self._writer = threading.Thread(target=self._write_batches, name="govchaos-audit-writer",
                                        daemon=True)
        self._writer.start()

    # -- opening ------------------------------------------------------------------------------

    @classmethod
    async def open(
        cls,
        path: str | os.PathLike[str],
        *,
        mask: MaskingRules | None = None,
        group_commit_ms: float = 2.0,
        clock: Callable[[], float] = time.time,
    ) -> AuditLog:
        """Open ``path`` for appending, creating it (and its directory entry, durably) if absent.

        Raises :class:`AuditLogLocked` if another process holds it, :class:`AuditWriteError` if it
        cannot be opened, and :class:`~governance.errors.AuditChainError` if the existing chain
        does not verify.
        """
        if group_commit_ms < 0:
            raise ValueError("group_commit_ms must be >= 0")
        target = Path(path)
        fd, head, torn = await asyncio.to_thread(_open_and_recover, target)
        return cls(target, fd, head, mask or MaskingRules(), group_commit_ms / 1000.0, clock, torn)

    # -- appending ----------------------------------------------------------------------------

    @property
    def head(self) -> AuditHead:
        """The last *durable* record (``seq == -1`` for an empty log)."""
        return self._durable_head

    @property
    def pending_head(self) -> AuditHead:
        """The last *enqueued* record, durable or not."""
        if self._next_seq - 1 == self._durable_head.seq:
            return self._durable_head
        return AuditHead(seq=self._next_seq - 1, hash=self._prev_hash)

    def append_nowait(self, event: dict[str, Any]) -> int:
        """Mask, chain and enqueue ``event``; return its seq. Durable at the next group commit.

        ``event`` must be a JSON object with a string ``kind`` and none of the keys the log owns
        (``seq``, ``ts``, ``prev_hash``, ``hash``). Raises :class:`AuditEventError` for a bad event
        and :class:`AuditWriteError` if the log is closed or has failed.
        """
        if self._failure is not None:
            raise self._failure
        if self._closing:
            raise AuditWriteError("audit log is closed", location=Location(str(self.path)))
        if not isinstance(event, dict):
            raise AuditEventError(f"audit event must be a dict, not {type(event).__name__}")
        kind = event.get("kind")
        if not isinstance(kind, str) or not kind:
            raise AuditEventError("audit event needs a non-empty string 'kind'")
        clash = RESERVED_KEYS.intersection(event)
        if clash:
            raise AuditEventError(
                f"audit event may not set {', '.join(sorted(clash))}: the log owns those fields"
            )
        record = self._mask.view(event)  # shallow when nothing is masked; only top keys added
        seq = self._next_seq
        record["seq"] = seq
        record["ts"] = utc_timestamp(self._clock())
        record["prev_hash"] = self._prev_hash
        body = canonical_body(record)  # raises before any state changes
        digest = record_hash(body)
        line = record_line(body, digest)
        self._next_seq = seq + 1
        self._prev_hash = digest
        with self._lock:
            self._pending.append(line)
            self._pending_end = AuditHead.model_construct(seq=seq, hash=digest)
            ring = not self._rung
            self._rung = True
        if ring:
            self._bell.put(True)
        return seq

    async def append(self, event: dict[str, Any]) -> int:
        """Append ``event`` and return its seq once it is durable (written and synced).

        Raises what :meth:`append_nowait` raises, and :class:`AuditWriteError` if the write fails.
        Cancelling the caller does not withdraw the record.
        """
        seq = self.append_nowait(event)
        await self._durable(seq)
        return seq

    async def flush(self) -> None:
        """Wait until every record enqueued so far is durable. Raises :class:`AuditWriteError`."""
        if self._failure is not None:
            raise self._failure
        await self._durable(self._next_seq - 1)

    async def _durable(self, seq: int) -> None:
        with self._lock:
            if self._failure is not None:
                raise self._failure
            if self._durable_head.seq >= seq:
                return
            future: asyncio.Future[None] = self._loop.create_future()
            self._waiters.append((seq, future))
        # shield: a cancelled waiter must not cancel what the writer thread resolves
        await asyncio.shield(future)

    async def close(self) -> None:
        """Flush, stop the writer and release the file. Idempotent."""
        if self._closed:
            return
        self._closing = True
        with self._lock:
            self._stopping = True
        self._bell.put(True)
        try:
            await asyncio.to_thread(self._writer.join)
        finally:
            self._closed = True
            try:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
            finally:
                os.close(self._fd)
        if self._failure is not None:
            raise self._failure

    async def __aenter__(self) -> AuditLog:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # -- the writer thread -----------------------------------------------------------------

    def _write_batches(self) -> None:
        while True:
            self._bell.get()
            if self._group_commit_s:
                self._gather_batch()
            with self._lock:
                batch, end, stop = self._pending, self._pending_end, self._stopping
                self._pending = []
                self._rung = False
            if batch:
                try:
                    _write_all(self._fd, b"".join(batch))
                except OSError as exc:
                    self._fail(exc)
                    return
                with self._lock:
                    self._durable_head = end
                    ready = [w for w in self._waiters if w[0] <= end.seq]
                    if ready:
                        self._waiters = [w for w in self._waiters if w[0] > end.seq]
                if ready:
                    self._notify(ready, None)
            if stop:
                with self._lock:
                    if not self._pending:
                        return
                    self._rung = True
                self._bell.put(True)  # records raced with close(): write them too

    def _gather_batch(self) -> None:
        """Let more records join the batch, for at most ``group_commit_ms``. While someone
        awaits durability, stop sooner — as soon as a short pause (which hands the GIL to the
        appenders) added nothing: waiting longer would only add latency, and later records ride
        the next batch, which forms while this one syncs. While nobody waits (``append_nowait``
        only, e.g. the gateway) take the whole window: fewer, larger syncs for the same bound."""
        deadline = time.monotonic() + self._group_commit_s
        size = -1
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            with self._lock:
                now, waited, stop = len(self._pending), bool(self._waiters), self._stopping
            if stop or (waited and now == size):
                return
            size = now
            time.sleep(min(left, 0.0001) if waited else min(left, 0.0005))
    def _fail(self, exc: OSError) -> None:
        failure = AuditWriteError(
            f"cannot write audit log: {exc.strerror or exc}; the log is closed to further appends",
            location=Location(str(self.path)),
        )
        with self._lock:
            self._failure = failure
            self._pending = []
            waiters, self._waiters = self._waiters, []
        self._notify(waiters, failure)

    def _notify(self, waiters: list[tuple[int, asyncio.Future[None]]],
                failure: AuditWriteError | None) -> None:
        def resolve() -> None:
            for _, future in waiters:
                if future.done():
                    continue
                if failure is None:
                    future.set_result(None)
                else:
                    future.set_exception(failure)
                    future.exception()  # mark retrieved: the waiter may be gone

        try:
            self._loop.call_soon_threadsafe(resolve)
        except RuntimeError:
            pass  # the loop is closed: nobody is left to wait


def recover_audit_log(path: str | os.PathLike[str]) -> ChainSummary:
    """Cut a torn final line left by a crashed writer, then return the verified summary.

    The same step :meth:`AuditLog.open` takes, for readers that do not append (e.g. a harness
    collecting the log of a gateway that was killed). ``torn_tail_bytes`` says what was cut.
    Raises :class:`AuditLogLocked` while a writer holds the log, :class:`AuditWriteError`, and
    :class:`~governance.errors.AuditChainError` if the chain does not verify.
    """
    target = Path(path)
    if not target.exists():
        raise AuditWriteError("audit log does not exist", location=Location(str(target)))
    fd, _, torn = _open_and_recover(target)
    try:
        fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
    summary = scan_chain(target, tolerate_torn_tail=False)
    return summary.model_copy(update={"torn_tail_bytes": torn})


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]
    _sync(fd)


def _open_and_recover(path: Path) -> tuple[int, AuditHead, int]:
    """Open (or create) the log, lock it, verify it, cut a torn tail. Runs in a thread."""
    created = not path.exists()
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o640)
    except OSError as exc:
        raise AuditWriteError(
            f"cannot open audit log: {exc.strerror or exc}", location=Location(str(path))
        ) from exc
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise AuditLogLocked(
                "audit log is held open by another process", location=Location(str(path))
            ) from exc
        if created:
            _sync_directory(path.parent)
        summary = scan_chain(path, tolerate_torn_tail=True)
        if summary.torn_tail_bytes:
            size = os.fstat(fd).st_size
            os.ftruncate(fd, size - summary.torn_tail_bytes)
            _sync(fd)
        head = summary.head if summary.count else AuditHead(seq=-1, hash=GENESIS_HASH)
        return fd, head, summary.torn_tail_bytes
    except BaseException:
        os.close(fd)
        raise


def _sync_directory(directory: Path) -> None:
    try:
        dir_fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return  # some filesystems do not allow opening directories; the file itself is synced
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)
