"""The run's time windows, and the :class:`~chaos.runner.metrics.MetricContext` built on them.

Phases and faults as recorded (:class:`~chaos.report.model.PhaseInfo`,
:class:`~chaos.report.records.AppliedFault`, seconds since the run started) become the windows
metrics are computed over; a phase or fault still open ends ``now_s``. Requests sent during a
warm-up count in no window and no metric. Pure functions.

>>> from chaos.report.model import PhaseInfo
>>> phase_windows([PhaseInfo(name="start", start_s=0.0, end_s=1.0),
...                PhaseInfo(name="steady_before", start_s=1.0)], now_s=4.0)
{'steady_before': Window(start_s=1.0, end_s=4.0)}
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from chaos.load.workflow_models import WorkflowRun
from chaos.report.model import PhaseInfo
from chaos.report.records import AppliedFault, RequestRecord
from chaos.report.workflow_model import DataFlowViolation
from chaos.runner.attribution import Attribution
from chaos.runner.metrics import FaultWindow, MetricContext, Window
from chaos.scenario.model import UpstreamSpec

MEASURED_PHASES = ("steady_before", "faults", "recovery", "steady_after")


def phase_windows(phases: Iterable[PhaseInfo], now_s: float) -> dict[str, Window]:
    """The measured phases (not start, warm-up or teardown) by name."""
    windows = {}
    for phase in phases:
        if phase.name in MEASURED_PHASES:
            end = phase.end_s if phase.end_s is not None else now_s
            windows[phase.name] = Window(phase.start_s, end)
    return windows


def fault_windows(applied: Iterable[AppliedFault], now_s: float) -> dict[str, FaultWindow]:
    """When each applied fault was really in force (never-applied faults have none)."""
    windows = {}
    for fault in applied:
        if fault.applied_at_s is None:
            continue
        end = fault.reverted_at_s if fault.reverted_at_s is not None else now_s
        windows[fault.name] = FaultWindow(fault.name, fault.target, Window(fault.applied_at_s, end))
    return windows


def measured(records: Sequence[RequestRecord], from_s: float | None) -> list[RequestRecord]:
    """``records`` without the warm-up's (those sent before ``from_s``)."""
    if from_s is None:
        return list(records)
    return [r for r in records if r.sent_at_s >= from_s]


def metric_context(
    records: Sequence[RequestRecord],
    *,
    phases: Iterable[PhaseInfo],
    applied: Iterable[AppliedFault],
    now_s: float,
    measured_from_s: float | None,
    upstreams: Iterable[UpstreamSpec],
    violations: int | None = None,
    attribution: Attribution | None = None,
    workflows: Sequence[WorkflowRun] = (),
    data_flow_violations: Sequence[DataFlowViolation] | None = None,
) -> MetricContext:
    """What probes and assertions are evaluated against, at run time ``now_s``."""
    return MetricContext(
        records=measured(records, measured_from_s),
        phases=phase_windows(phases, now_s),
        faults=fault_windows(applied, now_s),
        policy_violations=violations,
        model_to_upstream={u.model: u.name for u in upstreams},
        attribution=attribution,
        workflows=workflows,
        data_flow_violations=data_flow_violations,
    )
