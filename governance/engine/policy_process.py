"""One policy child process and the frames it answers, for :mod:`governance.engine.isolation`.

A :class:`PolicyProcess` starts :mod:`governance.engine.policy_worker` with two pipes and a
memory cap, writes length-prefixed frames (``<u32 size><op byte><payload>``) and reads the
answers in order. It is used synchronously to compile and check (before any event loop is
involved, :meth:`PolicyProcess.wait_frame`) and asynchronously for evaluations
(:meth:`PolicyProcess.submit`: a future per frame, never blocking the loop). Killing it fails
every pending job with :class:`ChildDied`.
"""

from __future__ import annotations

import asyncio
import collections
import os
import select
import signal
import struct
import subprocess
import sys
import time
from dataclasses import dataclass

_HEADER = struct.Struct("<I")

DEFAULT_MEMORY_MB = 1024


@dataclass
class _Job:
    future: asyncio.Future[tuple[bytes, bytes]]


class PolicyProcess:
    """One child process and its two pipes. Frames are answered in order (FIFO)."""

    def __init__(self, memory_mb: int = DEFAULT_MEMORY_MB) -> None:
        to_child_r, self._w = os.pipe()
        self._r, from_child_w = os.pipe()
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "governance.engine.policy_worker",
                 str(to_child_r), str(from_child_w), str(memory_mb)],
                pass_fds=(to_child_r, from_child_w), stdin=subprocess.DEVNULL,
                close_fds=True,
            )
        finally:
            os.close(to_child_r)
            os.close(from_child_w)
        os.set_blocking(self._r, False)
        self._buf = bytearray()
        self._out = bytearray()
        self.head_since = 0.0  # loop time at which the oldest pending job reached the child
        self._jobs: collections.deque[_Job] = collections.deque()
        self._loop: asyncio.AbstractEventLoop | None = None
        self.alive = True
        self.backend = ""

    @property
    def pending(self) -> int:
        return len(self._jobs)

    def is_head(self, job: _Job) -> bool:
        return bool(self._jobs) and self._jobs[0] is job

    def send(self, op: bytes, payload: bytes) -> None:
        """Queue one frame (``op`` + ``payload``) to the child."""
        frame = _HEADER.pack(len(payload) + 1) + op + payload
        if self._loop is None:  # synchronous use: a blocking write
            data = memoryview(frame)
            while data:
                data = data[os.write(self._w, data):]
            return
        # On an event loop the write end is non-blocking: a child that stopped reading (stuck
        # in an evaluation) must never block the loop once the pipe buffer is full.
        self._out += frame
        if len(self._out) == len(frame):
            self._drain()

    def _drain(self) -> None:
        try:
            n = os.write(self._w, self._out)
        except BlockingIOError:
            n = 0
        except OSError:
            self.kill()
            return
        del self._out[:n]
        assert self._loop is not None
        if self._out:
            self._loop.add_writer(self._w, self._drain)
        else:
            self._loop.remove_writer(self._w)

    # -- synchronous use (compile / check, before any event loop is involved) ------------
    def wait_frame(self, deadline: float) -> tuple[bytes, bytes]:
        """The next answer, waiting until ``deadline`` (``time.monotonic()``) at most.

        Raises:
            TimeoutError: no answer by ``deadline`` (the child is killed).
            EOFError: the child died (the child is reaped; ``exit_description()`` says how).
        """
        while True:
            frame = self._pop_frame()
            if frame is not None:
                return frame
            left = deadline - time.monotonic()
            if left <= 0:
                self.kill()
                raise TimeoutError
            ready, _, _ = select.select([self._r], [], [], left)
            if ready and not self._fill():
                self.kill()
                raise EOFError

    def _fill(self) -> bool:
        """Read what is available; False on EOF."""
        while True:
            try:
                chunk = os.read(self._r, 1 << 16)
            except BlockingIOError:
                return True
            if not chunk:
                return False
            self._buf += chunk

    def _pop_frame(self) -> tuple[bytes, bytes] | None:
        if len(self._buf) < 4:
            return None
        (size,) = _HEADER.unpack_from(self._buf)
        if len(self._buf) < 4 + size:
            return None
        frame = bytes(self._buf[4 : 4 + size])
        del self._buf[: 4 + size]
        return frame[:1], frame[1:]

    # -- asynchronous use (evaluations) ---------------------------------------------------
    def submit(self, payload: bytes) -> _Job:
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            self._attach(loop)
        job = _Job(loop.create_future())
        # An abandoned job's failure is nobody's to retrieve: mark it retrieved.
        job.future.add_done_callback(lambda f: f.cancelled() or f.exception())
        if not self._jobs:
            self.head_since = loop.time()
        self._jobs.append(job)
        self.send(b"E", payload)
        return job

    def _attach(self, loop: asyncio.AbstractEventLoop) -> None:
        old = self._loop
        if old is not None and not old.is_closed():
            old.remove_reader(self._r)
        for job in self._jobs:  # futures of a finished loop can never be awaited again
            if not job.future.done():
                job.future.cancel()
        self._jobs.clear()
        self._out.clear()
        self._loop = loop
        os.set_blocking(self._w, False)
        loop.add_reader(self._r, self._on_readable)

    def _on_readable(self) -> None:
        alive = self._fill()
        while (frame := self._pop_frame()) is not None:
            if not self._jobs:
                continue  # an answer for a job abandoned with its loop
            job = self._jobs.popleft()
            self.head_since = self._loop.time() if self._loop else 0.0
            if not job.future.done():
                job.future.set_result(frame)
        if not alive:
            self.kill()

    def kill(self) -> None:
        """Kill the child (idempotent); every pending job fails with EOFError."""
        if not self.alive:
            return
        self.alive = False
        if self._loop is not None and not self._loop.is_closed():
            self._loop.remove_reader(self._r)
            self._loop.remove_writer(self._w)
        try:
            self.proc.send_signal(signal.SIGKILL)
        except ProcessLookupError:  # pragma: no cover - already gone
            pass
        self.proc.wait()
        for fd in (self._r, self._w):
            try:
                os.close(fd)
            except OSError:  # pragma: no cover
                pass
        for i, job in enumerate(self._jobs):
            if not job.future.done():
                job.future.set_exception(ChildDied(head=i == 0, how=self.exit_description()))
        self._jobs.clear()

    def exit_description(self) -> str:
        code = self.proc.returncode
        if code is None:
            return "running"
        if code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = ""
            if name == "SIGABRT":  # what a failed allocation under the memory cap ends in
                return "killed by SIGABRT: an allocation over the memory budget, or a panic"
            return f"killed by {name}" if name else f"killed by signal {-code}"
        return f"exited with status {code}"


class ChildDied(Exception):
    """A child died with jobs pending; ``head``: this job was the one it was running."""

    def __init__(self, *, head: bool, how: str) -> None:
        super().__init__(how)
        self.head = head
        self.how = how
