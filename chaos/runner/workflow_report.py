"""The report's workflow section: how agent workflows fared, overall, per type, per fault.

Built from the workflow runs (run-relative times) and the data-flow summary; rendered by
:mod:`chaos.report.workflows` in HTML and Markdown. Definitions are those of
:mod:`chaos.runner.workflow_metrics`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from chaos.load.workflow_models import WorkflowRun
from chaos.report.workflow_model import (
    DataFlowReport,
    GanttRow,
    GanttStep,
    WorkflowFigures,
    WorkflowPoint,
    WorkflowSection,
    WorkflowStepFigures,
    WorkflowTypeReport,
)
from chaos.runner import metrics as m
from chaos.runner.data_flow import DataFlowSummary
from chaos.runner.metrics import FaultWindow, Window
from chaos.runner.workflow_metrics import select_workflows
from chaos.scenario.model import Scope

SAMPLE_SIZE = 24
VIOLATIONS_KEPT = 200


def figures(runs: Sequence[WorkflowRun], window: Window | None = None,
            workflow: str | None = None) -> WorkflowFigures:
    scope = Scope(workflow=workflow) if workflow else None
    chosen = select_workflows(runs, window, scope)
    cancelled = sum(1 for r in runs if r.outcome == "cancelled"
                    and (window is None or window.contains(r.started_s))
                    and workflow in (None, r.workflow))
    latencies = [r.latency_ms for r in chosen]
    succeeded = sum(1 for r in chosen if r.outcome == "succeeded")
    return WorkflowFigures(
        workflows=len(chosen), succeeded=succeeded,
        fallback=sum(1 for r in chosen if r.outcome == "fallback"),
        abandoned=sum(1 for r in chosen if r.outcome == "abandoned"), cancelled=cancelled,
        success_rate=round(succeeded / len(chosen), 6) if chosen else None,
        latency_p50_ms=_round(m.percentile(latencies, 50)),
        latency_p95_ms=_round(m.percentile(latencies, 95)),
        latency_p99_ms=_round(m.percentile(latencies, 99)),
        steps_retried=sum(r.steps_retried for r in chosen),
        fallbacks=sum(r.fallbacks for r in chosen),
    )


def workflow_section(
    runs: Sequence[WorkflowRun], types: Sequence[tuple[str, Sequence[str]]],
    faults: Mapping[str, FaultWindow], data_flow: DataFlowSummary | None,
) -> WorkflowSection:
    """The section for ``runs``; ``types`` lists (workflow name, step ids) as declared."""
    by_step = data_flow.by_step if data_flow is not None else {}
    by_type = []
    for name, step_ids in types:
        mine = [r for r in runs if r.workflow == name and r.outcome != "cancelled"]
        steps = []
        for step in step_ids:
            done = [s for r in mine for s in r.steps if s.step == step]
            steps.append(WorkflowStepFigures(
                step=step, runs=len(done), ok=sum(1 for s in done if s.outcome == "ok"),
                retried=sum(1 for s in done if s.retried),
                fallback=sum(1 for s in done if s.outcome == "fallback"),
                failed=sum(1 for s in done if s.outcome == "failed"),
                data_flow_violations=by_step.get(f"{name}/{step}", 0)))
        by_type.append(WorkflowTypeReport(workflow=name, figures=figures(runs, workflow=name),
                                          steps=tuple(steps)))
    return WorkflowSection(
        overall=figures(runs),
        by_type=tuple(by_type),
        during_faults={name: figures(runs, fault.window) for name, fault in faults.items()},
        timeseries=timeseries(runs),
        sample=sample(runs),
        data_flow=None if data_flow is None else DataFlowReport(
            checked=data_flow.checked, count=data_flow.count, by_step=data_flow.by_step,
            violations=data_flow.violations[:VIOLATIONS_KEPT]),
    )


def timeseries(runs: Sequence[WorkflowRun]) -> tuple[WorkflowPoint, ...]:
    buckets: dict[int, list[WorkflowRun]] = {}
    for run in runs:
        if run.outcome != "cancelled":
            buckets.setdefault(int(run.started_s), []).append(run)
    points = []
    for second in sorted(buckets):
        group = buckets[second]
        ok = sum(1 for r in group if r.outcome == "succeeded")
        points.append(WorkflowPoint(t_s=second, started=len(group), succeeded=ok,
                                    completion_rate=round(ok / len(group), 4)))
    return tuple(points)


def sample(runs: Sequence[WorkflowRun], size: int = SAMPLE_SIZE) -> tuple[GanttRow, ...]:
    """Troubled workflows first (retried, fell back, abandoned), then evenly spaced others;
    deterministic for given runs, shown in start order."""
    troubled = [r for r in runs if r.outcome != "succeeded" or r.steps_retried]
    chosen = troubled[: size // 2]
    rest = [r for r in runs if r not in chosen]
    if rest and len(chosen) < size:
        stride = max(1, len(rest) // (size - len(chosen)))
        chosen += rest[::stride][: size - len(chosen)]
    chosen.sort(key=lambda r: r.started_s)
    return tuple(GanttRow(
        workflow_id=r.workflow_id, workflow=r.workflow, outcome=r.outcome,
        start_s=r.started_s, end_s=r.ended_s,
        steps=tuple(GanttStep(step=s.step, outcome=s.outcome, attempts=s.attempts,
                              start_s=s.started_s, end_s=s.ended_s, errors=s.errors)
                    for s in r.steps)) for r in chosen)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)
