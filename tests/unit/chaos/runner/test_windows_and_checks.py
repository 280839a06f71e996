"""The report stages that are pure: time windows, the checks judged after the run, stop
conditions watched during it."""

from __future__ import annotations

import pytest

from chaos.report.model import PhaseInfo, StopInfo
from chaos.report.records import AppliedFault, RequestRecord
from chaos.runner.checks import assertion_results, not_run, steady_state_results, why_not_run
from chaos.runner.metrics import Window
from chaos.runner.stop_conditions import StopConditionBreached, StopConditionWatch
from chaos.runner.windows import fault_windows, measured, metric_context, phase_windows
from chaos.scenario.model import Assertion, Probe, StopCondition, UpstreamSpec


def rec(i: int, t: float, status: int = 200) -> RequestRecord:
    return RequestRecord(request_id=str(i), sent_at_s=t, ended_at_s=t + 0.01, route="r",
                         tenant="t", status=status, latency_ms=10.0, upstream="a")


PHASES = (PhaseInfo(name="start", start_s=0.0, end_s=1.0),
          PhaseInfo(name="warmup", start_s=1.0, end_s=2.0),
          PhaseInfo(name="steady_before", start_s=2.0, end_s=5.0),
          PhaseInfo(name="faults", start_s=5.0))


def test_phase_windows_keep_the_measured_phases_and_end_an_open_one_now() -> None:
    assert phase_windows(PHASES, now_s=9.0) == {"steady_before": Window(2.0, 5.0),
                                                "faults": Window(5.0, 9.0)}


def test_fault_windows_skip_faults_never_applied() -> None:
    applied = [
        AppliedFault(name="x", kind="latency", target="a", params={}, planned_at_s=0,
                     planned_duration_s=2, applied_at_s=5.5, reverted_at_s=7.5),
        AppliedFault(name="y", kind="latency", target="b", params={}, planned_at_s=1,
                     planned_duration_s=2, applied_at_s=6.0),
        AppliedFault(name="z", kind="latency", target="c", params={}, planned_at_s=9,
                     planned_duration_s=2, status="not_reached"),
    ]
    windows = fault_windows(applied, now_s=10.0)
    assert set(windows) == {"x", "y"}
    assert windows["x"].window == Window(5.5, 7.5) and windows["y"].window == Window(6.0, 10.0)


def test_warm_up_requests_count_nowhere() -> None:
    records = [rec(0, 1.5), rec(1, 2.5)]
    assert measured(records, None) == records
    assert [r.request_id for r in measured(records, 2.0)] == ["1"]
    ctx = metric_context(records, phases=PHASES, applied=(), now_s=6.0, measured_from_s=2.0,
                         upstreams=[UpstreamSpec(name="a", model="m", hosting="private", region="eu")])
    assert [r.request_id for r in ctx.records] == ["1"] and ctx.model_to_upstream == {"m": "a"}


def test_checks_whose_window_never_came_are_not_run_when_the_run_ended_early() -> None:
    records = [rec(i, 2.0 + i * 0.1) for i in range(10)]
    ctx = metric_context(records, phases=PHASES[:3], applied=(), now_s=5.0, measured_from_s=None,
                         upstreams=())
    probe = Probe(metric="success_rate", op=">=", value=0.9)
    why = why_not_run(StopInfo(condition="stop if error_rate > 0.5", at_s=4.0, observed=0.9))
    steady = steady_state_results([probe], ctx, ended_early=True, why=why)
    assert [r.passed for r in steady.before] == [True]
    assert [(r.skipped, r.phase, r.detail) for r in steady.after] == [(True, "steady_after", why)]

    during = Assertion(metric="success_rate", op=">=", value=0.9, during="gpu-down")
    in_phase = Assertion(metric="success_rate", op=">=", value=0.9, phase="recovery")
    whole = Assertion(metric="success_rate", op=">=", value=0.9)
    early = assertion_results([during, in_phase, whole], ctx, ended_early=True, why=why)
    assert [(r.skipped, r.passed) for r in early] == [(True, False), (True, False), (False, True)]
    # A run that was not ended early: an assertion about a fault never applied fails.
    late = assertion_results([during], ctx, ended_early=False, why=why)
    assert (late[0].skipped, late[0].passed, late[0].detail) == (False, False,
                                                                 "fault was never applied")


def test_not_run_keeps_the_check_s_identity() -> None:
    check = Assertion(name="pii stays private", metric="policy_violations", op="==", value=0,
                      phase="faults")
    result = not_run(check, "not run: because")
    assert (result.name, result.phase, result.skipped, result.passed) == (
        "pii stays private", "faults", True, False)


def test_a_stop_condition_trips_on_a_full_window_and_reports_the_closest_value() -> None:
    watch = StopConditionWatch([StopCondition(metric="error_rate", op=">", value=0.5,
                                              window_s=1.0, min_requests=4)])
    watch.check([rec(i, 0.1 * i) for i in range(3)], now_s=1.0)  # too few: not evaluated
    watch.check([rec(i, 0.1 * i, status=503 if i < 2 else 200) for i in range(8)], now_s=1.0)
    assert watch.tripped is None
    with pytest.raises(StopConditionBreached) as info:
        watch.check([rec(i, 0.1 * i, status=503) for i in range(8)], now_s=1.0)
    assert info.value.at_s == 1.0 and watch.tripped == 0
    stop = StopInfo(condition=info.value.result.name, at_s=1.0, observed=1.0)
    [result] = watch.results(stop)
    assert (result.passed, result.skipped, result.requests, result.observed) == (False, False, 2, 1.0)
    assert result.detail == "tripped at 1.0 s: the run stopped early"


def test_a_stop_condition_never_evaluated_is_skipped_never_passed() -> None:
    watch = StopConditionWatch([StopCondition(metric="error_rate", op=">", value=0.5)])
    watch.check([rec(0, 0.0)], now_s=1.0)
    [result] = watch.results(None)
    assert (result.passed, result.skipped) == (False, True)
    assert result.detail.startswith("never evaluated: no 2 s window had 10 requests")
