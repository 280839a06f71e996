"""Served-by and failovers from the upstream logs; the gateway's headers only cross-checked."""

from __future__ import annotations

from types import SimpleNamespace

from chaos.report.records import RequestRecord
from chaos.runner import metrics as m
from chaos.runner.analysis import failover_reasons, run_metrics
from chaos.runner.assertions import evaluate
from chaos.runner.attribution import attribute
from chaos.runner.metrics import FaultWindow, MetricContext, Window
from chaos.scenario.model import Assertion

CHAT = "/v1/chat/completions"


def rec(i: str, t: float, status: int = 200, upstream: str | None = None,
        failovers: tuple[str, ...] = ()) -> RequestRecord:
    return RequestRecord(request_id=i, sent_at_s=t, ended_at_s=t + 0.01, route="r", tenant="t",
                         status=status, upstream=upstream, failovers=failovers)


def entry(i: str, upstream: str, t: float, outcome: str = "ok", path: str = CHAT):
    return SimpleNamespace(govchaos_request_id=i, upstream=upstream, served_model=f"m-{upstream}",
                           outcome=outcome, path=path, received_mono=t)


def test_served_by_comes_from_the_logs_and_headers_are_cross_checked() -> None:
    records = [rec("1", 0, upstream="a"), rec("2", 0, upstream="a"), rec("3", 0),
               rec("4", 0, upstream="b"), rec("5", 0, status=503)]
    entries = [entry("1", "a", 1), entry("2", "b", 1), entry("3", "c", 1),
               entry("4", "a", 1, "error_500"), entry("4", "b", 2), entry("5", "a", 1, "hang"),
               entry("x", "a", 1, path="/health")]
    a = attribute(records, entries)
    assert a.served == {"1": "a", "2": "b", "3": "c", "4": "b"}
    assert a.reached["4"] == ("a", "b") and a.reached["5"] == ("a",)
    s = a.summary
    assert (s.successes, s.attributed, s.unattributed, s.header_checked) == (4, 4, 0, 3)
    assert s.mismatches == 1 and s.examples[0].request_id == "2"
    assert s.examples[0].gateway_says == "a" and s.examples[0].upstream_logs == "b"


def test_a_success_no_upstream_answered_is_unattributed() -> None:
    a = attribute([rec("1", 0, upstream="a")], [entry("1", "a", 1, "error_500")])
    assert a.served == {} and a.summary.unattributed == 1 and a.summary.mismatches == 1


def test_a_hedge_takes_the_named_upstream_when_it_answered() -> None:
    a = attribute([rec("1", 0, upstream="a")], [entry("1", "a", 1), entry("1", "b", 2)])
    assert a.served["1"] == "a" and a.summary.ambiguous == 1 and a.summary.mismatches == 0


def test_one_failover_definition_logs_or_gateway_report() -> None:
    records = [rec("1", 0, upstream="b"),  # reached a then b: logs show the failover
               rec("2", 0, upstream="b", failovers=("a:connect_error",)),  # refused: no log
               rec("3", 0, upstream="a"),  # plain
               rec("4", 0, status=503, failovers=("a:timeout",))]  # failed: not a failover
    entries = [entry("1", "a", 1, "error_500"), entry("1", "b", 2), entry("2", "b", 1),
               entry("3", "a", 1), entry("4", "a", 1, "hang")]
    ctx = MetricContext(records=records, attribution=attribute(records, entries))
    assert [m.failed_over(r, ctx) for r in records] == [True, True, False, False]
    assert failover_reasons(records, ctx) == {"unreported": 1, "connect_error": 1}
    metrics = run_metrics(records, {}, ctx, {"a": "model-a", "b": "model-b"})
    assert metrics.failovers == 2 and metrics.served_by_model == {"model-b": 2, "model-a": 1}
    assert metrics.attribution is not None and metrics.attribution.mismatches == 0


def test_recovery_needs_the_target_to_have_served_before() -> None:
    fault = FaultWindow("k", "a", Window(1.0, 2.0))
    check = Assertion(metric="recovery_time_s", op="<=", value=5, during="k")
    # Before the fault only b served (per the logs, whatever the header says): no data.
    records = [rec("1", 0.5, upstream="a"), rec("2", 2.5, upstream="a")]
    entries = [entry("1", "b", 0.5), entry("2", "a", 2.5)]
    ctx = MetricContext(records=records, faults={"k": fault},
                        attribution=attribute(records, entries))
    result = evaluate(check, ctx)
    assert result.observed is None and not result.passed
    assert result.detail.startswith("no data") and "nothing to recover to" in result.detail
    # a served before and again after: measured.
    entries = [entry("1", "a", 0.5), entry("2", "a", 2.5)]
    ctx = MetricContext(records=records, faults={"k": fault},
                        attribution=attribute(records, entries))
    result = evaluate(check, ctx)
    assert result.passed and abs(result.observed - 0.51) < 1e-6


def test_failover_time_from_ground_truth_without_headers() -> None:
    # An external gateway: no served-by headers at all.
    fault = FaultWindow("k", "a", Window(1.0, 2.0))
    records = [rec("1", 0.5), rec("2", 1.1), rec("3", 1.2)]
    entries = [entry("1", "a", 0.5), entry("2", "a", 1.1, "error_500"), entry("2", "b", 1.15),
               entry("3", "b", 1.2)]
    ctx = MetricContext(records=records, faults={"k": fault},
                        attribution=attribute(records, entries))
    result = evaluate(Assertion(metric="failover_time_ms", op="<=", value=500, during="k"), ctx)
    assert result.passed and abs(result.observed - 110.0) < 1e-6
    assert m.failed_over(records[1], ctx) and not m.failed_over(records[2], ctx)


def test_what_reached_another_upstream_after_the_answer_is_no_failover() -> None:
    # a: served; s: a shadow mirror (or a hedge that lost late) received it afterwards
    records = [rec("1", 0, upstream="a"), rec("2", 0, upstream="b")]
    entries = [entry("1", "a", 1), entry("1", "s", 2),
               entry("2", "a", 1, "error_500"), entry("2", "b", 2), entry("2", "s", 3)]
    a = attribute(records, entries)
    assert a.reached["1"] == ("a",) and a.reached["2"] == ("a", "b")
    ctx = MetricContext(records=records, attribution=a)
    assert [m.failed_over(r, ctx) for r in records] == [False, True]


def test_upstream_share_is_the_served_share_per_the_logs() -> None:
    records = [rec(str(i), 0.5, upstream="a") for i in range(4)] + [rec("9", 0.5, status=503)]
    entries = [entry("0", "c", 1), entry("1", "a", 1), entry("2", "a", 1), entry("3", "a", 1)]
    ctx = MetricContext(records=records, attribution=attribute(records, entries))
    check = Assertion(metric="upstream_share", op=">=", value=0.5, where={"upstream": "c"})
    result = evaluate(check, ctx)
    assert result.observed == 0.25 and not result.passed  # 1 of 4 successes; the 503 is no success
    empty = evaluate(check, MetricContext(records=[rec("9", 0.5, status=503)]))
    assert empty.observed is None and not empty.passed and empty.detail.startswith("no data")
