"""When the attempt loop starts its next attempt: one at a time, or hedged.

The router's attempt loop (:meth:`gateway.router.Router._attempt_loop`) asks a schedule for the
next settled :class:`Attempt` and books it; the schedule decides when to start attempts:

- :class:`SerialAttempts`: the next admitted upstream once the previous attempt failed;
- :class:`HedgedAttempts`: attempts as tasks with a watchdog. An attempt unanswered for its
  delay is *slow*: ``on_slow`` is told (hang detection ejects the upstream), and a hedge on the
  next admitted upstream starts when ``can_hedge`` allows it (retry budget, hedge budget). The
  delay is the route's fixed ``hedge_after_ms`` or, adaptively, the upstream's slow threshold
  (:mod:`gateway.watchdog`); None means no watchdog for that attempt.

Either way attempts come from the same admitted sequence (rank order, retry budget, breakers),
so a hedge never goes outside the request's plan.
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
Delay = Callable[[Upstream], "float | None"]  # seconds until an attempt there is slow


@dataclass(slots=True)
class Attempt:
    """One attempt, once settled: ``result`` or ``error`` (never both)."""

    up: Upstream
    n: int
    t0: float  # time.perf_counter() at its start
    result: Any = None
    error: BaseException | None = None
    due: float | None = None  # perf_counter() time at which it is slow (None: never)
    slow: bool = False  # it passed ``due`` unanswered


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
    """Attempts as tasks; one that passes its delay unanswered is slow, and may be hedged."""

    __slots__ = ("_admitted", "_call", "_delay", "_can_hedge", "_on_slow", "_on_hedge",
                 "_pending", "_settled", "_started")

    def __init__(self, admitted: Admitted, call: Call, delay: Delay,
                 can_hedge: Callable[[], bool], *,
                 on_slow: Callable[[Attempt], None] | None = None,
                 on_hedge: Callable[[Attempt], None] | None = None) -> None:
        self._admitted = admitted
        self._call = call
        self._delay = delay
        self._can_hedge = can_hedge  # room for another attempt (retry budget, hedge budget)
        self._on_slow = on_slow
        self._on_hedge = on_hedge  # a hedge started (the new attempt): spend the budget
        self._pending: dict[asyncio.Future[Any], Attempt] = {}
        self._settled: list[Attempt] = []
        self._started = False

    def _start_next(self) -> Attempt | None:
        nxt = next(self._admitted, None)
        if nxt is None:
            return None
        up, n = nxt
        t0 = time.perf_counter()
        delay = self._delay(up)
        attempt = Attempt(up, n, t0, due=None if delay is None else t0 + delay)
        self._pending[asyncio.ensure_future(self._call(up))] = attempt
        return attempt

    def _timeout(self) -> float | None:
        dues = [a.due for a in self._pending.values() if a.due is not None and not a.slow]
        return max(0.0, min(dues) - time.perf_counter()) if dues else None

    def _watchdog(self) -> None:
        """Mark the attempts past their due time slow; hedge once if any was."""
        now = time.perf_counter()
        slow = False
        for attempt in list(self._pending.values()):
            if attempt.due is not None and not attempt.slow and attempt.due <= now:
                attempt.slow = slow = True
                if self._on_slow is not None:
                    self._on_slow(attempt)
        if slow and self._can_hedge():
            hedge = self._start_next()  # the hedge: the next admitted (allowed) upstream
            if hedge is not None and self._on_hedge is not None:
                self._on_hedge(hedge)

    async def next_settled(self) -> Attempt | None:
        if not self._started or not (self._pending or self._settled):
            self._started = True
            self._start_next()  # the first attempt, or the next after a failure left none in flight
        while not self._settled:
            if not self._pending:
                return None
            done, _ = await asyncio.wait(self._pending, timeout=self._timeout(),
                                         return_when=asyncio.FIRST_COMPLETED)
            if not done:
                self._watchdog()
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
        for task, attempt in self._pending.items():
            if not task.done():
                task.cancel()
            elif not task.cancelled():  # ended since the last wait: keep its result to release
                attempt.error = task.exception()
                if attempt.error is None:
                    attempt.result = task.result()
        self._pending.clear()
        self._settled.clear()
        return left
