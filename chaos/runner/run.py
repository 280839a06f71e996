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

import orjson

from chaos.errors import RunBrokenError
from chaos.faults.effects import EffectResult, UpstreamHit
from chaos.faults.registry import FaultRegistry, default_registry
from chaos.runner import analysis
from chaos.runner.assertions import CheckResult, describe, evaluate, evaluate_all
from chaos.runner.attribution import Attribution, attribute
from chaos.runner.clock import Clock, MonotonicClock
from chaos.runner.environment import capture_environment
from chaos.runner.evidence import data_class_matrix, shape_of, upstream_table
from chaos.runner.metrics import FaultWindow, MetricContext, Window
from chaos.runner.data_flow import DataFlowSummary, count_data_flow_violations
from chaos.runner.records import RequestRecord
from chaos.runner.workflow_metrics import is_workflow_metric, shifted
from chaos.runner.report import (
    AuditInfo,
    CiInfo,
    GatewayInfo,
    HarnessEvent,
    PhaseInfo,
    PolicyInfo,
    PolicyViolations,
    Provenance,
    Report,
    ScenarioInfo,
    SteadyStateResults,
    StopInfo,
    write_report,
)
from chaos.runner.stack import AUDIT_DIR, RunStack
from chaos.runner.timeline import AppliedFault, FaultTimeline
from chaos.runner.violations import candidates_for, catalog_models, count_violations
from chaos.scenario.loader import LoadedScenario
from chaos.scenario.model import ExternalTarget
from governance.decision import DecisionInput
from governance.errors import GovchaosError

log = logging.getLogger(__name__)

REQUESTS_FILE = "requests.jsonl"
UPSTREAM_FILE = "upstream-requests.jsonl"
CONFIG_FILE = "gateway-config.yaml"
SCENARIO_FILE = "scenario.yaml"
MONITOR_INTERVAL_S = 0.25


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


class StopConditionBreached(Exception):
    """Internal: a stop condition fired; the run ends early with verdict ``failed``."""

    def __init__(self, result: CheckResult, at_s: float) -> None:
        super().__init__(result.name)
        self.result = result
        self.at_s = at_s


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
        # Per stop condition (by index): the value closest to tripping, and windows evaluated.
        self._stop_seen: dict[int, tuple[float | None, int]] = {}
        self._tripped: int | None = None
        self.run_id = uuid.uuid4().hex[:16]
        self.faults = self.scenario.named_faults()
        self._phase = "start"
        self._phases: list[PhaseInfo] = []
        self._events: list[HarnessEvent] = []
        self._problems: list[str] = []
        self._t0 = 0.0
        self._wall0 = 0.0
        self._generator: Any = None
        self._timeline: FaultTimeline | None = None
        self._stop: StopInfo | None = None
        self._deviated_before = False
        self._broken: str | None = None
        self._interrupted = False
        self._stack: RunStack | None = None
        self._converted: dict[str, RequestRecord] = {}
        self._client_texts: tuple[str, ...] = ()
        self._measured_from_s: float | None = None  # end of the warm-up, if there was one
        self._data_flow: DataFlowSummary | None = None
        self._workflow_cache: tuple[int, tuple[Any, ...]] = (-1, ())

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
                record = self._converted[raw.request_id] = self._convert(raw)
            out.append(record)
        return out

    def _measured(self, records: list[RequestRecord]) -> list[RequestRecord]:
        """``records`` without the warm-up's: those count in no window and no metric."""
        if self._measured_from_s is None:
            return records
        return [r for r in records if r.sent_at_s >= self._measured_from_s]

    def _convert(self, r: Any) -> RequestRecord:
        sent = r.sent_at if r.sent_at is not None else r.scheduled_at
        latency = r.latency_ms if r.latency_ms is not None else (r.completed_at - sent) * 1000.0
        return RequestRecord(
            request_id=r.request_id,
            sent_at_s=round(sent - self._wall0, 6),
            ended_at_s=round(r.completed_at - self._wall0, 6),
            route=r.route,
            tenant=r.tenant,
            data_classes=tuple(r.data_classes),
            region=r.region,
            stream=r.stream,
            status=r.status,
            latency_ms=round(max(0.0, latency), 3),
            served_by=r.served_by,
            upstream=r.upstream,
            attempts=r.attempts or 0,
            failovers=tuple(r.failovers),
            retry_after=r.retry_after_s is not None,
            retry_after_s=r.retry_after_s,
            error=r.error_kind if not r.ok else None,
            workflow_id=r.workflow_id, workflow=r.workflow, step=r.step, attempt=r.attempt,
        )

    # -- the run ------------------------------------------------------------------------------
    async def run(self) -> Report:
        """Run every phase and write ``report.json``; return the report.

        Never raises for a failed hypothesis or a broken run: both end in the report's verdict.
        Re-raises ``asyncio.CancelledError`` (Ctrl-C) after the partial report is written.
        """
        self._t0 = self.clock.now()
        self._wall0 = time.time()
        started_at = _iso(self._wall0)
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
            if load_task is not None and not load_task.done():
                self._generator.stop()
                await asyncio.wait({load_task}, timeout=15.0)
            try:
                upstream_entries = await asyncio.wait_for(stack.upstream_log(), 15.0)
            except Exception as exc:
                self._problems.append(f"could not read upstream logs: {exc}")
            self._problems.extend(await stack.stop())
            report = await self._build_report(stack, upstream_entries, started_at)
            write_report(self.run_dir, report)
        if cancelled is not None:
            raise cancelled
        return report

    def _make_generator(self, stack: RunStack) -> Any:
        from chaos.load.generator import LoadGenerator

        if self.scenario.load.workflows:
            from chaos.load.workflows import WorkflowGenerator, workflow_load_from_scenario

            self._client_texts = tuple(sorted({s.text for w in self.scenario.load.workflows
                                               for s in w.steps if s.text}))
            load = workflow_load_from_scenario(
                self.scenario, duration_s=self.scenario.planned_duration_s())
            return WorkflowGenerator(load, stack.base_url, run_id=self.run_id)
        from chaos.load.models import DataClassMix, LoadSpec, RouteMix

        keys = {k.tenant: k.key for k in self.scenario.keys}
        target = self.scenario.target
        route_models = target.route_models if isinstance(target, ExternalTarget) else {}
        if isinstance(target, ExternalTarget) and target.api_key is not None:
            keys = {entry.tenant: target.api_key for entry in self.scenario.load.routes}
        mix = []
        for entry in self.scenario.load.routes:
            if entry.tenant not in keys:
                raise RunBrokenError(f"load.routes: no key declared for tenant {entry.tenant!r}")
            mix.append(
                RouteMix(
                    route=entry.route,
                    weight=entry.weight,
                    tenant=entry.tenant,
                    api_key=keys[entry.tenant],
                    data_classes=(DataClassMix(classes=entry.data_classes),)
                    if entry.data_classes
                    else (DataClassMix(classes=("public",)),),
                    region=entry.region,
                    model=entry.model or route_models.get(entry.route),
                    max_tokens=self.scenario.load.max_tokens,
                )
            )
        self._client_texts = tuple(sorted({m.prompt for m in mix}))
        load = self.scenario.load
        spec = LoadSpec(
            rate_rps=load.rate_rps,
            duration_s=self.scenario.planned_duration_s(),
            arrival="poisson" if load.arrival == "poisson" else "constant",
            seed=self.scenario.seed,
            mix=tuple(mix),
            stream_share=load.stream_share,
            request_timeout_s=load.request_timeout_s,
        )
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
        if not self.scenario.stop_conditions:
            return
        now = self._elapsed()
        records = self._measured(self.records())
        for index, condition in enumerate(self.scenario.stop_conditions):
            window = [r for r in records if now - condition.window_s <= r.ended_at_s <= now]
            if len(window) < condition.min_requests:
                continue
            result = evaluate(condition, MetricContext(records=window, workflows=[
                w for w in self._workflow_runs() if now - condition.window_s <= w.ended_s <= now
            ] if is_workflow_metric(condition.metric) else ()))
            worst, count = self._stop_seen.get(index, (None, 0))
            self._stop_seen[index] = (_closer(condition.op, worst, result.observed), count + 1)
            if result.passed:  # the condition holds: that is the breach it describes
                self._stop_seen[index] = (result.observed, count + 1)
                self._tripped = index
                raise StopConditionBreached(result, now)

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

        self._enter("recovery")
        await self._sleep_until(recovery_end, watch=True)
        self._enter("steady_after")
        await self._sleep_until(after_end, watch=False)

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
    def _phase_windows(self) -> dict[str, Window]:
        windows = {}
        for phase in self._phases:
            if phase.name in ("steady_before", "faults", "recovery", "steady_after"):
                end = phase.end_s if phase.end_s is not None else self._elapsed()
                windows[phase.name] = Window(phase.start_s, end)
        return windows

    def _fault_windows(self) -> dict[str, FaultWindow]:
        if self._timeline is None:
            return {}
        windows = {}
        end_default = self._elapsed()
        for fault in self._timeline.applied():
            if fault.applied_at_s is None:
                continue
            end = fault.reverted_at_s if fault.reverted_at_s is not None else end_default
            windows[fault.name] = FaultWindow(fault.name, fault.target,
                                              Window(fault.applied_at_s, end))
        return windows

    def _ctx(self, records: list[RequestRecord] | None = None,
             violations: int | None = None, attribution: Attribution | None = None,
             ) -> MetricContext:
        return MetricContext(
            records=self._measured(records if records is not None else self.records()),
            phases=self._phase_windows(),
            faults=self._fault_windows(),
            policy_violations=violations,
            model_to_upstream={u.model: u.name for u in self.scenario.upstreams},
            attribution=attribution,
            workflows=self._workflow_runs(),
            data_flow_violations=self._data_flow.violations if self._data_flow else None,
        )

    def _workflow_runs(self) -> tuple[Any, ...]:
        """The workflow runs so far at run-relative times (none for request load)."""
        runs = getattr(self._generator, "workflows", None)
        if runs is None:
            return ()
        done = runs()
        if self._workflow_cache[0] != len(done):
            measured = [w for w in done if self._measured_from_s is None
                        or w.started_s >= self._measured_from_s - self._generator_offset()]
            self._workflow_cache = (len(done), shifted(measured, self._generator_offset()))
        return self._workflow_cache[1]

    def _workflow_section(self, ctx: MetricContext) -> Any:
        if not self.scenario.load.workflows:
            return None
        from chaos.runner.workflow_report import workflow_section

        return workflow_section(
            ctx.workflows, [(w.name, [s.id for s in w.steps]) for w in self.scenario.load.workflows],
            ctx.faults, self._data_flow)

    def _generator_offset(self) -> float:
        return self._generator.started_at - self._wall0

    def _effect_verdicts(
        self, hits: dict[str, list[UpstreamHit]]
    ) -> dict[str, EffectResult]:
        """Each applied fault's declared effect, judged from the ground truth gathered."""
        if self._timeline is None:
            return {}
        specs = {f.name or f.kind: f for f in self.faults}
        verdicts: dict[str, EffectResult] = {}
        for fault in self._timeline.applied():
            if fault.applied_at_s is None:
                continue
            live = self._timeline.evidence(fault.name)
            effect = live.effect
            if effect is None:  # applied without the timeline's evidence (never in practice)
                spec = specs[fault.name]
                kind = self.registry.get(spec.kind)
                effect = kind.effect(spec, self.registry.parse_params(spec),
                                     self.scenario.upstream(spec.target))
            verdicts[fault.name] = analysis.verify_effect(
                fault, effect, live, hits.get(fault.target, ()), self._elapsed())
        return verdicts

    async def _violations(self, entries: list[Any], records: list[RequestRecord]) -> Any:
        from governance.engine import create_engine, load_bundle

        bundle = load_bundle(self.loaded.resolve(self.scenario.policy.bundle))
        engine = create_engine(self.policy_engine, bundle)
        by_id = {r.request_id: r for r in records}
        candidates = candidates_for(self.scenario.upstreams, catalog_models(bundle.data))
        summary = await count_violations(
            entries, by_id, candidates, engine.decide,
            max_tokens=self.scenario.load.max_tokens,
            client_texts=self._client_texts,
        )
        self._data_flow = await count_data_flow_violations(
            entries, by_id, candidates, engine.decide, max_tokens=self.scenario.load.max_tokens)
        decisions = {}
        for record in records:  # one decision per request shape (a handful per run)
            shape = shape_of(record)
            if shape not in decisions:
                decisions[shape] = await _maybe_await(engine.decide(DecisionInput(
                    route=record.route, tenant=record.tenant, data_classes=record.data_classes,
                    region=record.region, candidates=candidates,
                    max_tokens=self.scenario.load.max_tokens, stream=record.stream)))
        matrix = data_class_matrix(entries, by_id, decisions,
                                   [u.model for u in self.scenario.upstreams])
        return bundle, summary, matrix

    async def _build_report(
        self, stack: RunStack, entries: list[Any], started_at: str
    ) -> Report:
        records = self.records() if self._generator is not None else []
        reasons: list[str] = []
        policy = PolicyInfo(bundle=self.scenario.policy.bundle, sha256="")
        violations: PolicyViolations | None = None
        matrix = None
        upstreams = upstream_table(self.scenario.upstreams, {})
        try:
            bundle, summary, matrix = await self._violations(entries, records)
            upstreams = upstream_table(self.scenario.upstreams, catalog_models(bundle.data))
            policy = PolicyInfo(bundle=self.scenario.policy.bundle,
                                sha256=bundle.digest.removeprefix("sha256:"),
                                files=tuple(bundle.files))
            violations = PolicyViolations(
                checked=summary.checked, count=summary.count, examples=summary.violations,
                probes=summary.probes, probes_by_upstream=summary.probes_by_upstream,
                probes_labelled=summary.probes_labelled,
            )
            by_model = summary.by_model
        except Exception as exc:  # no verdict on governance without the policy: broken
            self._broken = self._broken or f"policy evaluation failed: {exc}"
            by_model = {}
        attribution = attribute(records, entries,
                                {u.model: u.name for u in self.scenario.upstreams})
        # Nothing checked is no evidence that nothing was violated: no data, never 0.
        checked = violations is not None and violations.checked > 0
        ctx = self._ctx(records, violations.count if checked else None, attribution)
        hits = analysis.upstream_hits(entries, self._wall0, {r.request_id for r in records})
        steady = SteadyStateResults(
            before=tuple(evaluate_all(self.scenario.steady_state.probes, ctx,
                                      window=ctx.phases.get("steady_before"),
                                      phase="steady_before"))
            if "steady_before" in ctx.phases else (),
            after=tuple(evaluate_all(self.scenario.steady_state.probes, ctx,
                                     window=ctx.phases.get("steady_after"),
                                     phase="steady_after"))
            if "steady_after" in ctx.phases else (),
        )
        # A stop condition or a deviated steady state ends the run by design: the checks whose
        # window never came are "not run" (skipped), not failures. A broken run keeps them
        # failed: there the harness, not the hypothesis, is what went wrong.
        ended_early = self._broken is None and (self._stop is not None or self._deviated_before)
        why_not_run = (f"not run: stop condition {self._stop.condition} tripped at "
                       f"{self._stop.at_s:.1f} s" if self._stop is not None
                       else "not run: the steady state deviated before any fault was injected")
        if ended_early and "steady_after" not in ctx.phases:
            steady = steady.model_copy(update={"after": tuple(
                _not_run(probe, why_not_run, phase="steady_after")
                for probe in self.scenario.steady_state.probes)})
        assertions: list[CheckResult] = []
        for check in self.scenario.assertions:
            if check.during and check.during not in ctx.faults:
                if ended_early:
                    assertions.append(_not_run(check, why_not_run))
                    continue
                assertions.append(CheckResult(
                    name=check.name or describe(check), metric=check.metric, op=check.op,
                    expected=check.value, observed=None, passed=False, requests=0,
                    during=check.during, detail="fault was never applied",
                ))
            elif ended_early and check.phase != "run" and check.phase not in ctx.phases:
                assertions.append(_not_run(check, why_not_run))
            else:
                assertions.append(evaluate(check, ctx))
        faults = analysis.fault_reports(
            self._timeline.applied() if self._timeline else [
                AppliedFault(name=f.name or f.kind, kind=f.kind, target=f.target,
                             params=dict(f.params), planned_at_s=f.at_s,
                             planned_duration_s=f.duration_s, status="not_reached")
                for f in self.faults
            ],
            ctx, hits, self._effect_verdicts(hits),
        )
        # A fault whose declared effect was not observed proves nothing: the run is broken.
        not_biting = [
            f"fault {f.name!r} ({f.kind} on {f.target}) did not take effect: expected "
            f"{f.effect.expected}; observed {f.effect.observed}"
            for f in faults if f.effect is not None and not f.effect.verified
        ]
        # Verdict: broken beats failed beats passed, and each says why.
        if self._deviated_before:
            reasons.append("steady-state hypothesis deviated before any fault was injected")
        if self._stop is not None:
            reasons.append(f"stop condition breached at {self._stop.at_s:.1f} s: "
                           f"{self._stop.condition}")
        reasons += [f"steady state after recovery: {r.name} (observed {_fmt(r.observed)})"
                    for r in steady.after if not r.passed and not r.skipped]
        reasons += [f"assertion failed: {r.name} (observed {_fmt(r.observed)})"
                    for r in assertions if not r.passed and not r.skipped]
        if self._broken or not_biting:
            verdict = "broken"
            # What failed to run says nothing about the system under test: name the breakage.
            reasons = ([self._broken] if self._broken else []) + not_biting
        elif reasons:
            verdict = "failed"
        else:
            verdict = "passed"
        exited = stack.gateway_exit
        if exited is not None and not self._broken:
            # The system under test crashed under chaos: that is a finding, not a harness fault.
            reasons.append(exited.describe("during the run"))
            if verdict == "passed":
                verdict = "failed"
        reasons += [f"teardown: {p}" for p in self._problems]
        audit = self._audit_info(stack)
        if audit.error and verdict == "passed" and audit.file:
            verdict = "broken"
            reasons.insert(0, f"audit log does not verify: {audit.error}")
        scenario_file = self._copy_scenario()
        files = self._write_artifacts(stack, records, entries)
        ended = time.time()
        return Report(
            run_id=self.run_id,
            scenario=ScenarioInfo(
                name=self.scenario.name, sha256=self.loaded.sha256, path=str(self.loaded.path),
                description=self.scenario.description.strip(),
                proves=self.scenario.proves.strip(),
                file=scenario_file,
            ),
            policy=policy,
            gateway=GatewayInfo(
                kind=self.scenario.target.kind,
                version=_dist_version() if self.scenario.target.kind == "reference" else None,
                config_sha256=stack.config_sha256,
                base_url=stack.base_url or None,
                log_file=str(stack.gateway_log) if stack.gateway_log else None,
                exit_code=exited.returncode if exited else None,
                log_tail=exited.log_tail if exited else None,
            ),
            seed=self.scenario.seed,
            environment=capture_environment(toxiproxy_url=self.toxiproxy_url,
                                            fault_proxy_seed=stack.fault_proxy_seed),
            started_at=started_at,
            ended_at=_iso(ended),
            duration_s=round(ended - self._wall0, 3),
            phases=tuple(self._phases),
            faults=faults,
            metrics=analysis.run_metrics(self._measured(records), by_model, ctx,
                                         {u.name: u.model for u in self.scenario.upstreams}),
            steady_state=steady,
            assertions=tuple(assertions),
            policy_violations=violations,
            stop_conditions=self._stop_results(),
            stopped_early=self._stop,
            verdict=verdict,  # type: ignore[arg-type]
            verdict_reasons=tuple(reasons),
            audit=audit,
            events=tuple(self._events),
            upstreams=upstreams,
            data_class_matrix=matrix,
            workflows=self._workflow_section(ctx),
            provenance=self._provenance(),
            files=files,
            partial=self._broken is not None or self._stop is not None
            or self._deviated_before,
        )

    def _stop_results(self) -> tuple[CheckResult, ...]:
        """Each stop condition as a check: passed when it never tripped; skipped when no window
        ever had enough requests to evaluate it (never a vacuous pass)."""
        results = []
        for index, condition in enumerate(self.scenario.stop_conditions):
            name = f"stop if {describe(condition)} over {condition.window_s:g} s"
            worst, windows = self._stop_seen.get(index, (None, 0))
            tripped = self._stop is not None and index == self._tripped
            if tripped:
                assert self._stop is not None
                detail = f"tripped at {self._stop.at_s:.1f} s: the run stopped early"
            elif windows:
                detail = f"never tripped ({windows} windows checked; closest value observed)"
            else:
                detail = f"never evaluated: no {condition.window_s:g} s window had {condition.min_requests} requests"
            results.append(CheckResult(
                name=name, metric=condition.metric, op=condition.op, expected=condition.value,
                observed=worst, passed=not tripped and windows > 0, requests=windows,
                scope=condition.where.model_dump(exclude_none=True) if condition.where else {},
                detail=detail, skipped=not tripped and windows == 0,
            ))
        return tuple(results)

    def _copy_scenario(self) -> str | None:
        """Copy the scenario YAML, byte for byte as run, into the report directory."""
        try:
            raw = self.loaded.path.read_bytes()
        except OSError as exc:
            self._problems.append(f"could not copy the scenario file: {exc.strerror or exc}")
            return None
        import hashlib

        if hashlib.sha256(raw).hexdigest() != self.loaded.sha256:
            self._problems.append(f"the scenario file {self.loaded.path} changed during the run: "
                                  "not copied (report.json keeps the digest of what ran)")
            return None
        (self.run_dir / SCENARIO_FILE).write_bytes(raw)
        return SCENARIO_FILE

    def _provenance(self) -> Provenance:
        from chaos.runner.provenance import git_info

        return Provenance(
            policy_bundle=git_info(self.loaded.resolve(self.scenario.policy.bundle)),
            scenario=git_info(self.loaded.path),
            ci=self.ci,
        )

    def _audit_info(self, stack: RunStack) -> AuditInfo:
        """Collect and verify the gateway's audit log: ``audit.jsonl`` or the segment directory
        ``audit/`` (``${audit_dir}``), whose interrupted seals are finished first (a gateway that
        had to be killed), the whole chain verified across segments."""
        path = stack.audit_path
        if path is None:
            return AuditInfo(file=None, error="no audit log (external gateway)")
        segments = self.run_dir / AUDIT_DIR
        if segments.is_dir():
            if path.exists():
                return AuditInfo(file=path.name, error=f"the gateway wrote both {path.name} and"
                                 f" {AUDIT_DIR}/: which one is the audit log is ambiguous")
            path = segments
        if not path.exists():
            return AuditInfo(file=path.name, error="the gateway wrote no audit log")
        try:
            from governance.audit import recover_audit_log, verify_audit_log

            if path.is_dir():
                recover_audit_log(path)  # finish a seal a killed gateway left
                (path / ".audit.lock").unlink(missing_ok=True)  # not part of the evidence
            summary = verify_audit_log(path)
        except Exception as exc:
            return AuditInfo(file=path.name, error=str(exc))
        return AuditInfo(file=path.name, head=summary.head_hash, records=summary.count,
                         verified=True)

    def _write_artifacts(
        self, stack: RunStack, records: list[RequestRecord], entries: list[Any]
    ) -> tuple[str, ...]:
        with open(self.run_dir / REQUESTS_FILE, "wb") as out:
            for record in records:
                out.write(orjson.dumps(record.model_dump(mode="json")) + b"\n")
        with open(self.run_dir / UPSTREAM_FILE, "wb") as out:
            for entry in entries:
                data = entry.model_dump(mode="json") if hasattr(entry, "model_dump") else entry
                out.write(orjson.dumps(data) + b"\n")
        if stack.config_text is not None:
            (self.run_dir / CONFIG_FILE).write_text(stack.config_text, encoding="utf-8")
        names = {p.name for p in self.run_dir.iterdir() if p.is_file()
                 and not p.name.startswith(".")}
        segments = self.run_dir / AUDIT_DIR
        if segments.is_dir():  # the audit segments are signed like every other file
            names |= {f"{AUDIT_DIR}/{p.name}" for p in segments.iterdir() if p.is_file()}
        return tuple(sorted(names | {"report.json"}))


def _not_run(check: Any, why: str, phase: str | None = None) -> CheckResult:
    return CheckResult(
        name=getattr(check, "name", None) or describe(check), metric=check.metric, op=check.op,
        expected=check.value, observed=None, passed=False, requests=0,
        during=getattr(check, "during", None),
        phase=phase or (getattr(check, "phase", None) if getattr(check, "phase", "run") != "run" else None),
        scope=check.where.model_dump(exclude_none=True) if check.where else {},
        detail=why, skipped=True,
    )


def _closer(op: str, worst: float | None, value: float | None) -> float | None:
    """Of two observations of a stop condition's metric, the one closer to tripping it."""
    if value is None:
        return worst
    if worst is None:
        return value
    if op in (">", ">="):
        return max(worst, value)
    if op in ("<", "<="):
        return min(worst, value)
    return value


async def _maybe_await(value: Any) -> Any:
    import inspect

    return await value if inspect.isawaitable(value) else value


def _iso(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).isoformat().replace("+00:00", "Z")


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:g}"


def _dist_version() -> str:
    from chaos.runner.environment import _dist_version as version

    return version()
