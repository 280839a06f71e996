"""The run's steady-state probes and assertions, judged once the run is over.

A stop condition or a steady state that deviated before the faults ends a run by design: the
checks whose window never came are *not run* (``skipped``), not failures. A broken run keeps
them failed: there the harness, not the hypothesis, is what went wrong. An assertion about a
fault that was never applied fails ("fault was never applied"). Pure functions.

>>> from chaos.report.model import StopInfo
>>> why_not_run(StopInfo(condition="error_rate > 0.5", at_s=12.0, observed=0.9))
'not run: stop condition error_rate > 0.5 tripped at 12.0 s'
"""

from __future__ import annotations

from collections.abc import Sequence

from chaos.report.model import SteadyStateResults, StopInfo
from chaos.report.records import CheckResult
from chaos.runner.assertions import describe, evaluate, evaluate_all
from chaos.runner.metrics import MetricContext
from chaos.scenario.model import Assertion, Probe


def why_not_run(stop: StopInfo | None) -> str:
    """Why checks were not run in a run that ended early (by ``stop``, or a deviation)."""
    if stop is not None:
        return f"not run: stop condition {stop.condition} tripped at {stop.at_s:.1f} s"
    return "not run: the steady state deviated before any fault was injected"


def not_run(check: Probe, why: str, phase: str | None = None) -> CheckResult:
    """``check`` as skipped, for ``why``."""
    return CheckResult(
        name=getattr(check, "name", None) or describe(check), metric=check.metric, op=check.op,
        expected=check.value, observed=None, passed=False, requests=0,
        during=getattr(check, "during", None),
        phase=phase or (getattr(check, "phase", None) if getattr(check, "phase", "run") != "run" else None),
        scope=check.where.model_dump(exclude_none=True) if check.where else {},
        detail=why, skipped=True,
    )


def steady_state_results(
    probes: Sequence[Probe], ctx: MetricContext, *, ended_early: bool, why: str,
) -> SteadyStateResults:
    """The probes over the steady-state window before the faults and after recovery."""
    steady = SteadyStateResults(
        before=tuple(evaluate_all(probes, ctx, window=ctx.phases.get("steady_before"),
                                  phase="steady_before"))
        if "steady_before" in ctx.phases else (),
        after=tuple(evaluate_all(probes, ctx, window=ctx.phases.get("steady_after"),
                                 phase="steady_after"))
        if "steady_after" in ctx.phases else (),
    )
    if ended_early and "steady_after" not in ctx.phases:
        steady = steady.model_copy(update={"after": tuple(
            not_run(probe, why, phase="steady_after") for probe in probes)})
    return steady


def assertion_results(
    assertions: Sequence[Assertion], ctx: MetricContext, *, ended_early: bool, why: str,
) -> tuple[CheckResult, ...]:
    """Every assertion, in scenario order."""
    results: list[CheckResult] = []
    for check in assertions:
        if check.during and check.during not in ctx.faults:
            if ended_early:
                results.append(not_run(check, why))
                continue
            results.append(CheckResult(
                name=check.name or describe(check), metric=check.metric, op=check.op,
                expected=check.value, observed=None, passed=False, requests=0,
                during=check.during, detail="fault was never applied",
            ))
        elif ended_early and check.phase != "run" and check.phase not in ctx.phases:
            results.append(not_run(check, why))
        else:
            results.append(evaluate(check, ctx))
    return tuple(results)
