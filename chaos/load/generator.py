"""The open-loop load generator.

Requests are sent at their scheduled times no matter how slow earlier answers are: the schedule
runs against absolute times (``start + offset``), each request is its own task, and a response
never delays the next send. When the client itself is the bottleneck (``max_in_flight``
requests outstanding) a due request is not sent but recorded as ``client_overload``: the record
says so instead of the load silently thinning out.

>>> generator = LoadGenerator(spec, "http://127.0.0.1:8080")    # doctest: +SKIP
>>> result = await generator.run()                                # doctest: +SKIP
>>> result.achieved_rps(), result.arrival_error_ms(0.99)          # doctest: +SKIP

``finish()`` ends the schedule now, as if it had been planned to end here: nothing more is sent,
the answers still due are awaited as at a planned end, and ``run()`` returns with
``stopped_early=False`` and ``duration_s`` the schedule's real length. The chaos runner plans a
schedule longer than the scenario and finishes it when its last phase ends, so phases moved
later by a slow fault step still have load.

``stop()`` ends a run early: nothing more is sent, in-flight requests are cancelled and recorded
as ``cancelled``, and ``run()`` returns the result with ``stopped_early=True``. Cancelling the task
running ``run()`` does the same, then re-raises; :meth:`LoadGenerator.result` still has every
record.
"""

from __future__ import annotations

import asyncio
import collections
import time
import uuid
from collections.abc import Callable
from typing import Any

import aiohttp

from chaos.load.client import exchange, render_request
from chaos.load.models import LoadRecord, LoadResult, LoadSpec, LoadStats, PlannedRequest
from chaos.load.schedule import iter_schedule

# Above this, sleep in a way stop() can interrupt (costlier, so only for long gaps).
_LONG_SLEEP_S = 0.05
# Start the clock slightly in the future so the first arrivals are not late by set-up work.
_LEAD_S = 0.02


class LoadGenerator:
    """Drive ``spec`` against ``base_url`` (e.g. the gateway's ``http://127.0.0.1:PORT``).

    Pass ``session`` to share an aiohttp session (its connector must allow ``max_in_flight``
    connections); otherwise the generator owns one for the run.
    """

    def __init__(
        self,
        spec: LoadSpec,
        base_url: str,
        *,
        run_id: str | None = None,
        session: aiohttp.ClientSession | None = None,
        on_progress: Callable[[LoadStats], None] | None = None,
        progress_interval_s: float = 1.0,
    ) -> None:
        self.spec = spec
        self.url = base_url.rstrip("/") + spec.path
        self.run_id = run_id or uuid.uuid4().hex[:12]
        self._session = session
        self._on_progress = on_progress
        self._progress_interval_s = progress_interval_s
        self._timeout = aiohttp.ClientTimeout(total=spec.request_timeout_s)
        self._records: dict[int, LoadRecord] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._stop = asyncio.Event()
        self._wake = asyncio.Event()  # set by stop() and finish(): the schedule ends
        self._finished_at_s: float | None = None  # offset at which finish() ended the schedule
        self._stopped_early = False
        self._mono0 = 0.0
        self._wall0 = 0.0
        self._started = False
        self._finished = False
        self._sent = 0
        self._completed = 0
        self._ok = 0
        self._overload = 0
        self._recent: collections.deque[float] = collections.deque()

    # ----------------------------------------------------------------- public

    async def run(self) -> LoadResult:
        """Run the schedule to its end (or until :meth:`stop`), wait for answers, return all.

        In-flight requests get at most ``request_timeout_s`` after the last send.

        Raises:
            LoadSpecError: the spec names an unknown arrival process.
            RuntimeError: ``run`` was already called on this generator.
        """
        if self._started:
            raise RuntimeError("a LoadGenerator runs once; create another")
        self._started = True
        owns_session = self._session is None
        if owns_session:
            connector = aiohttp.TCPConnector(limit=self.spec.max_in_flight, limit_per_host=0)
            self._session = aiohttp.ClientSession(connector=connector)
        progress = asyncio.create_task(self._report_progress()) if self._on_progress else None
        try:
            await self._schedule_loop()
            await self._drain()
            await self._cancel_in_flight()
            self._finished = True
        except asyncio.CancelledError:
            self._stopped_early = True
            await asyncio.shield(self._cancel_in_flight())
            raise
        finally:
            if progress is not None:
                progress.cancel()
            if owns_session and self._session is not None:
                await self._session.close()
        return self.result()

    def stop(self) -> None:
        """End the run early (idempotent): no more sends; in-flight requests become ``cancelled``.

        A no-op once the run has finished on its own."""
        if self._finished:
            return
        self._stopped_early = True
        self._stop.set()
        self._wake.set()

    def finish(self) -> None:
        """End the schedule now (idempotent): nothing more is sent; the answers still due are
        awaited as at a planned end. A no-op once the run has finished or been stopped."""
        if self._finished or self._wake.is_set():
            return
        self._finished_at_s = max(0.0, time.monotonic() - self._mono0) if self._mono0 else 0.0
        self._wake.set()

    def stats(self) -> LoadStats:
        """Live counters (cheap; safe to call from a progress loop)."""
        now = time.monotonic()
        self._trim_recent(now)
        errors = self._completed - self._ok
        return LoadStats(
            elapsed_s=max(0.0, now - self._mono0) if self._started else 0.0,
            scheduled=self._sent + self._overload,
            sent=self._sent,
            completed=self._completed,
            ok=self._ok,
            errors=errors,
            overload=self._overload,
            in_flight=len(self._tasks),
            current_rps=float(len(self._recent)),
        )

    def result(self) -> LoadResult:
        """Every record so far, in schedule order."""
        return LoadResult(
            run_id=self.run_id,
            seed=self.spec.seed,
            target_rps=self.spec.rate_rps,
            duration_s=self.spec.duration_s if self._finished_at_s is None
            else min(self.spec.duration_s, max(self._finished_at_s, 1e-3)),
            started_at=self._wall0,
            stopped_early=self._stopped_early,
            records=tuple(self._records[i] for i in sorted(self._records)),
        )

    # ----------------------------------------------------------------- internals

    async def _schedule_loop(self) -> None:
        self._mono0 = time.monotonic() + _LEAD_S
        self._wall0 = time.time() + _LEAD_S
        wake = self._wake
        for planned in iter_schedule(self.spec, run_id=self.run_id):
            if wake.is_set():
                return
            delay = self._mono0 + planned.offset_s - time.monotonic()
            if delay > _LONG_SLEEP_S:
                # Long gaps (low rates): wake up early if stop() or finish() comes meanwhile.
                try:
                    await asyncio.wait_for(wake.wait(), delay)
                    return
                except TimeoutError:
                    delay = self._mono0 + planned.offset_s - time.monotonic()
            # Never send early: timers may wake a little before their time (uvloop rounds to
            # whole milliseconds), so sleep again until the send time has really come.
            while delay > 0:
                await asyncio.sleep(delay)
                delay = self._mono0 + planned.offset_s - time.monotonic()
            if wake.is_set():
                return
            if len(self._tasks) >= self.spec.max_in_flight:
                self._record_overload(planned)
                continue
            task = asyncio.create_task(self._send(planned))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _drain(self) -> None:
        # Wait for the answers still due, unless stop() comes first. Requests carry their own
        # timeout; the bound here is only a backstop.
        if not self._tasks or self._stop.is_set():
            return
        all_done = asyncio.ensure_future(asyncio.wait(set(self._tasks)))
        stopped = asyncio.ensure_future(self._stop.wait())
        try:
            await asyncio.wait(
                {all_done, stopped},
                timeout=self.spec.request_timeout_s + 5.0,
                return_when=asyncio.FIRST_COMPLETED,
            )
        finally:
            all_done.cancel()
            stopped.cancel()

    async def _cancel_in_flight(self) -> None:
        pending = [task for task in self._tasks if not task.done()]
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)

    async def _send(self, planned: PlannedRequest) -> None:
        entry = self.spec.mix[planned.mix_index]
        headers, body = render_request(planned, entry)
        assert self._session is not None
        sent = time.monotonic()
        self._sent += 1
        try:
            outcome = await exchange(
                self._session, self.url, headers, body, stream=planned.stream, timeout=self._timeout
            )
        except asyncio.CancelledError:
            self._finish(planned, sent, status=0, ok=False, error_kind="cancelled")
            raise
        self._finish(
            planned,
            sent,
            status=outcome.status,
            ok=outcome.ok,
            error_kind=outcome.error_kind,
            served_by=outcome.served_by,
            upstream=outcome.upstream,
            attempts=outcome.attempts,
            failovers=outcome.failovers,
            retry_after_s=outcome.retry_after_s,
            first_event_ms=(
                (outcome.first_event_at - sent) * 1000.0 if outcome.first_event_at else None
            ),
        )

    def _finish(
        self,
        planned: PlannedRequest,
        sent: float,
        *,
        status: int,
        ok: bool,
        error_kind: str | None,
        served_by: str | None = None,
        upstream: str | None = None,
        attempts: int | None = None,
        failovers: tuple[str, ...] = (),
        retry_after_s: float | None = None,
        first_event_ms: float | None = None,
    ) -> None:
        done = time.monotonic()
        self._completed += 1
        if ok:
            self._ok += 1
        self._recent.append(done)
        self._trim_recent(done)  # amortised O(1); keeps memory flat without stats() calls
        scheduled = self._mono0 + planned.offset_s
        self._records[planned.index] = self._record(
            planned,
            sent_at=self._wall0 + (sent - self._mono0),
            arrival_error_ms=(sent - scheduled) * 1000.0,
            status=status,
            ok=ok,
            error_kind=error_kind,
            latency_ms=(done - sent) * 1000.0,
            first_event_ms=first_event_ms,
            completed_at=self._wall0 + (done - self._mono0),
            served_by=served_by,
            upstream=upstream,
            attempts=attempts,
            failovers=failovers,
            retry_after_s=retry_after_s,
        )

    def _record(self, planned: PlannedRequest, **outcome: Any) -> LoadRecord:
        """The record of one planned request: what was planned, plus how it went."""
        return LoadRecord(
            request_id=planned.request_id,
            index=planned.index,
            route=planned.route,
            tenant=planned.tenant,
            data_classes=planned.data_classes,
            region=planned.region,
            stream=planned.stream,
            offset_s=planned.offset_s,
            scheduled_at=self._wall0 + planned.offset_s,
            **outcome,
        )

    def _record_overload(self, planned: PlannedRequest) -> None:
        self._overload += 1
        now = time.monotonic()
        self._records[planned.index] = self._record(
            planned,
            sent_at=None,
            arrival_error_ms=None,
            status=0,
            ok=False,
            error_kind="client_overload",
            latency_ms=None,
            completed_at=self._wall0 + (now - self._mono0),
        )

    def _trim_recent(self, now: float) -> None:
        recent = self._recent
        while recent and recent[0] < now - 1.0:
            recent.popleft()

    async def _report_progress(self) -> None:
        assert self._on_progress is not None
        while True:
            await asyncio.sleep(self._progress_interval_s)
            self._on_progress(self.stats())
