"""Stop conditions, watched while the load runs and reported as checks afterwards.

Four times a second the runner hands :meth:`StopConditionWatch.check` the measured records so
far; a condition whose last ``window_s`` seconds hold at least ``min_requests`` requests is
evaluated, and when its ``metric op value`` holds, that is the breach it describes:
:class:`StopConditionBreached` ends the run early (verdict ``failed``). Afterwards
:meth:`StopConditionWatch.results` reports each condition as a check: passed when it never
tripped (with the value that came closest), skipped when no window was ever evaluated (never a
vacuous pass).

>>> from chaos.scenario.model import StopCondition
>>> watch = StopConditionWatch([StopCondition(metric="error_rate", op=">", value=0.5)])
>>> watch.check([], now_s=3.0)
>>> watch.results(None)[0].skipped
True
"""

from __future__ import annotations

from collections.abc import Sequence

from chaos.load.workflow_models import WorkflowRun
from chaos.report.model import StopInfo
from chaos.report.records import CheckResult, RequestRecord
from chaos.runner.assertions import describe, evaluate
from chaos.runner.metrics import MetricContext
from chaos.runner.workflow_metrics import is_workflow_metric
from chaos.scenario.model import StopCondition


class StopConditionBreached(Exception):
    """Internal: a stop condition fired; the run ends early with verdict ``failed``."""

    def __init__(self, result: CheckResult, at_s: float) -> None:
        super().__init__(result.name)
        self.result = result
        self.at_s = at_s


class StopConditionWatch:
    """The scenario's stop conditions, and what each has seen so far."""

    def __init__(self, conditions: Sequence[StopCondition]) -> None:
        self.conditions = tuple(conditions)
        # Per condition (by index): the value closest to tripping, and windows evaluated.
        self._seen: dict[int, tuple[float | None, int]] = {}
        self.tripped: int | None = None

    def check(self, records: Sequence[RequestRecord], now_s: float,
              workflows: Sequence[WorkflowRun] = ()) -> None:
        """Evaluate every condition on the window ending ``now_s`` (a workflow metric over the
        ``workflows`` that ended in it).

        Raises:
            StopConditionBreached: a condition holds (the first one, in scenario order).
        """
        for index, condition in enumerate(self.conditions):
            window = [r for r in records if now_s - condition.window_s <= r.ended_at_s <= now_s]
            if len(window) < condition.min_requests:
                continue
            result = evaluate(condition, MetricContext(records=window, workflows=[
                w for w in workflows if now_s - condition.window_s <= w.ended_s <= now_s
            ] if is_workflow_metric(condition.metric) else ()))
            worst, count = self._seen.get(index, (None, 0))
            self._seen[index] = (_closer(condition.op, worst, result.observed), count + 1)
            if result.passed:  # the condition holds: that is the breach it describes
                self._seen[index] = (result.observed, count + 1)
                self.tripped = index
                raise StopConditionBreached(result, now_s)

    def results(self, stop: StopInfo | None) -> tuple[CheckResult, ...]:
        """Each condition as a check (``stop``: the breach that ended the run, if any)."""
        results = []
        for index, condition in enumerate(self.conditions):
            name = f"stop if {describe(condition)} over {condition.window_s:g} s"
            worst, windows = self._seen.get(index, (None, 0))
            tripped = stop is not None and index == self.tripped
            if tripped:
                assert stop is not None
                detail = f"tripped at {stop.at_s:.1f} s: the run stopped early"
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
