from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chaos.report.records import RequestRecord
from chaos.runner.assertions import compare, evaluate
from chaos.runner.metrics import FaultWindow, MetricContext, Window, percentile
from chaos.scenario.model import Assertion, Probe, Scope


def rec(i: int, t: float, status: int = 200, upstream: str = "a", latency: float = 10.0,
        dc: tuple[str, ...] = (), retry_after: bool = False) -> RequestRecord:
    return RequestRecord(
        request_id=str(i), sent_at_s=t, ended_at_s=t + latency / 1000, route="r", tenant="t",
        data_classes=dc, status=status, latency_ms=latency, upstream=upstream,
        retry_after=retry_after,
    )


def ctx_with(records, **kw) -> MetricContext:
    return MetricContext(records=records, **kw)


def test_percentile_interpolates() -> None:
    assert percentile([], 50) is None
    assert percentile([5.0], 99) == 5.0
    assert percentile([1.0, 2.0, 3.0, 4.0, 5.0], 95) == pytest.approx(4.8)


@given(st.lists(st.floats(0, 1e6, allow_nan=False), min_size=1, max_size=50),
       st.floats(0, 100))
def test_percentile_within_bounds(values, q) -> None:
    p = percentile(values, q)
    assert min(values) - 1e-6 <= p <= max(values) + 1e-6


def test_success_rate_and_latency() -> None:
    records = [rec(i, i * 0.1, latency=float(i + 1)) for i in range(9)] + [rec(9, 0.9, 503)]
    ctx = ctx_with(records)
    assert evaluate(Probe(metric="success_rate", op=">=", value=0.9), ctx).observed == 0.9
    assert evaluate(Probe(metric="success_rate", op=">", value=0.9), ctx).passed is False
    r = evaluate(Probe(metric="latency_p50_ms", op="<=", value=6), ctx)
    assert r.observed == pytest.approx(5.5) and r.passed
    assert evaluate(Probe(metric="error_budget", op="<=", value=1), ctx).observed == 1


def test_scope_filters_by_data_class() -> None:
    records = [rec(1, 0, dc=("pii",)), rec(2, 0, 503, dc=("public",))]
    check = Probe(metric="success_rate", op="==", value=1, where=Scope(data_class="pii"))
    result = evaluate(check, ctx_with(records))
    assert result.passed and result.requests == 1


def test_no_requests_is_no_data_and_fails() -> None:
    for metric in ("success_rate", "error_budget", "latency_p99_ms", "throughput_rps",
                   "graceful_degradation_rate", "error_rate"):
        op = "<=" if metric in ("error_budget", "latency_p99_ms", "error_rate") else ">="
        result = evaluate(Probe(metric=metric, op=op, value=0 if op == ">=" else 1e9),
                          ctx_with([]))
        assert result.observed is None and not result.passed, metric
        assert result.detail.startswith("no data"), (metric, result.detail)


def test_during_restricts_to_the_fault_window() -> None:
    records = [rec(1, 0.5), rec(2, 1.5, 502), rec(3, 2.5)]
    fault = FaultWindow("down", "a", Window(1.0, 2.0))
    check = Assertion(metric="success_rate", op=">=", value=0.5, during="down")
    result = evaluate(check, ctx_with(records, faults={"down": fault}))
    assert result.observed == 0.0 and result.requests == 1 and not result.passed


def test_failover_time_counts_only_requests_sent_after_the_fault() -> None:
    records = [
        rec(1, 0.95, upstream="b", latency=100),  # in flight before the fault: ignored
        rec(2, 1.01, 502, upstream="a"),
        rec(3, 1.10, upstream="b", latency=50),  # first rerouted success ends at 1.15
    ]
    fault = FaultWindow("down", "a", Window(1.0, 2.0))
    check = Assertion(metric="failover_time_ms", op="<=", value=200, during="down")
    result = evaluate(check, ctx_with(records, faults={"down": fault}))
    assert result.observed == pytest.approx(150.0)


def test_recovery_time_waits_for_the_target_when_it_carried_traffic() -> None:
    records = [rec(1, 0.5, upstream="a"), rec(2, 2.1, upstream="b"), rec(3, 3.0, upstream="a")]
    fault = FaultWindow("down", "a", Window(1.0, 2.0))
    check = Assertion(metric="recovery_time_s", op="<=", value=2, during="down")
    result = evaluate(check, ctx_with(records, faults={"down": fault}))
    assert result.observed == pytest.approx(1.01)


def test_recovery_never_observed_fails() -> None:
    records = [rec(1, 0.5, upstream="a"), rec(2, 2.1, upstream="b")]
    fault = FaultWindow("down", "a", Window(1.0, 2.0))
    check = Assertion(metric="recovery_time_s", op="<=", value=100, during="down")
    assert not evaluate(check, ctx_with(records, faults={"down": fault})).passed


def test_graceful_degradation_and_policy_violations() -> None:
    records = [rec(1, 0, 503, retry_after=True), rec(2, 0, 503), rec(3, 0)]
    ctx = ctx_with(records, policy_violations=0)
    r = evaluate(Probe(metric="graceful_degradation_rate", op=">=", value=0.5), ctx)
    assert r.observed == 0.5 and r.passed
    assert evaluate(Probe(metric="policy_violations", op="==", value=0), ctx).passed
    unknown = ctx_with(records)  # violations not computed: never a pass
    assert not evaluate(Probe(metric="policy_violations", op="==", value=0), unknown).passed


def test_graceful_needs_retry_after_for_503_and_429() -> None:
    def r(i: int, status: int, **kw: object) -> RequestRecord:
        return RequestRecord(request_id=str(i), sent_at_s=0, ended_at_s=0.01, route="r",
                             tenant="t", status=status, **kw)

    graceful = [r(1, 503, retry_after_s=1.0), r(2, 429, retry_after_s=0.0),
                r(3, 503, retry_after=True)]
    not_graceful = [r(4, 503), r(5, 429, retry_after=False), r(6, 500, retry_after_s=1.0),
                    r(7, 0, error="timeout")]
    assert all(x.graceful for x in graceful)
    assert not any(x.graceful for x in not_graceful)
    ctx = ctx_with(graceful + not_graceful)
    observed = evaluate(Probe(metric="graceful_degradation_rate", op="==", value=1), ctx).observed
    assert observed == 3 / 7
    only = ctx_with(graceful + [r(8, 200)])
    assert evaluate(Probe(metric="graceful_degradation_rate", op="==", value=1), only).passed


def test_phase_assertion_uses_the_phase_window() -> None:
    records = [rec(1, 0.5, 500), rec(2, 5.0)]
    ctx = ctx_with(records, phases={"steady_after": Window(4.0, 6.0)})
    check = Assertion(metric="success_rate", op="==", value=1, phase="steady_after")
    assert evaluate(check, ctx).passed


def test_compare_ops() -> None:
    assert compare(1.0, "==", 1.0) and compare(2, "!=", 1) and compare(1, "<", 2)
    assert not compare(None, ">=", 0)


def test_where_error_code_selects_the_refusals_the_client_saw() -> None:
    records = [rec(0, 0.0), RequestRecord(request_id="1", sent_at_s=0.1, ended_at_s=0.2,
                                          route="r", tenant="t", status=429,
                                          error_code="budget_exceeded", retry_after_s=60.0),
               RequestRecord(request_id="2", sent_at_s=0.2, ended_at_s=0.3, route="r",
                             tenant="t", status=429, error_code="other")]
    where = Scope(error_code="budget_exceeded")
    check = Probe(metric="requests", op="==", value=1, where=where)
    assert evaluate(check, ctx_with(records)).observed == 1
    graceful = Probe(metric="graceful_degradation_rate", op=">=", value=1, where=where)
    assert evaluate(graceful, ctx_with(records)).passed


def test_where_upstream_counts_what_the_upstream_logs_say_it_served() -> None:
    from chaos.runner.attribution import Attribution

    records = [rec(0, 0.0, upstream="a"), rec(1, 0.1, upstream="a"), rec(2, 0.2, upstream="b")]
    # the gateway's headers say a, a, b; the upstream logs say b served request 1
    truth = Attribution(served={"0": "a", "1": "b", "2": "b"})
    check = Probe(metric="requests", op=">=", value=0, where=Scope(upstream="b"))
    assert evaluate(check, ctx_with(records, attribution=truth)).observed == 2
