"""The per-connection plumbing a toxic sees: a chunk queue in, a writer out.

Each direction of a proxied connection (a :class:`~chaos.proxy.link.Link`) runs its toxics as a
chain of stages. A stage owns a :class:`ChunkQueue` (its input) and a :class:`ToxicStub` (what
the toxic reads from and writes to). The stub remembers the chunk the toxic is holding
(``in_hand``) so that when a toxic is removed or updated mid-chunk, the unsent bytes are handed
on instead of being lost — Toxiproxy does the same with its transactional reader.
"""

from __future__ import annotations

import asyncio
import random
from collections import deque
from typing import Any, Protocol


class ChunkSink(Protocol):
    """Where a stage's output goes: the next stage's queue or the destination socket."""

    def put(self, data: bytes, received_at: float) -> None: ...

    def put_eof(self) -> None: ...


class ChunkQueue:
    """An unbounded FIFO of ``(data, received_at)`` chunks ending with an optional EOF.

    Unbounded on purpose: writes from a stage never block, which keeps rewiring the chain
    synchronous (no chunk can be in flight between two stages). Back-pressure is applied at the
    source socket instead, from the byte count kept in ``meter``.
    """

    __slots__ = ("_items", "_waiter", "eof", "meter")

    def __init__(self, meter: ByteMeter) -> None:
        self._items: deque[tuple[bytes, float]] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self.eof = False
        self.meter = meter

    def put(self, data: bytes, received_at: float) -> None:
        if self.eof:
            return
        self._items.append((data, received_at))
        self.meter.add(len(data))
        self._wake()

    def put_eof(self) -> None:
        self.eof = True
        self._wake()

    def push_front(self, data: bytes, received_at: float) -> None:
        self._items.appendleft((data, received_at))
        self.meter.add(len(data))
        self._wake()

    async def get(self) -> tuple[bytes, float] | None:
        """Next chunk, or ``None`` at EOF. Cancelling a waiting ``get`` loses nothing."""
        while not self._items:
            if self.eof:
                return None
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        item = self._items.popleft()
        self.meter.sub(len(item[0]))
        return item

    def drain(self) -> list[tuple[bytes, float]]:
        items = list(self._items)
        self._items.clear()
        for data, _ in items:
            self.meter.sub(len(data))
        return items

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)


class ByteMeter:
    """Counts bytes buffered inside a link and pauses/resumes its source around two marks."""

    __slots__ = ("buffered", "_high", "_low", "_on_high", "_on_low", "_paused")

    def __init__(self, on_high: Any, on_low: Any, high: int = 1 << 20, low: int = 1 << 18) -> None:
        self.buffered = 0
        self._high, self._low = high, low
        self._on_high, self._on_low = on_high, on_low
        self._paused = False

    def add(self, n: int) -> None:
        self.buffered += n
        if not self._paused and self.buffered > self._high:
            self._paused = True
            self._on_high()

    def sub(self, n: int) -> None:
        self.buffered -= n
        if self._paused and self.buffered <= self._low:
            self._paused = False
            self._on_low()


class ToxicStub:
    """What a toxic works with: ``read`` chunks, ``write`` them on, ``close`` or ``reset``.

    ``rng`` is this stage's own seeded generator; ``state`` survives toxic updates for the life
    of the connection (``limit_data`` counts bytes in it).
    """

    __slots__ = ("input", "output", "rng", "state", "in_hand", "received_at", "closed", "_reset")

    def __init__(
        self,
        input: ChunkQueue,
        output: ChunkSink,
        rng: random.Random,
        reset: Any,
    ) -> None:
        self.input = input
        self.output = output
        self.rng = rng
        self.state: dict[str, Any] = {}
        self.in_hand: bytes | None = None
        self.received_at = 0.0
        self.closed = False
        self._reset = reset

    async def read(self) -> bytes | None:
        """The next chunk, or ``None`` once the source has ended."""
        self.in_hand = None
        item = await self.input.get()
        if item is None:
            return None
        self.in_hand, self.received_at = item
        return self.in_hand

    def write(self, data: bytes) -> None:
        """Pass ``data`` (all or the next part of the chunk in hand) to the next stage."""
        if self.closed or not data:
            return
        if self.in_hand is not None:
            rest = self.in_hand[len(data) :]
            self.in_hand = rest or None
        self.output.put(data, self.received_at)

    def drop(self) -> None:
        """Discard the chunk in hand (a toxic that swallows data says so)."""
        self.in_hand = None

    def close(self) -> None:
        """End this direction: EOF flows on and the destination is closed behind it."""
        if not self.closed:
            self.closed = True
            self.in_hand = None
            self.output.put_eof()

    def reset(self) -> None:
        """Abort the whole connection with a TCP RST on both sockets."""
        self.closed = True
        self.in_hand = None
        self._reset()
