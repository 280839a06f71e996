"""One chaos run, phase by phase, ending in ``report.json`` whatever happens.

Phases (chaostoolkit's shape, with typed results): ``start`` (fleet, proxies, gateway) →
``steady_before`` (load running, probes checked) → ``faults`` (timeline applied under load,
stop conditions watched) → ``recovery`` → ``steady_after`` (probes again) → ``teardown``.
Open-loop load runs without a break from the first steady-state window to the end of the
last one, so every phase sees the same traffic.

Verdicts are kept apart: ``failed`` means the system under test misbehaved (a probe deviated,
an assertion failed, a stop condition fired); ``broken`` means the run itself could not do its
job (a component did not start, a fault could not be applied, a crash, Ctrl-C). A broken or
interrupted run still tears everything down and writes a report marked ``partial: true``.

This module runs the phases; what they leave behind (:class:`~chaos.runner.outcome.RunOutcome`)
becomes ``report.json`` in the stages of :mod:`chaos.runner.assemble`. Load comes from
:mod:`chaos.load` (the scenario's ``load:`` translated by :mod:`chaos.load.from_scenario`),
stop conditions are watched by :class:`~chaos.runner.stop_conditions.StopConditionWatch`.

>>> runner = ChaosRunner(load_scenario("scenarios/provider-outage.yaml"), run_dir=d)  # doctest: +SKIP
>>> report = await runner.run()                                                       # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chaos.errors import RunBrokenError
from chaos.faults.registry import FaultRegistry, default_registry
from chaos.load.from_scenario import client_texts, load_spec_for, workflow_load_from_scenario
from chaos.load.generator import LoadGenerator
from chaos.load.workflow_models import WorkflowRun
from chaos.load.workflows import WorkflowGenerator
from chaos.report.model import CiInfo, HarnessEvent, PhaseInfo, Report, StopInfo, write_report
from chaos.report.records import AppliedFault, RequestRecord
from chaos.runner.assemble import assemble_report
from chaos.runner.assertions import evaluate_all
from chaos.runner.clock import Clock, MonotonicClock, iso_utc
from chaos.runner.metrics import MetricContext, Window
from chaos.runner.outcome import RunInputs, RunOutcome
from chaos.runner.records import from_load_record
from chaos.runner.stack import RunStack
from chaos.runner.stop_conditions import StopConditionBreached, StopConditionWatch
from chaos.runner.timeline import FaultTimeline
from chaos.runner.windows import measured, metric_context
from chaos.runner.workflow_metrics import shifted
from chaos.scenario.loader import LoadedScenario
from governance.errors import GovchaosError

log = logging.getLogger(__name__)

MONITOR_INTERVAL_S = 0.25
# The load schedule runs this much longer than planned unless finished when steady_after ends:
# room for a fault phase that overran (a slow revert) without cutting the phases after it.
SCHEDULE_SLACK_S = 60.0
OVERRUN_NOTE_S = 0.5  # a fault phase later than this is logged


@dataclass(frozen=True, slots=True)
class ProgressUpdate:
    """One progress line's worth of state (about once a second)."""

    phase: str
    elapsed_s: float
    rps: float
    sent: int
    ok: int
    errors: int
    active_faults: tuple[str, ...]


class SteadyStateDeviated(Exception):
    """Internal: the hypothesis did not hold before the faults; nothing is injected."""


def run_dir_name(scenario: str, now: dt.datetime | None = None) -> str:
    """``<scenario>-<UTC time>`` (e.g. ``provider-outage-20250101T120000Z``)."""
    now = now or dt.datetime.now(dt.UTC)
    return f"{scenario}-{now.strftime('%Y%m%dT%H%M%SZ')}"


class ChaosRunner:
    """Runs one loaded scenario into ``run_dir``. Create one runner per run."""

    def __init__(
        self,
        loaded: LoadedScenario,
        *,
        run_dir: Path,
        toxiproxy_url: str | None = None,
        registry: FaultRegistry | None = None,
        clock: Clock | None = None,
        on_progress: Callable[[ProgressUpdate], None] | None = None,
        policy_engine: str = "regorus",
        ci: CiInfo | None = None,
    ) -> None:
        self.loaded = loaded
        self.scenario = loaded.scenario
        self.run_dir = run_dir
        self.toxiproxy_url = toxiproxy_url
        self.registry = registry or default_registry()
        self.clock = clock or MonotonicClock()
        self.on_progress = on_progress
        self.policy_engine = policy_engine
        self.ci = ci  # the CI run's identity, read from the environment by the CLI
        self.inputs = RunInputs(loaded=loaded, run_dir=run_dir, registry=self.registry,
                                policy_engine=policy_engine, toxiproxy_url=toxiproxy_url, ci=ci)
        self._watch = StopConditionWatch(self.scenario.stop_conditions)
        self.run_id = uuid.uuid4().hex[:16]
        self.faults = self.scenario.named_faults()
        self._phase = "start"
        self._phases: list[PhaseInfo] = []
        self._events: list[HarnessEvent] = []
        self._problems: list[str] = []
        self._t0 = 0.0
        self._wall0 = 0.0
        self._started_at = ""
        self._generator: LoadGenerator | WorkflowGenerator | None = None
        self._workflow_cache: tuple[int, tuple[WorkflowRun, ...]] = (-1, ())
        self._timeline: FaultTimeline | None = None
        self._stop: StopInfo | None = None
        self._deviated_before = False
        self._broken: str | None = None
        self._interrupted = False
        self._stack: RunStack | None = None
        self._converted: dict[str, RequestRecord] = {}
        self._client_texts: tuple[str, ...] = ()
        self._measured_from_s: float | None = None  # end of the warm-up, if there was one

    # -- time and phases ----------------------------------------------------------------------
    def _elapsed(self) -> float:
        return self.clock.now() - self._t0

    def _enter(self, phase: str) -> None:
        now = round(self._elapsed(), 3)
        if self._phases and self._phases[-1].end_s is None:
            self._phases[-1] = self._phases[-1].model_copy(update={"end_s": now})
        self._phases.append(PhaseInfo(name=phase, start_s=now))  # type: ignore[arg-type]
        self._events.append(HarnessEvent(t_s=now, kind="phase", name=phase))
        self._phase = phase

    def _fault_event(self, event: str, fault: AppliedFault) -> None:
        detail = f"{fault.kind} on {fault.target}" + (f": {fault.error}" if fault.error else "")
        self._events.append(
            HarnessEvent(t_s=round(self._elapsed(), 3), kind="fault", name=f"{event} {fault.name}",
                         detail=detail)
        )

    # -- records ------------------------------------------------------------------------------
    def records(self) -> list[RequestRecord]:
        """Completed requests so far, converted to run-relative times."""
        if self._generator is None:
            return []
        # A record is final once the generator has it; convert each once (stop conditions
        # ask for the records four times a second).
        out = []
        for raw in self._generator.result().records:
            record = self._converted.get(raw.request_id)
            if record is None:
                record = self._converted[raw.request_id] = from_load_record(raw, wall0=self._wall0)
            out.append(record)
        return out

    # -- the run ------------------------------------------------------------------------------
    async def run(self) -> Report:
        """Run every phase and write ``report.json``; return the report.

        Never raises for a failed hypothesis or a broken run: both end in the report's verdict.
        Re-raises ``asyncio.CancelledError`` (Ctrl-C) after the partial report is written.
        """
        self._t0 = self.clock.now()
        self._wall0 = time.time()
        self._started_at = iso_utc(self._wall0)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        work_dir = Path(tempfile.mkdtemp(prefix=f"govchaos-{self.run_id}-"))
        stack = RunStack(
            self.loaded,
            run_id=self.run_id,
            run_dir=self.run_dir,
            work_dir=work_dir,
            toxiproxy_url=self.toxiproxy_url,
        )
        self._stack = stack
        self._enter("start")
        load_task: asyncio.Task[Any] | None = None
        progress_task: asyncio.Task[None] | None = None
        cancelled: BaseException | None = None
        upstream_entries: list[Any] = []
        try:
            await stack.start()
            self._events.append(HarnessEvent(
                t_s=round(self._elapsed(), 3), kind="phase", name="ready",
                detail=f"gateway {stack.base_url} pids {stack.pids}",
            ))
            self._generator = self._make_generator(stack)
            load_start = self.clock.now()
            load_task = asyncio.create_task(self._generator.run())
            progress_task = asyncio.create_task(self._progress_loop())
            await self._phases_under_load(load_start, load_task)
            await self._finish_load(load_task)
        except SteadyStateDeviated:
            pass
        except StopConditionBreached as stop:
            self._stop = StopInfo(condition=stop.result.name, at_s=round(stop.at_s, 3),
                                  observed=stop.result.observed)
        except GovchaosError as exc:  # RunBrokenError, FaultApplyError, template errors...
            self._broken = exc.diagnostics()
        except asyncio.CancelledError as exc:
            self._interrupted = True
            self._broken = "interrupted (Ctrl-C or SIGTERM) before the run finished"
            cancelled = exc
        except Exception as exc:  # a crash in the harness: still tear down and report
            log.exception("chaos run crashed")
            self._broken = f"harness crashed: {type(exc).__name__}: {exc}"
        finally:
            self._enter("teardown")
            if self._timeline is not None:
                self._problems.extend(await self._timeline.revert_all())
            if progress_task is not None:
                progress_task.cancel()
            if load_task is not None and not load_task.done() and self._generator is not None:
                self._generator.stop()
                await asyncio.wait({load_task}, timeout=15.0)
            try:
                upstream_entries = await asyncio.wait_for(stack.upstream_log(), 15.0)
            except Exception as exc:
                self._problems.append(f"could not read upstream logs: {exc}")
            self._problems.extend(await stack.stop())
            report = await assemble_report(self._outcome(upstream_entries), self.inputs, stack)
            write_report(self.run_dir, report)
        if cancelled is not None:
            raise cancelled
        return report

    def _make_generator(self, stack: RunStack) -> LoadGenerator | WorkflowGenerator:
        # The schedule is planned SCHEDULE_SLACK_S longer than the scenario and finished when
        # steady_after ends (_phases_under_load), so phases a slow fault step moved later still
        # have load.
        duration_s = self.scenario.planned_duration_s() + SCHEDULE_SLACK_S
        if self.scenario.load.workflows:
            self._client_texts = tuple(sorted({s.text for w in self.scenario.load.workflows
                                               for s in w.steps if s.text}))
            load = workflow_load_from_scenario(self.scenario, duration_s=duration_s)
            return WorkflowGenerator(load, stack.base_url, run_id=self.run_id)
        spec = load_spec_for(self.scenario).model_copy(update={"duration_s": duration_s})
        self._client_texts = client_texts(spec)
        return LoadGenerator(spec, stack.base_url, run_id=self.run_id)

    async def _sleep_until(self, deadline: float, *, watch: bool, timeline_task: Any = None) -> None:
        """Sleep to ``deadline`` (clock time), checking stop conditions and the timeline."""
        while True:
            now = self.clock.now()
            if now >= deadline:
                return
            wait = min(MONITOR_INTERVAL_S, deadline - now)
            if timeline_task is not None and not timeline_task.done():
                await asyncio.wait({timeline_task}, timeout=wait)
            else:
                await self.clock.sleep(wait)
            if timeline_task is not None and timeline_task.done() and timeline_task.exception():
                raise timeline_task.exception()
            if watch:
                self._check_stop_conditions()

    def _check_stop_conditions(self) -> None:
        if self._watch.conditions:
            self._watch.check(measured(self.records(), self._measured_from_s), self._elapsed(),
                              self._workflow_runs())

    async def _phases_under_load(self, load_start: float, load_task: asyncio.Task[Any]) -> None:
        s = self.scenario
        steady = s.steady_state.duration_s
        steady_start = load_start + s.target.warmup_s
        faults_start = steady_start + steady
        faults_end = faults_start + s.fault_phase_s()
        recovery_end = faults_end + s.recovery_s
        after_end = recovery_end + steady

        if s.target.warmup_s > 0:
            # Slow-starting gateways (LiteLLM's first requests take 1-2 s): load them before
            # the hypothesis is measured; these requests count nowhere but in the logs.
            self._enter("warmup")
            await self._sleep_until(steady_start, watch=False)
            self._measured_from_s = round(self._elapsed(), 3)
        self._enter("steady_before")
        await self._sleep_until(faults_start, watch=True)
        before = evaluate_all(s.steady_state.probes, self._ctx(), window=self._last_window())
        if not all(r.passed for r in before):
            self._deviated_before = True
            self._generator.stop()
            raise SteadyStateDeviated()

        self._enter("faults")
        self._timeline = FaultTimeline(
            self.faults, self.registry, self._stack, self.clock,
            run_start=self._t0, on_event=self._fault_event,
        )
        timeline_task = asyncio.create_task(self._timeline.run(phase_start=faults_start))
        try:
            await self._sleep_until(faults_end, watch=True, timeline_task=timeline_task)
            await timeline_task  # ends with the last revert, which is at or before faults_end
        finally:
            if not timeline_task.done():
                timeline_task.cancel()
                await asyncio.wait({timeline_task})

        # The fault phase ends with its last revert, which can come later than planned (under
        # CPU load, restarting a killed upstream takes seconds): recovery and the steady state
        # after are measured from the real end, so neither is cut short.
        overrun = max(0.0, self.clock.now() - faults_end)
        if overrun > OVERRUN_NOTE_S:
            log.warning("the fault phase ended %.1f s later than planned (slow revert); "
                        "recovery and steady_after start from its real end", overrun)
        recovery_end = faults_end + overrun + s.recovery_s
        after_end = recovery_end + steady
        self._enter("recovery")
        await self._sleep_until(recovery_end, watch=True)
        self._enter("steady_after")
        await self._sleep_until(after_end, watch=False)
        self._generator.finish()

    async def _finish_load(self, load_task: asyncio.Task[Any]) -> None:
        # The schedule ends with steady_after; wait for the last answers (bounded by timeouts).
        await asyncio.wait({load_task}, timeout=self.scenario.load.request_timeout_s + 10.0)
        if not load_task.done():
            self._generator.stop()
            await asyncio.wait({load_task}, timeout=5.0)
        if load_task.done() and not load_task.cancelled() and load_task.exception():
            raise RunBrokenError(f"load generator failed: {load_task.exception()}")

    def _last_window(self) -> Window:
        phase = self._phases[-1]
        return Window(phase.start_s, self._elapsed())

    async def _progress_loop(self) -> None:
        last_completed = 0
        last_t = self.clock.now()
        while True:
            await asyncio.sleep(1.0)
            if self.on_progress is None or self._generator is None:
                continue
            stats = self._generator.stats()
            now = self.clock.now()
            rps = (stats.completed - last_completed) / max(1e-6, now - last_t)
            last_completed, last_t = stats.completed, now
            active = tuple(self._timeline.active()) if self._timeline else ()
            try:
                self.on_progress(ProgressUpdate(
                    phase=self._phase, elapsed_s=self._elapsed(), rps=rps, sent=stats.sent,
                    ok=stats.ok, errors=stats.errors, active_faults=active,
                ))
            except Exception:  # a broken progress printer must not break the run
                log.debug("progress callback failed", exc_info=True)

    # -- results ------------------------------------------------------------------------------
    def _ctx(self) -> MetricContext:
        """The metric context so far (the steady-state probes before the faults use it)."""
        return metric_context(
            self.records(), phases=self._phases,
            applied=self._timeline.applied() if self._timeline else (), now_s=self._elapsed(),
            measured_from_s=self._measured_from_s, upstreams=self.scenario.upstreams,
            workflows=self._workflow_runs(),
        )

    def _workflow_runs(self) -> tuple[WorkflowRun, ...]:
        """The workflow runs so far at run-relative times (none for request load)."""
        runs = getattr(self._generator, "workflows", None)
        if runs is None:
            return ()
        done = runs()
        if self._workflow_cache[0] != len(done):
            offset = self._generator_offset()
            kept = [w for w in done if self._measured_from_s is None
                    or w.started_s >= self._measured_from_s - offset]
            self._workflow_cache = (len(done), shifted(kept, offset))
        return self._workflow_cache[1]

    def _generator_offset(self) -> float:
        assert self._generator is not None
        return self._generator.started_at - self._wall0

    def _outcome(self, upstream_entries: list[Any]) -> RunOutcome:
        """What the phases left behind, for the report stages (after teardown)."""
        return RunOutcome(
            run_id=self.run_id, started_at=self._started_at, wall0=self._wall0,
            now_s=self._elapsed(), phases=tuple(self._phases), events=tuple(self._events),
            records=tuple(self.records()), measured_from_s=self._measured_from_s,
            upstream_entries=tuple(upstream_entries), timeline=self._timeline,
            client_texts=self._client_texts, workflows=self._workflow_runs(), stop=self._stop,
            stop_results=self._watch.results(self._stop), deviated_before=self._deviated_before,
            broken=self._broken, teardown_problems=tuple(self._problems),
        )
