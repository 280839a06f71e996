"""The workflow section of ``report.json`` (``workflows``): how agent workflows fared, overall,
per type, per fault, a sample for a Gantt chart, and the data-flow violations found. Built by
:mod:`chaos.runner.workflow_report`; rendered by :mod:`chaos.report.workflows`.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class DataFlowViolation(BaseModel):
    """One upstream request carrying data of a class the model that received it may not see."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    upstream: str
    model: str
    request_id: str | None  # the receiving request
    sent_at_s: float | None = None  # when the receiving request was sent (run-relative)
    workflow: str | None = None
    workflow_id: str | None = None
    step: str | None = None  # the receiving step
    declared: tuple[str, ...] = ()  # what the receiving request declared
    carried: tuple[str, ...] = ()  # classes carried in beyond the declared ones
    path: tuple[str, ...] = ()  # carrying steps, receiving step, model
    allowed: tuple[str, ...] = ()  # models the policy allows with the carried classes
    reason: str = "carried data class not allowed"  # | "unknown carried marker"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class WorkflowFigures(_Frozen):
    """Workflow metrics over one set of workflows (a type, a fault window, the whole run)."""

    workflows: int  # ended (cancelled ones are counted apart)
    succeeded: int
    fallback: int
    abandoned: int
    cancelled: int = 0
    success_rate: float | None
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    latency_p99_ms: float | None
    steps_retried: int
    fallbacks: int  # steps that ended on their fallback


class WorkflowStepFigures(_Frozen):
    """One step of a workflow type."""

    step: str
    runs: int
    ok: int
    retried: int
    fallback: int
    failed: int
    data_flow_violations: int = 0


class WorkflowTypeReport(_Frozen):
    workflow: str
    figures: WorkflowFigures
    steps: tuple[WorkflowStepFigures, ...] = ()


class WorkflowPoint(_Frozen):
    """Workflows started in one second (t_s) and how they ended."""

    t_s: int
    started: int
    succeeded: int
    completion_rate: float | None  # succeeded / ended


class GanttStep(_Frozen):
    step: str
    outcome: str
    attempts: int
    start_s: float
    end_s: float
    errors: tuple[str, ...] = ()


class GanttRow(_Frozen):
    workflow_id: str
    workflow: str
    outcome: str
    start_s: float
    end_s: float
    steps: tuple[GanttStep, ...] = ()


class DataFlowReport(_Frozen):
    checked: int
    count: int
    by_step: dict[str, int] = {}
    violations: tuple[DataFlowViolation, ...] = ()  # the first 200 (chaos.runner.workflow_report)


class WorkflowSection(_Frozen):
    overall: WorkflowFigures
    by_type: tuple[WorkflowTypeReport, ...] = ()
    during_faults: dict[str, WorkflowFigures] = {}
    timeseries: tuple[WorkflowPoint, ...] = ()
    sample: tuple[GanttRow, ...] = ()  # a few workflows, troubled ones first, for a Gantt chart
    data_flow: DataFlowReport | None = None  # None: not computed
