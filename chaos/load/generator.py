"""The open-loop load generator: one request per arrival.

The schedule (absolute send times, each request its own task, ``client_overload`` records when
the client is the bottleneck, and the three ways it ends: planned, ``finish()``, ``stop()``) is
:mod:`chaos.load.open_loop`'s.

>>> generator = LoadGenerator(spec, "http://127.0.0.1:8080")    # doctest: +SKIP
>>> result = await generator.run()                                # doctest: +SKIP
>>> result.achieved_rps(), result.arrival_error_ms(0.99)          # doctest: +SKIP

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
from chaos.load.open_loop import OpenLoop
from chaos.load.schedule import iter_schedule

class LoadGenerator(OpenLoop[PlannedRequest]):
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
        super().__init__(max_in_flight=spec.max_in_flight, planned_duration_s=spec.duration_s)
        self.spec = spec
        self.url = base_url.rstrip("/") + spec.path
        self.run_id = run_id or uuid.uuid4().hex[:12]
        self._session = session
        self._on_progress = on_progress
        self._progress_interval_s = progress_interval_s
        self._timeout = aiohttp.ClientTimeout(total=spec.request_timeout_s)
        self._records: dict[int, LoadRecord] = {}
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
        self._begin("LoadGenerator")
        owns_session = self._session is None
        if owns_session:
            connector = aiohttp.TCPConnector(limit=self.spec.max_in_flight, limit_per_host=0)
            self._session = aiohttp.ClientSession(connector=connector)
        progress = asyncio.create_task(self._report_progress()) if self._on_progress else None
        try:
            # Requests carry their own timeout; the drain bound is only a backstop.
            await self._run_schedule(
                ((p.offset_s, p) for p in iter_schedule(self.spec, run_id=self.run_id)),
                lambda _offset, planned: self._send(planned),
                lambda _offset, planned: self._record_overload(planned),
                drain_bound_s=self.spec.request_timeout_s + 5.0)
        finally:
            if progress is not None:
                progress.cancel()
            if owns_session and self._session is not None:
                await self._session.close()
        return self.result()

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
            duration_s=self.schedule_length_s(),
            started_at=self._wall0,
            stopped_early=self._stopped_early,
            records=tuple(self._records[i] for i in sorted(self._records)),
        )

    # ----------------------------------------------------------------- internals

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
            error_code=outcome.error_code,
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
        error_code: str | None = None,
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
            error_code=error_code,
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
