"""Evaluate probes and assertions (``metric op value``) against a :class:`MetricContext`.

>>> from chaos.scenario.model import Probe
>>> ctx = MetricContext(records=[], policy_violations=0)
>>> evaluate(Probe(metric="policy_violations", op="==", value=0), ctx).passed
True
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence

from chaos.report.records import CheckResult, RequestRecord
from chaos.runner import metrics as m
from chaos.runner import workflow_metrics as wm
from chaos.runner.metrics import MetricContext, Window
from chaos.scenario.model import Assertion, Probe, Scope

_OPS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    "==": lambda a, b: abs(a - b) <= 1e-9,
    "!=": lambda a, b: abs(a - b) > 1e-9,
    "<": operator.lt,
    ">": operator.gt,
}


def describe(check: Probe) -> str:
    """``success_rate >= 0.99 during gpu-down [route=claims-triage]``."""
    text = f"{check.metric} {check.op} {check.value:g}"
    during = getattr(check, "during", None)
    phase = getattr(check, "phase", "run")
    if during:
        text += f" during {during}"
    elif phase and phase != "run":
        text += f" in {phase}"
    if check.where:
        parts = [f"{k}={v}" for k, v in check.where.model_dump(exclude_none=True).items()]
        text += f" [{', '.join(parts)}]"
    return text


def compare(observed: float | None, op: str, expected: float) -> bool:
    """``observed op expected``; an unobserved metric never passes."""
    return observed is not None and _OPS[op](observed, expected)


def evaluate(
    check: Probe, ctx: MetricContext, *, window: Window | None = None, phase: str | None = None
) -> CheckResult:
    """Evaluate one probe, assertion or stop condition.

    ``window`` restricts the requests (by send time); an :class:`Assertion`'s own ``during`` or
    ``phase`` overrides it. Raises KeyError when ``during`` names a fault that never ran (the
    runner records those faults, so this is a programming error).
    """
    during = getattr(check, "during", None)
    fault = ctx.faults[during] if during else None
    if fault is not None:
        window = fault.window
    elif isinstance(check, Assertion) and check.phase != "run":
        window = ctx.phases.get(check.phase)
        phase = check.phase
        if window is None:
            return _result(check, None, 0, phase, "phase did not run")
    scope: Scope | None = check.where
    if check.metric in wm.WORKFLOW_METRICS or check.metric == "data_flow_violations":
        return _workflow_check(check, ctx, window, scope, phase)
    records = m.select(ctx.records, window, scope)
    if check.metric == "upstream_share":
        return _upstream_share(check, ctx, records, phase)
    if scope is not None and scope.upstream is not None:
        # ground truth: who served each request per the upstream logs (headers only mid-run)
        records = [r for r in records if m.served_upstream(r, ctx) == scope.upstream]
    observed: float | None
    metric = check.metric
    if metric == "success_rate":
        observed = m.success_rate(records)
    elif metric == "error_rate":
        rate = m.success_rate(records)
        observed = None if rate is None else 1.0 - rate
    elif metric.startswith("latency_p"):
        observed = m.latency_ms(records, float(metric[len("latency_p") : -len("_ms")]))
    elif metric == "error_budget":
        # Zero errors out of zero requests is no evidence of anything.
        observed = float(sum(1 for r in records if not r.ok)) if records else None
    elif metric == "graceful_degradation_rate":
        observed = m.graceful_degradation_rate(records)
    elif metric == "requests":
        observed = float(len(records))
    elif metric == "throughput_rps":
        observed = m.throughput_rps(records, window)
    elif metric == "policy_violations":
        observed = None if ctx.policy_violations is None else float(ctx.policy_violations)
    elif metric == "failover_time_ms":
        observed = m.failover_time_ms(ctx, fault, scope) if fault else None
    elif metric == "recovery_time_s":
        observed = m.recovery_time_s(ctx, fault, scope) if fault else None
    else:  # the scenario model's Literal makes this unreachable
        raise ValueError(f"unknown metric {metric!r}")
    detail = "" if observed is not None else no_data_reason(check, ctx, fault, scope, records)
    return _result(check, observed, len(records), phase, detail)


def _upstream_share(check: Probe, ctx: MetricContext, records: Sequence[RequestRecord],
                    phase: str | None) -> CheckResult:
    """Of the successes in the window and scope, the share ``where.upstream`` served (upstream
    logs); no success in the window is no data."""
    upstream = check.where.upstream if check.where is not None else None
    ok = [r for r in records if r.ok]
    if not ok or upstream is None:
        return _result(check, None, len(records), phase,
                       "no data: no successful requests in the window")
    mine = sum(1 for r in ok if m.served_upstream(r, ctx) == upstream)
    return _result(check, mine / len(ok), len(ok), phase, "")


def _workflow_check(
    check: Probe, ctx: MetricContext, window: Window | None, scope: Scope | None,
    phase: str | None,
) -> CheckResult:
    if check.metric == "data_flow_violations":
        observed = wm.data_flow_metric(ctx.data_flow_violations, window, scope)
        count = len(m.select(ctx.records, window, scope))
        detail = "" if observed is not None else (
            "no data: data-flow violations could not be computed (no upstream logs or policy)")
        return _result(check, observed, count, phase, detail)
    observed, count = wm.workflow_metric(check.metric, ctx.workflows, window, scope)
    detail = "" if observed is not None else "no data: no workflow ended in the window"
    return _result(check, observed, count, phase, detail)


def no_data_reason(
    check: Probe, ctx: MetricContext, fault: m.FaultWindow | None, scope: Scope | None,
    records: Sequence[object],
) -> str:
    """Why a metric has no value: always starts with "no data" (the check fails)."""
    metric = check.metric
    if metric in ("failover_time_ms", "recovery_time_s") and fault is None:
        return "no data: needs `during: <fault>`"
    if metric == "policy_violations":
        return ("no data: policy violations could not be computed, or no upstream request "
                "was there to check")
    if metric == "recovery_time_s" and fault is not None:
        if not m.target_served_before(ctx, fault, scope):
            return (f"no data: {fault.target} served none of this traffic before the fault "
                    "(per the upstream logs), so there is nothing to recover to")
        return f"no data: {fault.target} served none of this traffic after the fault ended"
    if metric == "failover_time_ms" and fault is not None:
        return (f"no data: no success sent after the fault started was served by an upstream "
                f"other than {fault.target} (per the upstream logs)")
    if not records:
        return "no data: no requests in the window"
    return "no data"


def _result(
    check: Probe, observed: float | None, count: int, phase: str | None, detail: str
) -> CheckResult:
    name = getattr(check, "name", None) or describe(check)
    return CheckResult(
        name=name,
        metric=check.metric,
        op=check.op,
        expected=check.value,
        observed=observed,
        passed=compare(observed, check.op, check.value),
        requests=count,
        during=getattr(check, "during", None),
        phase=phase,
        scope=check.where.model_dump(exclude_none=True) if check.where else {},
        detail=detail,
    )


def evaluate_all(
    checks: Sequence[Probe], ctx: MetricContext, *, window: Window | None = None,
    phase: str | None = None,
) -> list[CheckResult]:
    return [evaluate(c, ctx, window=window, phase=phase) for c in checks]
