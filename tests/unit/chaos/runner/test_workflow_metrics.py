"""Workflow metrics and the report's workflow section from hand-made workflow runs."""

from __future__ import annotations

from chaos.load.workflow_models import StepRun, WorkflowRun
from chaos.report.workflow_model import DataFlowViolation
from chaos.runner.assertions import evaluate
from chaos.runner.metrics import FaultWindow, MetricContext, Window
from chaos.runner.workflow_metrics import shifted, workflow_metric
from chaos.runner.workflow_report import workflow_section
from chaos.scenario.model import Assertion, Scope


def run(i: int, start: float, outcome: str = "succeeded", *, retried: str | None = None,
        fallback: str | None = None, kind: str = "claims") -> WorkflowRun:
    steps = []
    for n, step in enumerate(("read", "draft")):
        steps.append(StepRun(
            step=step, outcome="fallback" if step == fallback else "ok",
            attempts=2 if step == retried else 1, started_s=start + n * 0.1,
            ended_s=start + n * 0.1 + 0.1))
    return WorkflowRun(workflow_id=f"w{i}", workflow=kind, index=i, scheduled_s=start,
                       started_s=start, ended_s=start + 0.2 + (0.3 if retried else 0),
                       outcome=outcome, steps=tuple(steps))  # type: ignore[arg-type]


RUNS = [run(0, 1.0), run(1, 2.0, retried="read"), run(2, 3.0, "fallback", fallback="draft"),
        run(3, 4.0, "abandoned"), run(4, 5.0, "cancelled"), run(5, 2.5, kind="other")]


def test_rates_exclude_cancelled_and_fallbacks_are_no_success() -> None:
    assert workflow_metric("workflow_success_rate", RUNS, None, None) == (3 / 5, 5)
    assert workflow_metric("workflow_abandoned", RUNS, None, None)[0] == 1
    assert workflow_metric("workflow_fallbacks", RUNS, None, None)[0] == 1
    assert workflow_metric("workflow_steps_retried", RUNS, None, Scope(step="draft"))[0] == 0
    assert workflow_metric("workflow_steps_retried", RUNS, None, Scope(step="read"))[0] == 1
    assert workflow_metric("workflows", RUNS, None, Scope(workflow="other")) == (1.0, 1)
    p50, _ = workflow_metric("workflow_latency_p50_ms", RUNS, None, None)
    assert p50 is not None and abs(p50 - 200) < 1e-6  # latencies 200 x4 and 500


def test_a_fault_window_selects_by_start_time_and_empty_is_no_data() -> None:
    assert workflow_metric("workflow_success_rate", RUNS, Window(1.5, 2.6), None) == (1.0, 2)
    assert workflow_metric("workflow_success_rate", RUNS, Window(50, 60), None) == (None, 0)


def test_assertions_on_workflow_and_data_flow_metrics() -> None:
    v = DataFlowViolation(upstream="cloud", model="m", request_id="r", sent_at_s=2.0,
                          workflow="claims", step="draft")
    ctx = MetricContext(records=[], workflows=RUNS, data_flow_violations=[v],
                        faults={"f": FaultWindow("f", "x", Window(1.5, 2.6))})
    check = Assertion(metric="workflow_success_rate", op=">=", value=0.99, during="f")
    assert evaluate(check, ctx).passed
    named = Assertion(metric="data_flow_violations", op=">=", value=1,
                      where=Scope(workflow="claims", step="draft"))
    assert evaluate(named, ctx).observed == 1
    other = Assertion(metric="data_flow_violations", op="==", value=0, where=Scope(step="read"))
    assert evaluate(other, ctx).passed
    unknown = evaluate(named, MetricContext(records=[]))
    assert not unknown.passed and unknown.detail.startswith("no data")


def test_shift_and_section() -> None:
    moved = shifted(RUNS, 10.0)
    assert moved[0].started_s == 11.0 and moved[0].steps[1].ended_s == 11.2
    section = workflow_section(RUNS, [("claims", ["read", "draft"]), ("other", ["read", "draft"])],
                               {"f": FaultWindow("f", "x", Window(1.5, 2.6))}, None)
    assert section.overall.workflows == 5 and section.overall.cancelled == 1
    assert section.during_faults["f"].success_rate == 1.0
    claims = section.by_type[0]
    assert [(s.step, s.retried, s.fallback) for s in claims.steps] == [("read", 1, 0),
                                                                      ("draft", 0, 1)]
    assert section.sample[0].workflow_id == "w0" and section.data_flow is None
    assert [p.t_s for p in section.timeseries] == [1, 2, 3, 4]
