from __future__ import annotations

from chaos.faults.effects import EffectResult, UpstreamHit
from chaos.report.records import AppliedFault, RequestRecord
from chaos.runner.analysis import failover_reasons, fault_effect, run_metrics, timeseries
from chaos.runner.metrics import MetricContext


def rec(i: int, t: float, status: int = 200, upstream: str = "a",
        failovers: tuple[str, ...] = ()) -> RequestRecord:
    return RequestRecord(request_id=str(i), sent_at_s=t, ended_at_s=t + 0.01, route="r",
                         tenant="t", data_classes=("pii",), status=status, latency_ms=10.0,
                         upstream=upstream, served_by=f"model-{upstream}", failovers=failovers)


def test_fault_effect_compares_before_and_during() -> None:
    records = [rec(i, 0.5 + i * 0.1) for i in range(10)]  # 0.5..1.4 on the target
    records += [rec(100 + i, 2.0 + i * 0.1, upstream="b", failovers=("a:connect_error",))
                for i in range(9)]
    records.append(rec(200, 2.95, status=503, upstream="b"))
    fault = AppliedFault(name="down", kind="upstream_down", target="a", params={},
                         planned_at_s=1, planned_duration_s=1, applied_at_s=2.0,
                         reverted_at_s=3.0, status="reverted")
    verdict = EffectResult(True, "nothing reaches a", "0 requests received")
    effect = fault_effect(fault, MetricContext(records=records),
                          [UpstreamHit(t_s=1.5, path="/v1/chat/completions")], verdict)
    assert effect is not None
    assert effect.verified and effect.expected == "nothing reaches a"
    assert effect.requests_during == 10 and effect.errors_during == 1
    assert effect.target_share_before == 1.0 and effect.target_share_during == 0.0
    assert effect.failovers_during == 9 and effect.failover_reasons == {"connect_error": 9}
    assert effect.upstream_requests_during == 0
    assert "1/10 requests failed" in effect.summary and "9 failed over" in effect.summary
    assert effect.summary.startswith("effect verified (0 requests received)")


def test_unverified_effect_is_said_first() -> None:
    fault = AppliedFault(name="down", kind="upstream_down", target="a", params={},
                         planned_at_s=1, planned_duration_s=1, applied_at_s=2.0,
                         reverted_at_s=3.0, status="reverted")
    effect = fault_effect(fault, MetricContext(records=[rec(1, 2.5)]), (),
                          EffectResult(False, "x", "12 requests received"))
    assert effect is not None and not effect.verified
    assert effect.summary.startswith("EFFECT NOT VERIFIED (12 requests received)")


def test_unapplied_fault_has_no_effect() -> None:
    fault = AppliedFault(name="x", kind="latency", target="a", params={}, planned_at_s=0,
                         planned_duration_s=1, status="not_reached")
    assert fault_effect(fault, MetricContext(records=[])) is None


def test_run_metrics_and_timeseries() -> None:
    records = [rec(1, 0.1), rec(2, 0.2, status=500), rec(3, 1.5, upstream="b")]
    metrics = run_metrics(records, {"model-a": 2})
    assert metrics.requests == 3 and metrics.ok == 2 and metrics.errors == 1
    assert metrics.by_status == {"200": 2, "500": 1}
    assert metrics.served_by_model == {"model-a": 1, "model-b": 1}
    assert metrics.by_data_class["pii"] == {"requests": 3, "ok": 2, "errors": 1}
    points = timeseries(records)
    assert [(p.t_s, p.sent, p.errors) for p in points] == [(0, 2, 1), (1, 1, 0)]
    # One failover per request, by the reason of its first failed attempt.
    one = [rec(1, 0, failovers=("a:timeout", "b:http_500"))]
    assert failover_reasons(one, MetricContext(records=one)) == {"timeout": 1}
