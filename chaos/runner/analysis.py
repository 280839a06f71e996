"""Turn request records and upstream logs into the report's metrics and fault effects (pure)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from chaos.runner import metrics as m
from chaos.runner.metrics import MetricContext, Window
from chaos.runner.records import RequestRecord
from chaos.runner.report import FaultEffect, FaultReport, Metrics, TimePoint
from chaos.runner.timeline import AppliedFault


def failover_reasons(records: Sequence[RequestRecord]) -> dict[str, int]:
    """Count failover reasons (``upstream:reason`` → ``reason``) over ``records``."""
    counts: Counter[str] = Counter()
    for record in records:
        for item in record.failovers:
            counts[item.rpartition(":")[2] or item] += 1
    return dict(counts)


def timeseries(records: Sequence[RequestRecord]) -> tuple[TimePoint, ...]:
    """Per-second buckets (by send time): sent, ok, errors, p95 latency."""
    buckets: dict[int, list[RequestRecord]] = {}
    for record in records:
        buckets.setdefault(int(record.sent_at_s), []).append(record)
    points = []
    for second in sorted(buckets):
        group = buckets[second]
        ok = sum(1 for r in group if r.ok)
        points.append(
            TimePoint(
                t_s=second,
                sent=len(group),
                ok=ok,
                errors=len(group) - ok,
                latency_p95_ms=_round(m.latency_ms(group, 95)),
            )
        )
    return tuple(points)


def run_metrics(
    records: Sequence[RequestRecord], upstream_by_model: dict[str, int]
) -> Metrics:
    """Whole-run metrics for the report."""
    ok = sum(1 for r in records if r.ok)
    by_status = Counter(str(r.status) if r.status else (r.error or "no_response") for r in records)
    served = Counter(r.served_by for r in records if r.ok and r.served_by)
    by_class: dict[str, dict[str, int]] = {}
    for record in records:
        for data_class in record.data_classes or ("(none)",):
            slot = by_class.setdefault(data_class, {"requests": 0, "ok": 0, "errors": 0})
            slot["requests"] += 1
            slot["ok" if record.ok else "errors"] += 1
    return Metrics(
        requests=len(records),
        ok=ok,
        errors=len(records) - ok,
        success_rate=_round(m.success_rate(records), 6),
        latency_p50_ms=_round(m.latency_ms(records, 50)),
        latency_p95_ms=_round(m.latency_ms(records, 95)),
        latency_p99_ms=_round(m.latency_ms(records, 99)),
        throughput_rps=_round(m.throughput_rps(records, None)),
        by_status=dict(by_status),
        served_by_model=dict(served),
        upstream_received_by_model=dict(upstream_by_model),
        by_data_class=by_class,
        failovers_by_reason=failover_reasons(records),
        timeseries=timeseries(records),
    )


def fault_effect(
    fault: AppliedFault,
    ctx: MetricContext,
    upstream_received_s: Sequence[tuple[str, float]] = (),
) -> FaultEffect | None:
    """What the fault did: traffic on its target and errors, during vs the same span before.

    ``upstream_received_s`` is (upstream name, run-relative receive time) from the upstreams'
    own logs, so the effect on the target is measured where it happened, not only as the
    client saw it.
    """
    if fault.applied_at_s is None:
        return None
    end = fault.reverted_at_s
    if end is None:
        end = max((r.sent_at_s for r in ctx.records), default=fault.applied_at_s)
    during_w = Window(fault.applied_at_s, max(end, fault.applied_at_s))
    span = during_w.length_s or fault.planned_duration_s
    before_w = Window(max(0.0, fault.applied_at_s - span), fault.applied_at_s)
    before = m.select(ctx.records, before_w, None)
    during = m.select(ctx.records, during_w, None)

    def target_share(group: Sequence[RequestRecord]) -> float | None:
        ok = [r for r in group if r.ok]
        if not ok:
            return None
        return sum(1 for r in ok if m.served_upstream(r, ctx) == fault.target) / len(ok)

    errors = sum(1 for r in during if not r.ok)
    failovers = sum(1 for r in during if r.failovers)
    reasons = failover_reasons(during)
    received = None
    if upstream_received_s:
        received = sum(
            1 for name, t in upstream_received_s if name == fault.target and during_w.contains(t)
        )
    share_before = target_share(before)
    share_during = target_share(during)
    summary = (
        f"{errors}/{len(during)} requests failed during the fault; "
        f"{failovers} reported failover"
        + (f" ({', '.join(f'{k}: {v}' for k, v in sorted(reasons.items()))})" if reasons else "")
        + f"; {fault.target} served {_pct(share_during)} of successes (before: "
        f"{_pct(share_before)})"
        + (f"; {fault.target} received {received} requests" if received is not None else "")
    )
    return FaultEffect(
        window_s=round(during_w.length_s, 3),
        requests_before=len(before),
        success_rate_before=_round(m.success_rate(before), 6),
        target_share_before=_round(share_before, 6),
        requests_during=len(during),
        errors_during=errors,
        success_rate_during=_round(m.success_rate(during), 6),
        target_share_during=_round(share_during, 6),
        failovers_during=failovers,
        failover_reasons=reasons,
        upstream_requests_during=received,
        latency_p95_ms_during=_round(m.latency_ms(during, 95)),
        summary=summary,
    )


def fault_reports(
    applied: Sequence[AppliedFault],
    ctx: MetricContext,
    upstream_received_s: Sequence[tuple[str, float]] = (),
) -> tuple[FaultReport, ...]:
    return tuple(
        FaultReport(**f.model_dump(), effect=fault_effect(f, ctx, upstream_received_s))
        for f in applied
    )


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0%}"


def _round(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)
