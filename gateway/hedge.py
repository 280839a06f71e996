"""When the attempt loop starts its next attempt: one at a time, or hedged.

The router's attempt loop (:meth:`gateway.router.Router._attempt_loop`) asks a schedule for the
next settled :class:`Attempt` and books it; the schedule decides when to start attempts:

- :class:`SerialAttempts`: the next admitted upstream once the previous attempt failed;
- :class:`HedgedAttempts`: the same, with a watchdog. An attempt unanswered for its delay is
  *slow*: the :class:`HedgePolicy` is told (hang detection ejects the upstream), and a hedge on
  the next admitted upstream starts when the policy allows it (retry budget, hedge budget). The
  delay is the route's fixed ``hedge_after_ms`` or, adaptively, the upstream's slow threshold
  (:mod:`gateway.watchdog`); None means no watchdog for that attempt.

Either way attempts come from the same admitted sequence (rank order, retry budget, breakers),
so a hedge never goes outside the request's plan.

Cost: the common request has one attempt that answers before its delay, so
:class:`HedgedAttempts` awaits an attempt *inline* in the request's own task, with one loop
timer (``call_later``) as its watchdog — no task, no ``asyncio.wait``. Only a hedge runs as a
task. A hedge that answers (or ends the request: a 400/422, a bug) while the inline attempt is
still in flight interrupts it the way ``asyncio.timeout`` does — the request's task is
cancelled and uncancelled — so the inline attempt is cancelled in flight and handed back by
:meth:`HedgedAttempts.abandon`. A hedge that fails (fail over) does not interrupt the inline
attempt: the loop gets that failure once the inline attempt has settled (it would only have
gone back to waiting for it).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from gateway.failures import AttemptFailure
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
    due: float | None = None  # perf_counter() time at which it is slow (None: never)
    slow: bool = False  # it passed ``due`` unanswered
    timer: asyncio.TimerHandle | None = None  # the watchdog, while in flight


class HedgePolicy(Protocol):
    """What a route's hedging decides (built once per route, see :mod:`gateway.scheduling`)."""

    def delay(self, up: Upstream) -> float | None:
        """Seconds until an attempt on ``up`` is slow (None: never)."""

    def slow(self, attempt: Attempt, plan: list[Upstream]) -> None:
        """``attempt`` (of a request with this ``plan``) passed its delay unanswered."""

    def can_hedge(self, attempts: int) -> bool:
        """Room for another attempt, ``attempts`` having started so far (budgets)."""

    def hedged(self, attempt: Attempt) -> None:
        """A hedge started (``attempt``): spend the budget."""


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


class Counted(Protocol):
    attempts: int  # attempts started so far (gateway.ledger.Outcome)


class HedgedAttempts:
    """Attempts with a watchdog; one that passes its delay unanswered is slow, and may be
    hedged (within ``plan``, the request's allowed upstreams; ``out`` counts its attempts)."""

    __slots__ = ("_admitted", "_call", "_policy", "_plan", "_out", "_loop", "_task", "_inline",
                 "_interrupting", "_pending", "_settled", "_left", "_waiter")

    def __init__(self, admitted: Admitted, call: Call, policy: HedgePolicy,
                 plan: list[Upstream], out: Counted) -> None:
        self._admitted = admitted
        self._call = call
        self._policy = policy
        self._plan = plan
        self._out = out
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[Any] | None = None  # the request's task (awaits inline)
        self._inline: Attempt | None = None  # the attempt awaited in the request's task
        self._interrupting = False  # a hedge ended the request: the inline attempt is cancelled
        self._pending: dict[asyncio.Future[Any], Attempt] = {}  # hedges in flight (tasks)
        self._settled: list[Attempt] = []  # ended, not handed out yet (in order)
        self._left: list[Attempt] = []  # cancelled in flight (lost to a hedge, the client left)
        self._waiter: asyncio.Future[None] | None = None  # woken when a hedge settles

    def _new(self) -> Attempt | None:
        """The next admitted attempt, with its watchdog armed (not started yet)."""
        nxt = next(self._admitted, None)
        if nxt is None:
            return None
        up = nxt[0]
        attempt = Attempt(up, nxt[1], time.perf_counter())
        delay = self._policy.delay(up)
        if delay is not None:
            attempt.due = attempt.t0 + delay
            attempt.timer = self._loop.call_later(delay, self._due, attempt)  # type: ignore[union-attr]
        return attempt

    def _due(self, attempt: Attempt) -> None:
        """The watchdog (a loop callback): ``attempt`` is slow; hedge once if allowed."""
        attempt.timer = None
        attempt.slow = True
        policy = self._policy
        policy.slow(attempt, self._plan)
        if not policy.can_hedge(self._out.attempts):
            return
        hedge = self._new()  # the hedge: the next admitted (allowed) upstream
        if hedge is None:
            return
        policy.hedged(hedge)
        task = asyncio.ensure_future(self._call(hedge.up))
        self._pending[task] = hedge
        task.add_done_callback(self._hedge_done)

    def _hedge_done(self, task: asyncio.Future[Any]) -> None:
        attempt = self._pending.pop(task, None)
        if attempt is None:  # abandoned: booked by then
            return
        _settle(attempt, task)
        self._settled.append(attempt)
        if self._inline is not None:
            if not isinstance(attempt.error, AttemptFailure) and not self._interrupting:
                self._interrupting = True  # it ends the request: stop waiting for the inline one
                self._task.cancel()  # type: ignore[union-attr]
        elif self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def _run_inline(self, attempt: Attempt) -> Attempt | None:
        """Await ``attempt`` in the request's task; the attempt to hand out next (None: look
        again)."""
        task = self._task
        assert task is not None
        cancelling = task.cancelling()
        self._inline = attempt
        try:
            attempt.result = await self._call(attempt.up)
        except BaseException as exc:
            attempt.error = exc
        finally:
            self._inline = None
            if attempt.timer is not None:
                attempt.timer.cancel()
                attempt.timer = None
        cancelled = isinstance(attempt.error, asyncio.CancelledError)
        if cancelled:
            attempt.error = None  # cancelled in flight: booked as cancelled (abandon)
        if self._interrupting:
            self._interrupting = False
            if task.uncancel() <= cancelling:  # only the hedge's interruption: carry on
                # in flight it is cancelled; one that ended on its own meanwhile comes after
                # the hedge that interrupted it
                (self._left if cancelled else self._settled).append(attempt)
                return None
            cancelled = True  # the request was cancelled as well
        if cancelled:  # the request itself was cancelled
            (self._left if attempt.error is None and attempt.result is None
             else self._settled).append(attempt)
            raise asyncio.CancelledError()
        if self._settled:  # hedges that failed meanwhile go first
            self._settled.append(attempt)
            return None
        return attempt

    async def next_settled(self) -> Attempt | None:
        """The next settled attempt; None when none is in flight and no upstream is admitted
        any more. Starts an attempt only when none is in flight."""
        if self._task is None:
            self._loop = asyncio.get_running_loop()
            self._task = asyncio.current_task()
        while True:
            if self._settled:
                return self._settled.pop(0)
            if not self._pending:
                attempt = self._new()
                if attempt is None:
                    return None
                settled = await self._run_inline(attempt)
                if settled is not None:
                    return settled
                continue
            waiter = self._waiter = self._loop.create_future()  # type: ignore[union-attr]
            try:
                await waiter
            finally:
                self._waiter = None

    def abandon(self) -> list[Attempt]:
        """Cancel what is still in flight; returns every attempt not handed out (to be booked
        as cancelled)."""
        left = [*self._left, *self._pending.values(), *self._settled]
        for task, attempt in self._pending.items():
            if attempt.timer is not None:
                attempt.timer.cancel()
                attempt.timer = None
            if not task.done():
                task.cancel()
            elif not task.cancelled():  # ended since its callback was scheduled: keep its result
                _settle(attempt, task)
        self._pending.clear()
        self._settled.clear()
        self._left.clear()
        return left


def _settle(attempt: Attempt, task: asyncio.Future[Any]) -> None:
    if attempt.timer is not None:
        attempt.timer.cancel()
        attempt.timer = None
    if task.cancelled():
        attempt.error = asyncio.CancelledError()
        return
    attempt.error = task.exception()
    if attempt.error is None:
        attempt.result = task.result()
