"""Workflow metrics from ground truth: how agent workflows (``load.workflows``) fared.

A workflow belongs to a window by its start time (like a request by its send time). Cancelled
workflows (the run was stopped while they ran) count in no rate: they say nothing about the
system under test. Definitions:

- ``workflow_success_rate``: workflows whose every step was answered by a model (after
  retries, perhaps) / workflows that ended; a workflow finished on a fallback is not a
  success (it is counted by ``workflow_fallbacks``).
- ``workflow_latency_p50_ms`` / ``_p95_ms`` / ``_p99_ms``: start to end of every workflow that
  ended, abandoned ones included (hiding failures would flatter the gateway).
- ``workflow_steps_retried``: steps that needed more than one try; ``workflow_fallbacks``:
  steps that ended on their fallback; ``workflow_abandoned``: workflows that gave up (a step
  failed with no fallback); ``workflows``: how many ended.
- ``data_flow_violations``: upstream requests carrying data the model may not see
  (:mod:`chaos.runner.data_flow`), by the receiving request's send time and step.

Scopes: ``where.workflow`` (the type) narrows every workflow metric; ``where.step`` narrows
``workflow_steps_retried``, ``workflow_fallbacks`` and ``data_flow_violations`` to one step.

>>> workflow_metric("workflows", [], None, None) is None
True
"""

from __future__ import annotations

from collections.abc import Sequence

from chaos.load.workflow_models import WorkflowRun
from chaos.runner import metrics as m
from chaos.runner.metrics import Window
from chaos.scenario.model import Scope

WORKFLOW_METRICS = frozenset({
    "workflow_success_rate", "workflow_latency_p50_ms", "workflow_latency_p95_ms",
    "workflow_latency_p99_ms", "workflow_steps_retried", "workflow_fallbacks",
    "workflow_abandoned", "workflows",
})


def shifted(runs: Sequence[WorkflowRun], offset_s: float) -> tuple[WorkflowRun, ...]:
    """``runs`` with every time moved by ``offset_s`` (generator-relative -> run-relative)."""
    out = []
    for run in runs:
        out.append(run.model_copy(update={
            "scheduled_s": round(run.scheduled_s + offset_s, 6),
            "started_s": round(run.started_s + offset_s, 6),
            "ended_s": round(run.ended_s + offset_s, 6),
            "steps": tuple(s.model_copy(update={"started_s": round(s.started_s + offset_s, 6),
                                                "ended_s": round(s.ended_s + offset_s, 6)})
                           for s in run.steps),
        }))
    return tuple(out)


def select_workflows(
    runs: Sequence[WorkflowRun], window: Window | None, scope: Scope | None
) -> list[WorkflowRun]:
    """Ended (not cancelled) runs started inside ``window`` and of ``scope.workflow``."""
    kind = scope.workflow if scope is not None else None
    return [r for r in runs if r.outcome != "cancelled"
            and (window is None or window.contains(r.started_s))
            and (kind is None or r.workflow == kind)]


def workflow_metric(
    metric: str, runs: Sequence[WorkflowRun], window: Window | None, scope: Scope | None
) -> tuple[float | None, int]:
    """(value, workflows it was computed over); value None when no workflow is in the window.

    Raises ValueError for a metric that is not a workflow metric.
    """
    chosen = select_workflows(runs, window, scope)
    step = scope.step if scope is not None else None
    if not chosen:
        return None, 0
    if metric == "workflow_success_rate":
        value: float | None = sum(1 for r in chosen if r.outcome == "succeeded") / len(chosen)
    elif metric.startswith("workflow_latency_p"):
        q = float(metric[len("workflow_latency_p"): -len("_ms")])
        value = m.percentile([r.latency_ms for r in chosen], q)
    elif metric == "workflow_steps_retried":
        value = float(sum(1 for r in chosen for s in r.steps
                          if s.retried and step in (None, s.step)))
    elif metric == "workflow_fallbacks":
        value = float(sum(1 for r in chosen for s in r.steps
                          if s.outcome == "fallback" and step in (None, s.step)))
    elif metric == "workflow_abandoned":
        value = float(sum(1 for r in chosen if r.outcome == "abandoned"))
    elif metric == "workflows":
        value = float(len(chosen))
    else:
        raise ValueError(f"not a workflow metric: {metric!r}")
    return value, len(chosen)


def data_flow_metric(
    violations: Sequence[object] | None, window: Window | None, scope: Scope | None
) -> float | None:
    """Data-flow violations in ``window`` (by the receiving request's send time) and scope;
    None when they were not computed."""
    if violations is None:
        return None
    kind = scope.workflow if scope is not None else None
    step = scope.step if scope is not None else None
    count = 0
    for v in violations:
        sent = getattr(v, "sent_at_s", None)
        if window is not None and (sent is None or not window.contains(sent)):
            continue
        if kind is not None and getattr(v, "workflow", None) != kind:
            continue
        if step is not None and getattr(v, "step", None) != step:
            continue
        count += 1
    return float(count)


def is_workflow_metric(metric: str) -> bool:
    """Computed from workflow runs (or data-flow violations), not request records."""
    return metric in WORKFLOW_METRICS or metric == "data_flow_violations"
