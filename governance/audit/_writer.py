"""The writer and sealer threads of an :class:`~governance.audit.AuditLog`.

The writer owns the files. Items arrive in order: record lines (``bytes``) and the controls
:class:`Open` (start segment N) and :class:`Close` (the current segment is complete: hand it to
the sealer). Consecutive lines form a *run*, written with one ``write`` and one ``fdatasync``;
after a run is durable the durable head advances and waiters up to it are woken.

A failed write or sync keeps the items from the failed run on, in order, as the *backlog*; the
log turns unavailable (waiters and new appends get :class:`AuditLogUnavailable`) and the writer
retries every ``retry_s`` — first cutting the file back to its last durable size, so a torn or
unsynced write is rewritten, not extended (after a failed ``fsync`` Linux may have dropped the
dirty pages: only rewriting them is safe). The first success makes the log available again.

The sealer compresses closed segments one at a time (:func:`~governance.audit._segments.seal_segment`);
a failed seal leaves the plain segment (durable, nothing lost) and is retried.
"""

from __future__ import annotations

import asyncio
import errno as errno_mod
import fcntl
import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from governance.audit._errors import AuditLogUnavailable, AuditWriteError
from governance.audit._records import AuditHead
from governance.audit._segments import SegmentTail, fsync_directory, seal_segment, segment_name
from governance.errors import Location

logger = logging.getLogger("govchaos.audit")

# The os calls the writer makes, as module attributes: the fault-injection tests replace them.
os_write = os.write
os_sync = getattr(os, "fdatasync", os.fsync)
os_open = os.open
os_ftruncate = os.ftruncate


@dataclass(frozen=True)
class Open:
    index: int
    head_before: AuditHead


@dataclass(frozen=True)
class Close:
    tail: SegmentTail
    head_before: AuditHead


class BatchWriter:
    def __init__(self, path: Path, fd: int | None, head: AuditHead,
                 loop: asyncio.AbstractEventLoop, group_commit_s: float, retry_s: float, *,
                 lock_fd: int, compression: str | None, now: Callable[[], str],
                 listener: Any, on_recovered: Callable[[float, float, str], None]) -> None:
        self.path = path
        self._fd = fd
        self._lock_fd = lock_fd
        self._durable_size = os.fstat(fd).st_size if fd is not None else 0
        self._dirty = False
        self.durable_head = head
        self._loop = loop
        self._group_commit_s = group_commit_s
        self._retry_s = retry_s
        self._compression = compression
        self._now = now
        self._listener = listener
        self._on_recovered = on_recovered
        # Shared with the loop thread, under _lock.
        self._lock = threading.Lock()
        self._pending: list[Any] = []
        self._pending_end: tuple[int, str] = (head.seq, head.hash)  # the last line's head
        self._rung = False
        self._stopping = False
        self._waiters: list[tuple[int, asyncio.Future[None]]] = []
        self._bell: queue.SimpleQueue[bool] = queue.SimpleQueue()
        # Set while a waiter (or close) wants the queued records durable now; cleared when the
        # writer takes a batch, set again by a waiter whose record the batch did not hold.
        self._urgent = threading.Event()
        self._backlog: list[Any] = []
        self.unavailable: AuditLogUnavailable | None = None
        self.failure: AuditWriteError | None = None
        self._outage_since = 0.0
        self._seals: queue.SimpleQueue[SegmentTail | None] = queue.SimpleQueue()
        self._sealer: threading.Thread | None = None
        if compression is not None:
            self._sealer = threading.Thread(target=self._seal_loop, name="govchaos-audit-sealer",
                                            daemon=True)
            self._sealer.start()
        self._thread = threading.Thread(target=self._run, name="govchaos-audit-writer",
                                        daemon=True)
        self._thread.start()

    # -- loop-thread side ---------------------------------------------------------------------

    def enqueue(self, line: bytes, seq: int, digest: str) -> None:
        """Queue record ``seq`` (its line, its hash); the writer builds the head once a batch."""
        with self._lock:
            self._pending.append(line)
            self._pending_end = (seq, digest)
            ring = not self._rung
            self._rung = True
        if ring:
            self._bell.put(True)

    def enqueue_control(self, item: Open | Close) -> None:
        with self._lock:
            self._pending.append(item)
            ring = not self._rung
            self._rung = True
        if ring:
            self._bell.put(True)

    def seal_later(self, tail: SegmentTail) -> None:
        self._seals.put(tail)

    async def wait_durable(self, seq: int) -> None:
        with self._lock:
            if self.durable_head.seq >= seq:
                return
            if self.failure is not None:
                raise self.failure
            if self.unavailable is not None:
                raise self.unavailable
            future: asyncio.Future[None] = self._loop.create_future()
            self._waiters.append((seq, future))
            self._urgent.set()
        # shield: a cancelled waiter must not cancel what the writer thread resolves
        await asyncio.shield(future)

    def stop(self) -> None:
        """Blocking (run in a thread): write what is queued, stop both threads, unlock."""
        with self._lock:
            self._stopping = True
        self._urgent.set()
        self._bell.put(True)
        self._thread.join()
        if self._sealer is not None:
            self._seals.put(None)
            self._sealer.join()
        try:
            if self._fd is not None and self._fd != self._lock_fd:
                os.close(self._fd)
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
        finally:
            os.close(self._lock_fd)

    # -- the writer thread --------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            if self._backlog:
                try:  # unavailable: retry after retry_s, or at once when rung (close, race)
                    self._bell.get(timeout=self._retry_s)
                except queue.Empty:
                    pass
            else:
                self._bell.get()
                if self._group_commit_s:
                    self._gather()
            with self._lock:
                items = self._backlog + self._pending if self._backlog else self._pending
                (end_seq, end_hash), stop = self._pending_end, self._stopping
                self._pending = []
                self._rung = False
                if not stop:  # every waiter so far awaits a record of this batch or an
                    self._urgent.clear()  # earlier one; a later waiter sets it again
            self._backlog = []
            if items:
                end = AuditHead.model_construct(seq=end_seq, hash=end_hash)
                failed_at, exc = self._write(items, end)
                if exc is not None:
                    self._backlog = items[failed_at:]
                    self._set_unavailable(exc)
                elif self.unavailable is not None:
                    self._set_available()
            if stop:
                with self._lock:
                    more = bool(self._pending)
                    if more:
                        self._rung = True
                if more:
                    self._bell.put(True)  # records raced with close(): write them too
                    continue
                if self._backlog:
                    self._give_up()
                return

    def _gather(self) -> None:
        """Let more records join the batch for at most ``group_commit_ms`` — unless someone
        awaits durability or the log closes: then write at once. The waiter wakes the writer
        (an event, not a poll: polling in 0.5 ms steps and pausing 0.1 ms to see whether more
        records came cost a lone durable request ~0.6 ms). Records that arrive during the write
        and sync form the next batch, so batches grow with the load by themselves."""
        self._urgent.wait(self._group_commit_s)

    def _write(self, items: list[Any], end: AuditHead) -> tuple[int, OSError | None]:
        """Write ``items`` in order; on failure return the index to resume from and the error."""
        run: list[bytes] = []
        run_start = 0
        for i, item in enumerate(items):
            if type(item) is bytes:
                if not run:
                    run_start = i
                run.append(item)
                continue
            if run:
                exc = self._flush(run, item.head_before)
                if exc is not None:
                    return run_start, exc
                run = []
            exc = self._open(item) if type(item) is Open else self._close(item)
            if exc is not None:
                return i, exc
        if run:
            exc = self._flush(run, end)
            if exc is not None:
                return run_start, exc
        return 0, None

    def _flush(self, run: list[bytes], head: AuditHead) -> OSError | None:
        fd = self._fd
        if fd is None:  # pragma: no cover - a record is always preceded by its segment's Open
            return OSError(errno_mod.EBADF, "no segment open")
        data = b"".join(run)
        try:
            if self._dirty:
                os_ftruncate(fd, self._durable_size)
                self._dirty = False
            view = memoryview(data)
            while view:
                self._dirty = True
                written = os_write(fd, view)
                view = view[written:]
            os_sync(fd)
        except OSError as exc:
            self._dirty = True
            return exc
        self._dirty = False
        self._durable_size += len(data)
        self._advance(head)
        return None

    def _open(self, item: Open) -> OSError | None:
        path = self.path / f"{segment_name(item.index)}.jsonl"
        try:
            fd = os_open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o640)
        except OSError as exc:
            return exc
        fsync_directory(self.path)
        self._fd = fd
        self._durable_size = 0
        self._dirty = os.fstat(fd).st_size > 0  # a retried Open: cut what a failed try left
        return None

    def _close(self, item: Close) -> OSError | None:
        if self._fd is not None:
            try:
                os.close(self._fd)
            except OSError:
                pass  # everything in it was synced before this point
            self._fd = None
        self._seals.put(item.tail)
        return None

    def _advance(self, head: AuditHead) -> None:
        with self._lock:
            self.durable_head = head
            ready = [w for w in self._waiters if w[0] <= head.seq]
            if ready:
                self._waiters = [w for w in self._waiters if w[0] > head.seq]
        if ready:
            self._notify(ready, None)

    def _set_unavailable(self, exc: OSError) -> None:
        name = errno_mod.errorcode.get(exc.errno or 0, "EIO")
        error = AuditLogUnavailable(
            f"cannot make audit records durable: {exc.strerror or exc} ({name}); appends are"
            f" refused until a write succeeds (retried every {self._retry_s * 1000:g} ms)",
            errno_name=name, location=Location(str(self.path)))
        first = self.unavailable is None
        with self._lock:
            self.unavailable = error
            waiters, self._waiters = self._waiters, []
        if waiters:
            self._notify(waiters, error)
        if first:
            self._outage_since = time.time()
            logger.error("audit log unavailable: %s", error.message)
            if self._listener is not None:
                self._listener.unavailable(error)

    def _set_available(self) -> None:
        error = self.unavailable
        with self._lock:
            self.unavailable = None
        until = time.time()
        outage = until - self._outage_since
        logger.warning("audit log writable again after %.3f s (%s)", outage,
                       error.errno_name if error else "")
        if self._listener is not None:
            self._listener.available(outage)
        try:
            self._loop.call_soon_threadsafe(self._on_recovered, self._outage_since, until,
                                            error.errno_name if error else "")
        except RuntimeError:
            pass  # the loop is closed

    def _give_up(self) -> None:
        count = sum(1 for item in self._backlog if type(item) is bytes)
        reason = self.unavailable.message if self.unavailable else "write failed"
        self.failure = AuditWriteError(
            f"closing with {count} audit record(s) not durable: {reason}",
            location=Location(str(self.path)))
        with self._lock:
            waiters, self._waiters = self._waiters, []
        self._notify(waiters, self.failure)

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

    # -- the sealer thread --------------------------------------------------------------------

    def _seal_loop(self) -> None:
        assert self._compression is not None
        while True:
            tail = self._seals.get()
            if tail is None:
                return
            try:
                manifest = seal_segment(self.path, tail, self._compression, self._now)  # type: ignore[arg-type]
            except OSError as exc:
                # The plain segment is durable: nothing is lost. Retry later (or on reopen).
                logger.warning("audit segment %s not sealed yet: %s", segment_name(tail.index),
                               exc.strerror or exc)
                time.sleep(self._retry_s * 4)
                if self._stopping_now():
                    return
                self._seals.put(tail)
                continue
            if self._listener is not None:
                try:
                    self._listener.sealed(manifest)
                except Exception:  # pragma: no cover - a listener bug must not stop sealing
                    logger.exception("audit listener failed")

    def _stopping_now(self) -> bool:
        with self._lock:
            return self._stopping
