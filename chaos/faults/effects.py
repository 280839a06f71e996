"""The effect contract: what a fault must observably do, checked from ground truth.

Every fault kind declares, with :meth:`~chaos.faults.base.FaultKind.effect`, the effect its
fault must produce. The runner collects the evidence while the fault is in force and judges it
after the run; a fault whose effect was not observed makes the run ``broken``, never
``passed`` (a hypothesis tested against a fault that did not bite proves nothing).

Evidence is ground truth, never the gateway's account:

- the target's own request log (``hits``): what reached the upstream, when, and what the
  upstream answered (its ``outcome``);
- the witness (:mod:`chaos.faults.witness`): probes sent through the fault proxy, so a proxy
  that accepted a toxic but does not apply it is caught, embedded or real Toxiproxy alike;
- the GPU telemetry control file the gateway reads, read back when the fault was applied and
  again just before it was reverted.

Checks compose (:class:`AllOf`), like verification policies: each says what it expected and
what it observed, in words that go into ``report.json`` (``faults[].effect``).

>>> effect = NoRequests()
>>> evidence = EffectEvidence(target="a", applied_at_s=10.0, end_s=16.0,
...                           hits=(UpstreamHit(t_s=9.9, path="/v1/chat/completions"),))
>>> effect.check(evidence).verified
True
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from chaos.faults.witness import WitnessPlan, WitnessProbe, WitnessReport

# After a fault is applied, traffic already past the fault point (bytes in a proxy's buffers,
# a request being parsed) may still land. No effect is judged in this first moment.
EFFECT_GRACE_S = 0.5
CHAT_PATH = "/v1/chat/completions"
# A check at probability p < 1 needs enough samples that "none affected" would be this unlikely
# if the fault were really in force; fewer samples are inconclusive, which is not verified.
INCONCLUSIVE_BELOW = 0.001


@dataclass(frozen=True, slots=True)
class UpstreamHit:
    """One entry of the target's request log, at run-relative time ``t_s``."""

    t_s: float
    path: str
    outcome: str = "ok"
    client: bool = True  # carried a client's marker or prompt (not a content-free probe)


@dataclass(frozen=True, slots=True)
class GpuReading:
    """The control file's entry for a device (None: the device reads through, not injected)."""

    when: str  # "applied" | "before_revert"
    state: str | None
    xid: int | None = None


@dataclass(frozen=True, slots=True)
class EffectEvidence:
    """Everything a fault's effect is judged on. Times are seconds since the run started;
    ``end_s`` is when the revert began (the fault stopped being guaranteed)."""

    target: str
    applied_at_s: float
    end_s: float
    hits: Sequence[UpstreamHit] = ()
    witness: WitnessReport | None = None
    gpu: Sequence[GpuReading] = ()

    def window_hits(self, grace_s: float = EFFECT_GRACE_S) -> list[UpstreamHit]:
        start = self.applied_at_s + grace_s
        return [h for h in self.hits if start <= h.t_s < self.end_s]


@dataclass(frozen=True, slots=True)
class EffectResult:
    verified: bool
    expected: str
    observed: str


class Effect(Protocol):
    """One expected effect: what it is (``expected``), and its check against the evidence."""

    expected: str

    def check(self, evidence: EffectEvidence) -> EffectResult: ...


def witness_plan(effect: Effect) -> WitnessPlan | None:
    """The witness probing ``effect`` needs (the first one declared), or None."""
    if isinstance(effect, AllOf):
        for part in effect.parts:
            plan = witness_plan(part)
            if plan is not None:
                return plan
        return None
    return getattr(effect, "plan", None)


def gpu_devices(effect: Effect) -> tuple[int, ...]:
    """The GPU devices whose control-file entries ``effect`` needs read back."""
    if isinstance(effect, AllOf):
        return tuple(d for part in effect.parts for d in gpu_devices(part))
    device = getattr(effect, "device", None)
    return () if device is None else (device,)


def _result(effect: Effect, verified: bool, observed: str) -> EffectResult:
    return EffectResult(verified=verified, expected=effect.expected, observed=observed)


@dataclass(frozen=True, slots=True)
class AllOf:
    """Every part must hold."""

    parts: tuple[Any, ...]

    @property
    def expected(self) -> str:
        return "; ".join(p.expected for p in self.parts)

    def check(self, evidence: EffectEvidence) -> EffectResult:
        results = [p.check(evidence) for p in self.parts]
        return EffectResult(
            verified=all(r.verified for r in results),
            expected=self.expected,
            observed="; ".join(r.observed for r in results),
        )


@dataclass(frozen=True, slots=True)
class NoRequests:
    """The target receives nothing at all (a dead process or a disabled proxy)."""

    grace_s: float = EFFECT_GRACE_S
    expected: str = field(init=False, default="")

    def __post_init__(self) -> None:
        object.__setattr__(self, "expected", f"the target receives no request from "
                           f"{self.grace_s:g} s after the fault is applied until its revert")

    def check(self, evidence: EffectEvidence) -> EffectResult:
        hits = evidence.window_hits(self.grace_s)
        client = sum(1 for h in hits if h.client)
        window = max(0.0, evidence.end_s - evidence.applied_at_s - self.grace_s)
        if not hits:
            return _result(self, True, f"0 requests received in the {window:.1f} s window")
        first = min(h.t_s for h in hits) - evidence.applied_at_s
        return _result(self, False, f"{len(hits)} requests received in the {window:.1f} s "
                       f"window ({client} client requests; first {first:.2f} s after apply)")


@dataclass(frozen=True, slots=True)
class AnswersOfKind:
    """The target's chat answers in the window are of ``outcome`` at rate ``probability``."""

    outcome: str
    probability: float = 1.0
    expected: str = field(init=False, default="")

    def __post_init__(self) -> None:
        share = "every" if self.probability >= 1 else f"~{self.probability:.0%} of"
        object.__setattr__(self, "expected",
                           f"{share} chat answer of the target in the window is {self.outcome}")

    def check(self, evidence: EffectEvidence) -> EffectResult:
        hits = [h for h in evidence.window_hits() if h.path == CHAT_PATH]
        affected = sum(1 for h in hits if h.outcome == self.outcome)
        other = sorted({h.outcome for h in hits if h.outcome != self.outcome})
        seen = (f"{affected}/{len(hits)} answers were {self.outcome}"
                + (f" (others: {', '.join(other)})" if other else ""))
        if self.probability <= 0:
            return _result(self, affected == 0, seen)
        if not hits:
            return _result(self, False, "no data: the target received no chat request while "
                           "the fault was in force")
        if self.probability >= 1:
            return _result(self, affected == len(hits), seen)
        return _result(self, *_rate_consistent(affected, len(hits), self.probability, seen))


def _rate_consistent(affected: int, n: int, p: float, seen: str) -> tuple[bool, str]:
    """Whether ``affected`` of ``n`` is consistent with rate ``p`` (0 < p < 1)."""
    if affected == 0:
        if (1 - p) ** n > INCONCLUSIVE_BELOW:
            return False, f"{seen}: inconclusive, too few samples for rate {p:g}"
        return False, seen
    share = affected / n
    tolerance = max(0.15, 4 * math.sqrt(p * (1 - p) / n))
    return abs(share - p) <= tolerance, seen


def _fmt_probes(probes: Sequence[WitnessProbe]) -> str:
    counts: dict[str, int] = {}
    for p in probes:
        counts[p.outcome] = counts.get(p.outcome, 0) + 1
    return ", ".join(f"{v} {k}" for k, v in sorted(counts.items())) or "none"


def _median_ms(probes: Sequence[WitnessProbe]) -> float | None:
    values = [p.elapsed_ms for p in probes if p.outcome in ("ok", "stalled")]
    return statistics.median(values) if values else None


class _WitnessCheck:
    """Shared shape: probes through the proxy while the fault is in force; each affected or
    not; at probability 1 every probe must be affected, below 1 enough of them."""

    def __init__(self, plan: WitnessPlan, probability: float, what: str) -> None:
        self.probability = probability
        self.what = what
        if 0 < probability < 1:  # stop at the first affected probe: that settles it
            base = plan.baseline_probes
            plan = WitnessPlan(plan.probes, plan.timeout_ms, plan.response_bytes,
                               plan.upload_bytes, base, enough=self._settled)
        self.plan = plan
        self._base_ms = 0.0

    def _settled(self, probes: Sequence[WitnessProbe]) -> bool:
        return any(self.affected(p, self._base_ms) for p in probes)

    @property
    def expected(self) -> str:
        share = "every" if self.probability >= 1 else f"~{self.probability:.0%} of"
        return f"{share} witness probe through the proxy is {self.what}"

    def affected(self, probe: WitnessProbe, base_ms: float) -> bool:
        raise NotImplementedError

    def describe(self, probes: Sequence[WitnessProbe], base_ms: float) -> str:
        return f"witness: {_fmt_probes(probes)}"

    def check(self, evidence: EffectEvidence) -> EffectResult:
        report = evidence.witness or WitnessReport()
        probes = report.during
        base = _median_ms([p for p in report.baseline if p.answered]) or 0.0
        if not probes:
            return _result(self, False, "no data: no witness probe completed while the fault "
                           "was in force")
        hit = sum(1 for p in probes if self.affected(p, base))
        seen = f"{self.describe(probes, base)}; {hit}/{len(probes)} affected"
        if self.probability >= 1:
            return _result(self, hit == len(probes), seen)
        if hit:
            return _result(self, True, seen)
        return _result(self, *_rate_consistent(hit, len(probes), self.probability, seen))


def witness_plan_for(probability: float, *, timeout_ms: float, **sizes: int) -> WitnessPlan:
    """Probe count for a check at ``probability``: 3 at 1; below 1, as many as make "none
    affected" unlikely (stopping at the first affected probe), at most 40."""
    if probability >= 1:
        return WitnessPlan(probes=3, timeout_ms=timeout_ms, **sizes)
    if probability <= 0:
        return WitnessPlan(probes=1, timeout_ms=timeout_ms, **sizes)
    needed = math.ceil(math.log(INCONCLUSIVE_BELOW) / math.log(1 - probability))
    return WitnessPlan(probes=min(40, max(3, needed)), timeout_ms=timeout_ms, **sizes)


class WitnessRefused(_WitnessCheck):
    def __init__(self) -> None:
        super().__init__(witness_plan_for(1.0, timeout_ms=1000), 1.0,
                         "refused or closed without an answer")

    def affected(self, probe: WitnessProbe, base_ms: float) -> bool:
        return probe.outcome in ("refused", "reset", "closed")


class WitnessDelayed(_WitnessCheck):
    """Answers (or stalls) later than the baseline by at least half the configured delay."""

    def __init__(self, delay_ms: float, probability: float = 1.0) -> None:
        timeout = max(1000.0, 3 * delay_ms + 500)
        plan = witness_plan_for(probability, timeout_ms=timeout)
        super().__init__(plan, probability,
                         f"delayed by at least {delay_ms / 2:g} ms (half of {delay_ms:g} ms)")
        self.delay_ms = delay_ms

    def affected(self, probe: WitnessProbe, base_ms: float) -> bool:
        delay = self.delay_ms
        return probe.outcome in ("ok", "stalled") and probe.elapsed_ms - base_ms >= delay / 2

    def describe(self, probes: Sequence[WitnessProbe], base_ms: float) -> str:
        median = _median_ms(probes)
        shown = "n/a" if median is None else f"{median - base_ms:.0f} ms"
        return f"witness: {_fmt_probes(probes)}; median added delay {shown} (baseline {base_ms:.0f} ms)"


class WitnessCut(_WitnessCheck):
    """The connection is reset or closed without a complete answer (reset_peer, timeout>0)."""

    def __init__(self, probability: float = 1.0, *, within_ms: float = 0.0) -> None:
        timeout = max(1500.0, 2 * within_ms + 1000)
        super().__init__(witness_plan_for(probability, timeout_ms=timeout), probability,
                         "reset or closed without a complete answer")

    def affected(self, probe: WitnessProbe, base_ms: float) -> bool:
        return probe.outcome in ("reset", "closed")


class WitnessStalled(_WitnessCheck):
    """No answer comes back (timeout toxic with timeout 0: data stops, the connection stays)."""

    def __init__(self, probability: float = 1.0) -> None:
        super().__init__(witness_plan_for(probability, timeout_ms=1000), probability,
                         "left without an answer (stalled, or closed without one)")

    def affected(self, probe: WitnessProbe, base_ms: float) -> bool:
        return probe.outcome in ("stalled", "closed", "reset")


class WitnessThroughput(_WitnessCheck):
    """The answer (or upload) moves no faster than ``rate_kbps`` (+25 %)."""

    def __init__(self, rate_kbps: int, *, upstream: bool, probability: float = 1.0) -> None:
        size = int(min(max(rate_kbps * 300, 300), 512_000))  # ~0.3 s at the limit
        sizes = {"upload_bytes": size} if upstream else {"response_bytes": size}
        timeout = max(2000.0, size / max(rate_kbps, 1) * 3 + 1000)
        super().__init__(witness_plan_for(probability, timeout_ms=timeout, **sizes), probability,
                         f"no faster than {rate_kbps:g} KB/s (+25%)")
        self.rate_kbps = rate_kbps
        self.size = size

    def _kbps(self, probe: WitnessProbe, base_ms: float) -> float:
        seconds = max(probe.elapsed_ms - base_ms, 0.001) / 1000.0
        return self.size / 1000.0 / seconds

    def affected(self, probe: WitnessProbe, base_ms: float) -> bool:
        if probe.outcome == "stalled":
            return True
        return probe.outcome == "ok" and self._kbps(probe, base_ms) <= self.rate_kbps * 1.25

    def describe(self, probes: Sequence[WitnessProbe], base_ms: float) -> str:
        rates = [self._kbps(p, base_ms) for p in probes if p.outcome == "ok"]
        shown = f"{statistics.median(rates):.1f} KB/s" if rates else "n/a"
        return f"witness: {_fmt_probes(probes)}; median {shown} for {self.size} bytes"


@dataclass(frozen=True, slots=True)
class GpuShown:
    """The control file the gateway reads says ``state`` (and ``xid``) for ``device``, when the
    fault was applied and still just before it was reverted."""

    device: int
    state: str
    xid: int | None = None
    expected: str = field(init=False, default="")

    def __post_init__(self) -> None:
        xid = f" (Xid {self.xid})" if self.xid is not None else ""
        object.__setattr__(self, "expected", f"GPU {self.device} shown to the gateway as "
                           f"{self.state}{xid} for the whole fault")

    def check(self, evidence: EffectEvidence) -> EffectResult:
        readings = [r for r in evidence.gpu if r.when in ("applied", "before_revert")]
        if not readings:
            return _result(self, False, f"no data: GPU {self.device} control file never read")
        wrong = [r for r in readings if r.state != self.state
                 or (self.xid is not None and r.xid != self.xid)]
        seen = ", ".join(f"{r.when}: {r.state or 'not injected'}"
                         + (f" (Xid {r.xid})" if r.xid is not None else "") for r in readings)
        return _result(self, not wrong and len(readings) >= 2, f"GPU {self.device} {seen}")
