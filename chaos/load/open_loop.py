"""The open-loop schedule both load generators share (requests, and multi-step workflows).

Arrivals are launched at their scheduled times no matter how slow earlier work is: the
schedule runs against absolute times (``start + offset``), each arrival is its own task, and
nothing that happens to one delays the next. When the client itself is the bottleneck
(``max_in_flight`` arrivals outstanding) a due arrival is not launched but handed to
``overloaded`` so its record says so, instead of the load silently thinning out.

Three ways a schedule ends:
- at its planned end: the work still due is awaited (bounded), then ``run()`` returns;
- :meth:`OpenLoop.finish`: now, as if it had been planned to end here (the chaos runner plans
  a schedule longer than the scenario and finishes it when its last phase ends, so phases moved
  later by a slow fault step still have load); ``duration_s`` is the schedule's real length;
- :meth:`OpenLoop.stop`: early; in-flight work is cancelled and ``stopped_early`` is set.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine, Iterable
from typing import Any, Generic, TypeVar

T = TypeVar("T")

# Above this, sleep in a way stop() and finish() can interrupt (costlier, so only long gaps).
_LONG_SLEEP_S = 0.05
# Start the clock slightly in the future so the first arrivals are not late by set-up work.
_LEAD_S = 0.02


class OpenLoop(Generic[T]):
    """Schedule state and the loop; subclasses say what one arrival does."""

    def __init__(self, *, max_in_flight: int, planned_duration_s: float) -> None:
        self._max_in_flight = max_in_flight
        self._planned_duration_s = planned_duration_s
        self._tasks: set[asyncio.Task[None]] = set()
        self._stop = asyncio.Event()  # stop(): cancel what is in flight
        self._wake = asyncio.Event()  # stop() or finish(): the schedule ends
        self._finished_at_s: float | None = None
        self._stopped_early = False
        self._started = False
        self._finished = False
        self._mono0 = 0.0
        self._wall0 = 0.0

    def stop(self) -> None:
        """End the run early (idempotent): no more arrivals; in-flight work is cancelled.
        A no-op once the run has finished on its own."""
        if self._finished:
            return
        self._stopped_early = True
        self._stop.set()
        self._wake.set()

    def finish(self) -> None:
        """End the schedule now (idempotent): no more arrivals; the work still due is awaited
        as at a planned end. A no-op once the run has finished or been stopped."""
        if self._finished or self._wake.is_set():
            return
        self._finished_at_s = max(0.0, time.monotonic() - self._mono0) if self._mono0 else 0.0
        self._wake.set()

    def schedule_length_s(self) -> float:
        """The planned length, or where :meth:`finish` ended it."""
        if self._finished_at_s is None:
            return self._planned_duration_s
        return min(self._planned_duration_s, max(self._finished_at_s, 1e-3))

    def _begin(self, what: str) -> None:
        if self._started:
            raise RuntimeError(f"a {what} runs once; create another")
        self._started = True

    async def _schedule_loop(
        self,
        arrivals: Iterable[tuple[float, T]],
        launch: Callable[[float, T], Coroutine[Any, Any, None]],
        overloaded: Callable[[float, T], None],
    ) -> None:
        self._mono0 = time.monotonic() + _LEAD_S
        self._wall0 = time.time() + _LEAD_S
        wake = self._wake
        for offset, item in arrivals:
            if wake.is_set():
                return
            delay = self._mono0 + offset - time.monotonic()
            if delay > _LONG_SLEEP_S:
                try:
                    await asyncio.wait_for(wake.wait(), delay)
                    return
                except TimeoutError:
                    delay = self._mono0 + offset - time.monotonic()
            # Never launch early: timers may wake a little before their time (uvloop rounds to
            # whole milliseconds), so sleep again until the time has really come.
            while delay > 0:
                await asyncio.sleep(delay)
                delay = self._mono0 + offset - time.monotonic()
            if wake.is_set():
                return
            if len(self._tasks) >= self._max_in_flight:
                overloaded(offset, item)
                continue
            task = asyncio.create_task(launch(offset, item))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _drain(self, bound_s: float) -> None:
        """Wait (at most ``bound_s``) for the work still due, unless stop() comes first."""
        if not self._tasks or self._stop.is_set():
            return
        all_done = asyncio.ensure_future(asyncio.wait(set(self._tasks)))
        stopped = asyncio.ensure_future(self._stop.wait())
        try:
            await asyncio.wait({all_done, stopped}, timeout=bound_s,
                               return_when=asyncio.FIRST_COMPLETED)
        finally:
            all_done.cancel()
            stopped.cancel()

    async def _cancel_in_flight(self) -> None:
        pending = [task for task in self._tasks if not task.done()]
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)

    async def _run_schedule(
        self,
        arrivals: Iterable[tuple[float, T]],
        launch: Callable[[float, T], Coroutine[Any, Any, None]],
        overloaded: Callable[[float, T], None],
        *,
        drain_bound_s: float,
    ) -> None:
        """The whole schedule: launch, drain, cancel the rest; marks a cancelled run early."""
        try:
            await self._schedule_loop(arrivals, launch, overloaded)
            await self._drain(drain_bound_s)
            await self._cancel_in_flight()
            self._finished = True
        except asyncio.CancelledError:
            self._stopped_early = True
            await asyncio.shield(self._cancel_in_flight())
            raise
