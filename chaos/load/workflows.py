"""The workflow load generator: agent workflows, open-loop, each step a request.

Workflow arrivals are open-loop (each type at its ``rate_per_s``, drawn from the seed, one
independent stream per type); inside a workflow the steps run one after another, each built
from fixed text or from earlier steps' answers, with an agent framework's client behaviour:
retries with exponential backoff inside the step's deadline, then the fallback (a template
answer) or the workflow is abandoned. Every request carries ``X-Govchaos-Workflow-Id`` and
``X-Govchaos-Step`` (``<workflow>/<step>``) next to the usual headers, and the request marker
in its prompt (:mod:`chaos.markers`); an answer's carried markers travel into the next step
unless that step redacts.

The generator has :class:`~chaos.load.generator.LoadGenerator`'s interface (``run``, ``stop``,
``finish``, ``stats``, ``result``; the schedule is :mod:`chaos.load.open_loop`'s) so the runner drives either; :meth:`WorkflowGenerator.workflows` adds the
workflow runs.

>>> generator = WorkflowGenerator(load, "http://127.0.0.1:8080")    # doctest: +SKIP
>>> result = await generator.run(); runs = generator.workflows()    # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import collections
import heapq
import random
import time
import uuid
from collections.abc import Iterator

import aiohttp
import orjson

from chaos.load.arrivals import arrival_process
from chaos.load.client import (
    DATA_CLASSES, REGION, REQUEST_ID, ROUTE, Outcome, exchange_content,
)
from chaos.load.models import LoadRecord, LoadResult, LoadStats
from chaos.load.open_loop import OpenLoop
from chaos.load.workflow_models import StepRun, WorkflowLoad, WorkflowRun
from chaos.markers import mark, strip_carried
from chaos.scenario.workflows import WorkflowSpec, WorkflowStep

WORKFLOW_ID = "X-Govchaos-Workflow-Id"
STEP = "X-Govchaos-Step"


def iter_workflow_schedule(load: WorkflowLoad) -> Iterator[tuple[float, int]]:
    """(offset_s, workflow type index) of every arrival, in time order (deterministic)."""
    process = arrival_process(load.arrival)

    def one(index: int, spec: WorkflowSpec) -> Iterator[tuple[float, int]]:
        rng = random.Random(f"{load.seed}:workflow:{spec.name}")
        for offset in process.offsets(spec.rate_per_s, load.duration_s, rng):
            yield offset, index

    return heapq.merge(*(one(i, w) for i, w in enumerate(load.workflows)))


class WorkflowGenerator(OpenLoop[tuple[int, int]]):
    """Drive ``load`` against ``base_url``; see the module docstring."""

    def __init__(
        self, load: WorkflowLoad, base_url: str, *, run_id: str | None = None,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        super().__init__(max_in_flight=load.max_in_flight, planned_duration_s=load.duration_s)
        self.load = load
        self.url = base_url.rstrip("/") + load.path
        self.run_id = run_id or uuid.uuid4().hex[:12]
        self._session = session
        self._records: list[LoadRecord] = []
        self._runs: dict[int, WorkflowRun] = {}
        self._sent = 0
        self._completed = 0
        self._ok = 0
        self._overload = 0
        self._recent: collections.deque[float] = collections.deque()
        self._keys = {t: k.get_secret_value() for t, k in load.api_keys.items()}

    # ----------------------------------------------------------------- public

    @property
    def started_at(self) -> float:
        """Epoch seconds of offset 0."""
        return self._wall0

    async def run(self) -> LoadResult:
        """Run the arrivals to their end (or :meth:`stop`), wait for running workflows, return
        the request records. Raises RuntimeError when called twice."""
        self._begin("WorkflowGenerator")
        owns = self._session is None
        if owns:
            connector = aiohttp.TCPConnector(limit=self.load.max_in_flight, limit_per_host=0)
            self._session = aiohttp.ClientSession(connector=connector)
        longest = max(self._step_budget_s(s) for w in self.load.workflows for s in w.steps)
        try:
            await self._run_schedule(
                ((offset, (index, kind))
                 for index, (offset, kind) in enumerate(iter_workflow_schedule(self.load))),
                self._launch, self._overloaded,
                drain_bound_s=longest * max(len(w.steps) for w in self.load.workflows) + 5.0)
        finally:
            if owns and self._session is not None:
                await self._session.close()
        return self.result()

    def stats(self) -> LoadStats:
        now = time.monotonic()
        self._trim(now)
        return LoadStats(
            elapsed_s=max(0.0, now - self._mono0) if self._started else 0.0,
            scheduled=self._sent + self._overload, sent=self._sent, completed=self._completed,
            ok=self._ok, errors=self._completed - self._ok, overload=self._overload,
            in_flight=len(self._tasks), current_rps=float(len(self._recent)),
        )

    def result(self) -> LoadResult:
        """Every request sent so far, in send order."""
        return LoadResult(
            run_id=self.run_id, seed=self.load.seed, target_rps=self.load.target_rps(),
            duration_s=self.schedule_length_s(), started_at=self._wall0,
            stopped_early=self._stopped_early, records=tuple(self._records),
        )

    def workflows(self) -> tuple[WorkflowRun, ...]:
        """Every workflow run that has ended (finished, abandoned or cancelled), by arrival."""
        return tuple(self._runs[i] for i in sorted(self._runs))

    # ----------------------------------------------------------------- internals

    async def _launch(self, offset: float, item: tuple[int, int]) -> None:
        index, kind = item
        await self._run_workflow(index, offset, self.load.workflows[kind])

    def _overloaded(self, offset: float, item: tuple[int, int]) -> None:
        index, kind = item
        self._overload += 1
        now = self._now()
        self._runs[index] = WorkflowRun(
            workflow_id=self._workflow_id(index), workflow=self.load.workflows[kind].name,
            index=index, scheduled_s=offset, started_s=now, ended_s=now, outcome="abandoned")

    def _step_budget_s(self, step: WorkflowStep) -> float:
        if step.retry.deadline_ms is not None:
            return step.retry.deadline_ms / 1000.0
        backoff = sum(step.retry.backoff_ms * 2 ** n for n in range(step.retry.attempts - 1))
        return step.retry.attempts * self.load.request_timeout_s + backoff / 1000.0

    def _workflow_id(self, index: int) -> str:
        return f"{self.run_id}-w{index}"

    def _now(self) -> float:
        return time.monotonic() - self._mono0

    async def _run_workflow(self, index: int, offset: float, spec: WorkflowSpec) -> None:
        workflow_id = self._workflow_id(index)
        started = self._now()
        answers: dict[str, str] = {}
        steps: list[StepRun] = []
        outcome = "succeeded"
        try:
            for n, step in enumerate(spec.steps):
                run, answer = await self._run_step(
                    spec, step, n, workflow_id, index, answers,
                    arrival_error_ms=(started - offset) * 1000.0 if n == 0 else None)
                steps.append(run)
                if run.outcome == "failed":
                    outcome = "abandoned"
                    break
                if run.outcome == "fallback":
                    outcome = "fallback"
                answers[step.id] = answer
        except asyncio.CancelledError:
            outcome = "cancelled"
            raise
        finally:
            self._runs[index] = WorkflowRun(
                workflow_id=workflow_id, workflow=spec.name, index=index, scheduled_s=offset,
                started_s=started, ended_s=self._now(), outcome=outcome,  # type: ignore[arg-type]
                steps=tuple(steps))

    async def _run_step(
        self, spec: WorkflowSpec, step: WorkflowStep, n: int, workflow_id: str, index: int,
        answers: dict[str, str], *, arrival_error_ms: float | None,
    ) -> tuple[StepRun, str]:
        if step.text is not None:
            text = step.text
        else:
            text = "\n".join(answers[ref] for ref in step.from_)
            if step.transform == "redact":
                text = strip_carried(text)
        started = self._now()
        deadline = (started + step.retry.deadline_ms / 1000.0
                    if step.retry.deadline_ms is not None else None)
        ids: list[str] = []
        errors: list[str] = []
        attempt = 0
        while attempt < step.retry.attempts:
            if attempt:
                pause = step.retry.backoff_ms * 2 ** (attempt - 1) / 1000.0
                if deadline is not None:
                    pause = min(pause, max(0.0, deadline - self._now()))
                if pause > 0:
                    await asyncio.sleep(pause)
            timeout = self.load.request_timeout_s
            if deadline is not None:
                timeout = min(timeout, deadline - self._now())
                if timeout <= 0.001:
                    break
            attempt += 1
            request_id = f"{self.run_id}-w{index}.{n}.{attempt}"
            ids.append(request_id)
            outcome, content = await self._send(
                spec, step, text, request_id, workflow_id, attempt, timeout,
                arrival_error_ms if attempt == 1 else None)
            if outcome.ok and content is not None:
                return StepRun(step=step.id, outcome="ok", attempts=attempt,
                               request_ids=tuple(ids), errors=tuple(errors),
                               started_s=started, ended_s=self._now()), content
            errors.append(outcome.error_kind or "no_content")
        if step.fallback is not None:
            return StepRun(step=step.id, outcome="fallback", attempts=attempt,
                           request_ids=tuple(ids), errors=tuple(errors), started_s=started,
                           ended_s=self._now()), step.fallback.text
        return StepRun(step=step.id, outcome="failed", attempts=attempt, request_ids=tuple(ids),
                       errors=tuple(errors), started_s=started, ended_s=self._now()), ""

    async def _send(
        self, spec: WorkflowSpec, step: WorkflowStep, text: str, request_id: str,
        workflow_id: str, attempt: int, timeout_s: float, arrival_error_ms: float | None,
    ) -> tuple[Outcome, str | None]:
        headers = {
            "Authorization": f"Bearer {self._keys[spec.tenant]}",
            "Content-Type": "application/json",
            REQUEST_ID: request_id,
            ROUTE: step.route,
            DATA_CLASSES: ",".join(step.data_classes or ("public",)),
            WORKFLOW_ID: workflow_id,
            STEP: f"{spec.name}/{step.id}",
        }
        if step.region:
            headers[REGION] = step.region
        body: dict[str, object] = {
            "messages": [{"role": "user", "content": mark(text, request_id)}],
            "user": f"govchaos:{request_id}",
            "max_tokens": step.max_tokens or self.load.max_tokens,
        }
        model = step.model or self.load.route_models.get(step.route)
        if model is not None:
            body["model"] = model
        if step.stream:
            body["stream"] = True
        assert self._session is not None
        sent = time.monotonic()
        self._sent += 1
        outcome = Outcome()
        content: str | None = None
        try:
            outcome, content = await exchange_content(
                self._session, self.url, headers, orjson.dumps(body), stream=step.stream,
                timeout=aiohttp.ClientTimeout(total=timeout_s))
        except asyncio.CancelledError:
            outcome.error_kind = "cancelled"
            self._finish(spec, step, request_id, workflow_id, attempt, sent, outcome,
                         arrival_error_ms)
            raise
        self._finish(spec, step, request_id, workflow_id, attempt, sent, outcome,
                     arrival_error_ms)
        return outcome, content

    def _finish(
        self, spec: WorkflowSpec, step: WorkflowStep, request_id: str, workflow_id: str,
        attempt: int, sent: float, outcome: Outcome, arrival_error_ms: float | None,
    ) -> None:
        done = time.monotonic()
        self._completed += 1
        if outcome.ok:
            self._ok += 1
        self._recent.append(done)
        self._trim(done)
        sent_at = self._wall0 + (sent - self._mono0)
        self._records.append(LoadRecord(
            request_id=request_id, index=len(self._records), route=step.route,
            tenant=spec.tenant, data_classes=step.data_classes or ("public",),
            region=step.region, stream=step.stream, offset_s=sent - self._mono0,
            scheduled_at=sent_at, sent_at=sent_at, arrival_error_ms=arrival_error_ms,
            status=outcome.status, ok=outcome.ok, error_kind=outcome.error_kind,
            latency_ms=(done - sent) * 1000.0,
            first_event_ms=(outcome.first_event_at - sent) * 1000.0
            if outcome.first_event_at else None,
            completed_at=self._wall0 + (done - self._mono0), served_by=outcome.served_by,
            upstream=outcome.upstream, attempts=outcome.attempts, failovers=outcome.failovers,
            retry_after_s=outcome.retry_after_s, error_code=outcome.error_code,
            workflow_id=workflow_id, workflow=spec.name,
            step=step.id, attempt=attempt,
        ))

    def _trim(self, now: float) -> None:
        recent = self._recent
        while recent and recent[0] < now - 1.0:
            recent.popleft()
