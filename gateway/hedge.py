"""When the attempt loop starts its next attempt: one at a time, or hedged.

The router's attempt loop (:meth:`gateway.router.Router._attempt_loop`) asks a schedule for the
next settled :class:`Attempt` and books it; the schedule decides when to start attempts:

- :class:`SerialAttempts`: the next admitted upstream once the previous attempt failed;
- :class:`HedgedAttempts` (route ``hedge_after_ms``): also a second allowed upstream when the
  ones in flight have been unanswered for ``hedge_s`` and the retry budget has room.

Either way attempts come from the same admitted sequence (rank order, retry budget, breakers),
so a hedge never goes outside the request's plan. An adaptive schedule (hedging delay from
observed latency, hang detection) is another class with ``next_settled`` and ``abandon``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

from gateway.upstream import Upstream

Admitted = Iterator[tuple[Upstream, int]]  # (upstream, attempt number), see Router._admit
Call = Callable[[Upstream], Awaitable[Any]]  # one attempt on one upstream


@dataclass(slots=True)
class Attempt:
    """One attempt, once settled: ``result`` or ``error`` (never both)."""

    up: Upstream
    n: int
    t0: float  # time.perf_counter() at its start
    result: Any = None
    error: BaseException | None = None


class SerialAttempts:
    """One attempt at a time, each awaited inline (no task: the common path stays cheap)."""

    __slots__ = ("_admitted", "_call")
    hedge_s = None

    def __init__(self, admitted: Admitted, call: Call) -> None:
        self._admitted = admitted
        self._call = call

    async def next_settled(self) -> Attempt | None:
        """The next attempt, run to its end; None when no upstream is admitted any more."""
        nxt = next(self._admitted, None)
        if nxt is None:
            return None
        attempt = Attempt(nxt[0], nxt[1], time.perf_counter())
        try:
            attempt.result = await self._call(attempt.up)
        except BaseException as exc:  # the loop books it, then re-raises what is not a failure
            attempt.error = exc
        return attempt

    def abandon(self) -> list[Attempt]:
        return []


class HedgedAttempts:
    """Attempts as tasks; a hedge starts after ``hedge_s`` without an answer."""

    __slots__ = ("_admitted", "_call", "hedge_s", "_can_hedge", "_pending", "_settled",
                 "_started")

    def __init__(self, admitted: Admitted, call: Call, hedge_s: float,
                 can_hedge: Callable[[], bool]) -> None:
        self._admitted = admitted
        self._call = call
        self.hedge_s = hedge_s
        self._can_hedge = can_hedge  # the retry budget has room for another attempt
        self._pending: dict[asyncio.Future[Any], Attempt] = {}
        self._settled: list[Attempt] = []
        self._started = False

    def _start_next(self) -> bool:
        nxt = next(self._admitted, None)
        if nxt is None:
            return False
        up, n = nxt
        self._pending[asyncio.ensure_future(self._call(up))] = Attempt(up, n, time.perf_counter())
        return True

    async def next_settled(self) -> Attempt | None:
        if not self._started or not (self._pending or self._settled):
            self._started = True
            self._start_next()  # the first attempt, or the next after a failure left none in flight
        while not self._settled:
            if not self._pending:
                return None
            done, _ = await asyncio.wait(
                self._pending, timeout=self.hedge_s if self._can_hedge() else None,
                return_when=asyncio.FIRST_COMPLETED)
            if not done:
                self._start_next()  # the hedge: a second allowed upstream after hedge_after_ms
                continue
            for task in done:
                attempt = self._pending.pop(task)
                attempt.error = task.exception()
                if attempt.error is None:
                    attempt.result = task.result()
                self._settled.append(attempt)
        return self._settled.pop(0)

    def abandon(self) -> list[Attempt]:
        """Cancel what is still in flight; returns every attempt not handed out (to be booked
        as cancelled)."""
        left = [*self._pending.values(), *self._settled]
        for task in self._pending:
            task.cancel()
        self._pending.clear()
        self._settled.clear()
        return left
