"""The verdict: broken > failed > passed, each with its reasons in report order."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from chaos.report.model import AuditInfo, FaultEffect, FaultReport, StopInfo
from chaos.report.records import CheckResult
from chaos.runner.verdict import VerdictInputs, judge, unverified_faults

AUDIT_OK = AuditInfo(file="audit.jsonl", head="h", records=3, verified=True)


def check(name: str, passed: bool, skipped: bool = False, observed: float | None = 0.5) -> CheckResult:
    return CheckResult(name=name, metric="success_rate", op=">=", expected=0.9, observed=observed,
                       passed=passed, requests=10, skipped=skipped)


def fault(verified: bool | None) -> FaultReport:
    effect = None if verified is None else FaultEffect(
        verified=verified, expected="no answers from a", observed="a answered 12",
        window_s=1.0, requests_before=1, success_rate_before=1.0, target_share_before=1.0,
        requests_during=1, errors_during=0, success_rate_during=1.0, target_share_during=1.0,
        failovers_during=0)
    return FaultReport(name="down", kind="upstream_down", target="a", params={}, planned_at_s=0,
                       planned_duration_s=1, effect=effect)


def test_nothing_wrong_passes() -> None:
    result = judge(VerdictInputs(audit=AUDIT_OK, assertions=[check("a", True)],
                                 steady_after=[check("s", True)], faults=[fault(True)]))
    assert (result.verdict, result.reasons) == ("passed", ())


def test_failures_are_listed_in_report_order_and_skipped_checks_are_not_failures() -> None:
    result = judge(VerdictInputs(
        audit=AUDIT_OK, deviated_before=True,
        stop=StopInfo(condition="stop if error_rate > 0.5", at_s=7.25, observed=0.8),
        steady_after=[check("s1", False, observed=None), check("s2", False, skipped=True)],
        assertions=[check("a1", False), check("a2", True)],
    ))
    assert result.verdict == "failed"
    assert result.reasons == (
        "steady-state hypothesis deviated before any fault was injected",
        "stop condition breached at 7.2 s: stop if error_rate > 0.5",
        "steady state after recovery: s1 (observed n/a)",
        "assertion failed: a1 (observed 0.5)",
    )


def test_a_broken_run_names_only_its_breakage() -> None:
    result = judge(VerdictInputs(audit=AUDIT_OK, broken="fault proxy did not start: x",
                                 assertions=[check("a1", False)], faults=[fault(False)],
                                 gateway_exit="gateway exited with code 1 during the run"))
    assert result.verdict == "broken"
    assert result.reasons[0] == "fault proxy did not start: x"
    assert result.reasons[1].startswith("fault 'down' (upstream_down on a) did not take effect")
    assert len(result.reasons) == 2  # neither the failed assertion nor the gateway exit


def test_a_fault_that_did_not_bite_breaks_the_run() -> None:
    assert unverified_faults([fault(True), fault(None)]) == []
    result = judge(VerdictInputs(audit=AUDIT_OK, faults=[fault(False)]))
    assert result.verdict == "broken"
    assert result.reasons == ("fault 'down' (upstream_down on a) did not take effect: expected "
                              "no answers from a; observed a answered 12",)


def test_a_gateway_exit_during_the_run_fails_it() -> None:
    result = judge(VerdictInputs(audit=AUDIT_OK, gateway_exit="gateway exited with code 3"))
    assert (result.verdict, result.reasons) == ("failed", ("gateway exited with code 3",))


def test_an_audit_log_that_does_not_verify_breaks_a_passing_run_only() -> None:
    bad = AuditInfo(file="audit.jsonl", error="hash mismatch at seq 4")
    passing = judge(VerdictInputs(audit=bad, teardown_problems=["slow stop"]))
    assert passing.verdict == "broken"
    assert passing.reasons == ("audit log does not verify: hash mismatch at seq 4",
                               "teardown: slow stop")
    failing = judge(VerdictInputs(audit=bad, assertions=[check("a", False)]))
    assert failing.verdict == "failed"
    # No audit log at all (an external gateway) is no breakage.
    assert judge(VerdictInputs(audit=AuditInfo(file=None, error="no audit log"))).verdict == "passed"


@given(broken=st.booleans(), deviated=st.booleans(), failed_check=st.booleans(),
       not_biting=st.booleans(), exited=st.booleans())
def test_broken_beats_failed_beats_passed(broken, deviated, failed_check, not_biting, exited) -> None:
    result = judge(VerdictInputs(
        audit=AUDIT_OK, broken="crash" if broken else None, deviated_before=deviated,
        assertions=[check("a", not failed_check)], faults=[fault(not not_biting)],
        gateway_exit="exit" if exited else None,
    ))
    if broken or not_biting:
        assert result.verdict == "broken"
    elif deviated or failed_check or exited:
        assert result.verdict == "failed"
    else:
        assert result.verdict == "passed"
    assert bool(result.reasons) == (result.verdict != "passed")
