"""Turn request records and upstream logs into the report's metrics and fault effects (pure)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any

from chaos.faults.effects import Effect, EffectEvidence, EffectResult, UpstreamHit
from chaos.report.model import FaultEffect, FaultReport, Metrics, TimePoint
from chaos.report.records import AppliedFault, RequestRecord
from chaos.runner import metrics as m
from chaos.runner.metrics import MetricContext, Window
from chaos.runner.timeline import LiveEvidence


def failover_reasons(records: Sequence[RequestRecord], ctx: MetricContext) -> dict[str, int]:
    """Requests in ``records`` that failed over (:func:`chaos.runner.metrics.failed_over`), by
    the reason of their first failed attempt."""
    return dict(Counter(m.failover_reason(r) for r in records if m.failed_over(r, ctx)))


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
    records: Sequence[RequestRecord], upstream_by_model: dict[str, int],
    ctx: MetricContext | None = None, model_of_upstream: Mapping[str, str] | None = None,
) -> Metrics:
    """Whole-run metrics for the report: served-by from the upstream logs (``ctx``'s
    attribution; without one, as the gateway's headers say)."""
    ctx = ctx if ctx is not None else MetricContext(records=records)
    model_of_upstream = model_of_upstream or {}
    ok = sum(1 for r in records if r.ok)
    by_status = Counter(str(r.status) if r.status else (r.error or "no_response") for r in records)
    served: Counter[str] = Counter()
    for record in records:
        if not record.ok:
            continue
        if ctx.attribution is None and record.served_by:
            served[record.served_by] += 1
            continue
        upstream = m.served_upstream(record, ctx)
        if upstream is not None:
            served[model_of_upstream.get(upstream, upstream)] += 1
    by_class: dict[str, dict[str, int]] = {}
    for record in records:
        for data_class in record.data_classes or ("(none)",):
            slot = by_class.setdefault(data_class, {"requests": 0, "ok": 0, "errors": 0})
            slot["requests"] += 1
            slot["ok" if record.ok else "errors"] += 1
    reasons = failover_reasons(records, ctx)
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
        failovers=sum(reasons.values()),
        failovers_by_reason=reasons,
        attribution=ctx.attribution.summary if ctx.attribution is not None else None,
        timeseries=timeseries(records),
    )


def upstream_hits(
    entries: Iterable[Any], wall0: float, client_ids: Collection[str],
) -> dict[str, list[UpstreamHit]]:
    """The upstream log entries as effect evidence, per upstream, at run-relative times."""
    hits: dict[str, list[UpstreamHit]] = {}
    for e in entries:
        ids = tuple(getattr(e, "content_request_ids", ()) or ())
        client = any(i in client_ids for i in ids) or e.govchaos_request_id in client_ids
        hits.setdefault(e.upstream, []).append(UpstreamHit(
            t_s=e.received_at - wall0, path=e.path, outcome=e.outcome, client=client))
    return hits


def verify_effect(
    fault: AppliedFault, effect: Effect | None, live: LiveEvidence | None,
    hits: Sequence[UpstreamHit], end_default: float,
) -> EffectResult:
    """Judge ``fault``'s declared effect against the ground truth gathered for it."""
    if effect is None:
        return EffectResult(False, "an effect declared by the fault kind",
                            "no effect could be computed for this fault")
    assert fault.applied_at_s is not None
    end = fault.revert_started_at_s
    if end is None:
        end = fault.reverted_at_s if fault.reverted_at_s is not None else end_default
    evidence = EffectEvidence(
        target=fault.target, applied_at_s=fault.applied_at_s, end_s=max(end, fault.applied_at_s),
        hits=hits, witness=live.witness_report() if live else None,
        gpu=tuple(live.gpu) if live else (),
    )
    return effect.check(evidence)


def effect_windows(fault: AppliedFault, records: Sequence[RequestRecord]
                   ) -> tuple[Window, Window] | None:
    """(before, during) of an applied fault: while it was in force (to the last request sent,
    if never reverted), and the same span just before it; None if it was never applied."""
    if fault.applied_at_s is None:
        return None
    end = fault.reverted_at_s
    if end is None:
        end = max((r.sent_at_s for r in records), default=fault.applied_at_s)
    during = Window(fault.applied_at_s, max(end, fault.applied_at_s))
    span = during.length_s or fault.planned_duration_s
    return Window(max(0.0, fault.applied_at_s - span), fault.applied_at_s), during


def fault_effect(
    fault: AppliedFault,
    ctx: MetricContext,
    hits: Sequence[UpstreamHit] = (),
    verdict: EffectResult | None = None,
) -> FaultEffect | None:
    """What the fault did: whether its declared effect was observed (``verdict``), and the
    traffic on its target and errors, during vs the same span before.

    ``hits`` are the target's own request-log entries, so the effect on the target is measured
    where it happened, not only as the client saw it.
    """
    windows = effect_windows(fault, ctx.records)
    if windows is None:
        return None
    before_w, during_w = windows
    before = m.select(ctx.records, before_w, None)
    during = m.select(ctx.records, during_w, None)

    def target_share(group: Sequence[RequestRecord]) -> float | None:
        ok = [r for r in group if r.ok]
        if not ok:
            return None
        return sum(1 for r in ok if m.served_upstream(r, ctx) == fault.target) / len(ok)

    errors = sum(1 for r in during if not r.ok)
    reasons = failover_reasons(during, ctx)
    failovers = sum(reasons.values())
    received = sum(1 for h in hits if during_w.contains(h.t_s))
    share_before = target_share(before)
    share_during = target_share(during)
    if verdict is None:
        verdict = EffectResult(False, "an effect declared by the fault kind", "not checked")
    summary = (
        ("effect verified" if verdict.verified else "EFFECT NOT VERIFIED")
        + f" ({verdict.observed}); "
        f"{errors}/{len(during)} requests failed during the fault; "
        f"{failovers} failed over"
        + (f" ({', '.join(f'{k}: {v}' for k, v in sorted(reasons.items()))})" if reasons else "")
        + f"; {fault.target} served {_pct(share_during)} of successes (before: "
        f"{_pct(share_before)}); {fault.target} received {received} requests"
    )
    return FaultEffect(
        verified=verdict.verified,
        expected=verdict.expected,
        observed=verdict.observed,
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
    hits: Mapping[str, Sequence[UpstreamHit]] | None = None,
    verdicts: Mapping[str, EffectResult] | None = None,
) -> tuple[FaultReport, ...]:
    return tuple(
        FaultReport(**f.model_dump(), effect=fault_effect(
            f, ctx, (hits or {}).get(f.target, ()), (verdicts or {}).get(f.name)))
        for f in applied
    )


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0%}"


def _round(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)
