"""Metrics over request records: success rate, latency percentiles, failover and recovery times.

All functions are pure; times are seconds since the run started. A metric that cannot be
observed (no requests in the window, the target never came back) is ``None``, which an
assertion treats as failed ("no data"), never as passed.

Who served a request comes from the upstreams' own logs (:mod:`chaos.runner.attribution`) once
they are read, after the run; only stop conditions, evaluated during the run on success and
error rates, never need it.

**Failover**, one definition for every figure that uses the word (console, ``report.json``,
HTML, Markdown): a request *failed over* when it succeeded after a failed attempt on another
upstream — the upstream logs show it reached an upstream other than the one that served it, or
the gateway reported a failed attempt (``X-Govchaos-Failovers``) that never reached an upstream
(a refused connection leaves no log entry). Counted once per request, by the time it was sent.

>>> percentile([1.0, 2.0, 3.0, 4.0], 50)
2.5
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from chaos.report.records import RequestRecord
from chaos.runner.attribution import Attribution
from chaos.scenario.model import Scope


@dataclass(frozen=True, slots=True)
class Window:
    """A half-open time range ``[start_s, end_s)`` since the run started."""

    start_s: float
    end_s: float

    def contains(self, t: float) -> bool:
        return self.start_s <= t < self.end_s

    @property
    def length_s(self) -> float:
        return max(0.0, self.end_s - self.start_s)


@dataclass(frozen=True, slots=True)
class FaultWindow:
    """When a fault was really in force, and what it targeted."""

    name: str
    target: str
    window: Window


@dataclass(frozen=True, slots=True)
class MetricContext:
    """Everything metrics are computed from."""

    records: Sequence[RequestRecord]
    phases: dict[str, Window] = field(default_factory=dict)
    faults: dict[str, FaultWindow] = field(default_factory=dict)
    policy_violations: int | None = None
    # Which upstream name serves which model id (cross-checking the served-by header).
    model_to_upstream: dict[str, str] = field(default_factory=dict)
    # Ground truth from the upstream logs; None only while the run is still going.
    attribution: Attribution | None = None
    # Agent workflows (chaos.runner.workflow_metrics): the workflow runs, run-relative times,
    # and the data-flow violations (None: not computed, no data).
    workflows: Sequence[Any] = ()
    data_flow_violations: Sequence[Any] | None = None


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear-interpolated percentile (``q`` in 0..100) or None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    rank = (q / 100.0) * (len(ordered) - 1)
    low = math.floor(rank)
    high = math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def in_scope(record: RequestRecord, scope: Scope | None) -> bool:
    if scope is None:
        return True
    if scope.route is not None and record.route != scope.route:
        return False
    if scope.tenant is not None and record.tenant != scope.tenant:
        return False
    if scope.data_class is not None and scope.data_class not in record.data_classes:
        return False
    if scope.workflow is not None and record.workflow != scope.workflow:
        return False
    if scope.step is not None and record.step != scope.step:
        return False
    if scope.error_code is not None and record.error_code != scope.error_code:
        return False
    return True


def select(
    records: Iterable[RequestRecord], window: Window | None, scope: Scope | None
) -> list[RequestRecord]:
    """Records sent inside ``window`` (all when None) and matching ``scope``."""
    return [
        r
        for r in records
        if (window is None or window.contains(r.sent_at_s)) and in_scope(r, scope)
    ]


def served_upstream(record: RequestRecord, ctx: MetricContext) -> str | None:
    """The upstream that served ``record`` per the upstream logs (None: failed, or no log
    shows an upstream answering it). Before the logs are read (during the run), the gateway's
    own headers — used for nothing that goes into a verdict."""
    if ctx.attribution is not None:
        return ctx.attribution.served.get(record.request_id)
    if record.upstream:
        return record.upstream
    if record.served_by:
        return ctx.model_to_upstream.get(record.served_by)
    return None


def failed_over(record: RequestRecord, ctx: MetricContext) -> bool:
    """The one definition of a failover (module docstring): succeeded after a failed attempt
    on another upstream, by the upstream logs or the gateway's report of attempts that never
    reached an upstream."""
    if not record.ok:
        return False
    if record.failovers:
        return True
    if ctx.attribution is None:
        return False
    served = ctx.attribution.served.get(record.request_id)
    reached = ctx.attribution.reached.get(record.request_id, ())
    return served is not None and any(u != served for u in reached)


def failover_reason(record: RequestRecord) -> str:
    """Why ``record`` failed over: the gateway's reason for its first failed attempt, or
    ``unreported`` when only the upstream logs show it."""
    if record.failovers:
        first = record.failovers[0]
        return first.rpartition(":")[2] or first
    return "unreported"


def success_rate(records: Sequence[RequestRecord]) -> float | None:
    if not records:
        return None
    return sum(1 for r in records if r.ok) / len(records)


def latency_ms(records: Sequence[RequestRecord], q: float) -> float | None:
    # Every request counts, failed ones included: hiding timeouts would flatter the gateway.
    return percentile([r.latency_ms for r in records], q)


def graceful_degradation_rate(records: Sequence[RequestRecord]) -> float | None:
    failed = [r for r in records if not r.ok]
    if not records:
        return None
    if not failed:
        return 1.0
    return sum(1 for r in failed if r.graceful) / len(failed)


def failover_time_ms(ctx: MetricContext, fault: FaultWindow, scope: Scope | None) -> float | None:
    """From the fault's start to the first success served (per the upstream logs) by an
    upstream other than its target: how long until the traffic is served elsewhere.

    Only requests sent after the fault started count, so a response already in flight on
    another upstream does not make failover look instantaneous.
    """
    start = fault.window.start_s
    ends = [
        r.ended_at_s
        for r in ctx.records
        if r.sent_at_s >= start
        and r.ok
        and in_scope(r, scope)
        and served_upstream(r, ctx) not in (None, fault.target)
    ]
    return max(0.0, (min(ends) - start) * 1000.0) if ends else None


def target_served_before(ctx: MetricContext, fault: FaultWindow, scope: Scope | None) -> bool:
    """Whether the fault's target served any of this scope's successes before the fault."""
    return any(
        r.sent_at_s < fault.window.start_s and r.ok and in_scope(r, scope)
        and served_upstream(r, ctx) == fault.target
        for r in ctx.records
    )


def recovery_time_s(ctx: MetricContext, fault: FaultWindow, scope: Scope | None) -> float | None:
    """From the fault's end to the first success (sent after it) served by its target again,
    per the upstream logs.

    None — no data, so the assertion fails — when the target served none of this scope's
    traffic before the fault (there is nothing to recover to: any success would pass), or it
    never served again.
    """
    end = fault.window.end_s
    if not target_served_before(ctx, fault, scope):
        return None
    ends = [
        r.ended_at_s
        for r in ctx.records
        if r.sent_at_s >= end
        and r.ok
        and in_scope(r, scope)
        and served_upstream(r, ctx) == fault.target
    ]
    return max(0.0, min(ends) - end) if ends else None


def throughput_rps(records: Sequence[RequestRecord], window: Window | None) -> float | None:
    ok = [r for r in records if r.ok]
    if window is not None:
        length = window.length_s
    elif records:
        length = max(r.sent_at_s for r in records) - min(r.sent_at_s for r in records)
    else:
        return None
    return len(ok) / length if length > 0 else None
