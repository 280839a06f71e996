"""The run's verdict: ``broken`` beats ``failed`` beats ``passed``, and each says why.

``broken``: the run could not do its job (a component did not start, a fault could not be
applied or did not take effect, the policy could not be evaluated, a crash, Ctrl-C, an audit log
that does not verify). ``failed``: the system under test misbehaved (the steady state deviated
before the faults, a stop condition tripped, a check failed, the gateway exited during the run).
A broken run names its breakage alone: what failed to run says nothing about the system. A pure
function of what the stages found (:func:`judge`).

>>> from chaos.report.model import AuditInfo
>>> judge(VerdictInputs(audit=AuditInfo(file=None, error="no audit log (external gateway)")))
Judgement(verdict='passed', reasons=())
>>> judge(VerdictInputs(broken="harness crashed: boom", deviated_before=True,
...                     audit=AuditInfo(file=None))).reasons
('harness crashed: boom',)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from chaos.report.model import AuditInfo, FaultReport, StopInfo, Verdict
from chaos.report.records import CheckResult


@dataclass(frozen=True, slots=True)
class VerdictInputs:
    """What the verdict is decided on (each stage's finding, already computed)."""

    audit: AuditInfo
    broken: str | None = None  # why the harness could not do its job (None: it could)
    deviated_before: bool = False  # the steady state did not hold before the faults
    stop: StopInfo | None = None  # the stop condition that tripped
    steady_after: Sequence[CheckResult] = ()
    assertions: Sequence[CheckResult] = ()
    faults: Sequence[FaultReport] = ()
    gateway_exit: str | None = None  # a gateway that exited by itself, described
    teardown_problems: Sequence[str] = ()


@dataclass(frozen=True, slots=True)
class Judgement:
    verdict: Verdict
    reasons: tuple[str, ...]


def unverified_faults(faults: Sequence[FaultReport]) -> list[str]:
    """One reason per fault whose declared effect was not observed: it proves nothing."""
    return [
        f"fault {f.name!r} ({f.kind} on {f.target}) did not take effect: expected "
        f"{f.effect.expected}; observed {f.effect.observed}"
        for f in faults if f.effect is not None and not f.effect.verified
    ]


def judge(inputs: VerdictInputs) -> Judgement:
    """The verdict and its reasons, in the order ``report.json`` lists them."""
    reasons: list[str] = []
    if inputs.deviated_before:
        reasons.append("steady-state hypothesis deviated before any fault was injected")
    if inputs.stop is not None:
        reasons.append(f"stop condition breached at {inputs.stop.at_s:.1f} s: "
                       f"{inputs.stop.condition}")
    reasons += [f"steady state after recovery: {r.name} (observed {_fmt(r.observed)})"
                for r in inputs.steady_after if not r.passed and not r.skipped]
    reasons += [f"assertion failed: {r.name} (observed {_fmt(r.observed)})"
                for r in inputs.assertions if not r.passed and not r.skipped]
    not_biting = unverified_faults(inputs.faults)
    verdict: Verdict
    if inputs.broken or not_biting:
        verdict = "broken"
        # What failed to run says nothing about the system under test: name the breakage.
        reasons = ([inputs.broken] if inputs.broken else []) + not_biting
    elif reasons:
        verdict = "failed"
    else:
        verdict = "passed"
    if inputs.gateway_exit is not None and not inputs.broken:
        # The system under test crashed under chaos: that is a finding, not a harness fault.
        reasons.append(inputs.gateway_exit)
        if verdict == "passed":
            verdict = "failed"
    reasons += [f"teardown: {p}" for p in inputs.teardown_problems]
    audit = inputs.audit
    if audit.error and verdict == "passed" and audit.file:
        verdict = "broken"
        reasons.insert(0, f"audit log does not verify: {audit.error}")
    return Judgement(verdict, tuple(reasons))


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:g}"
