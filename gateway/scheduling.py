"""When a request's attempts start: one at a time, the route's fixed hedge, or the hang watchdog.

:class:`AttemptScheduler` picks the schedule (:mod:`gateway.hedge`) for each request and owns
what the hang watchdog (:mod:`gateway.watchdog`) decides between requests: an upstream whose
attempt passed its slow threshold is ejected (breaker open now, so new requests avoid it; the
half-open probe brings it back, with a probe timeout scaled to that threshold), and hedges are
bounded by the hedge budget. Everything here acts only within the request's plan
(``decision.allowed``): a hedge goes to the next admitted upstream of the same plan.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from gateway.breaker import CLOSED
from gateway.config import HangDetectionConfig
from gateway.hedge import Attempt, Call, HedgedAttempts, SerialAttempts
from gateway.ledger import Outcome
from gateway.metrics import GatewayMetrics
from gateway.route import RouteRuntime
from gateway.upstream import Upstream
from gateway.watchdog import HangDetector, HedgeBudget, LatencyWindow


class AttemptScheduler:
    """Per gateway: the hang detector (None when ``hang_detection.enabled`` is false) and the
    hedge budget; per request: :meth:`schedule`."""

    def __init__(self, cfg: HangDetectionConfig, metrics: GatewayMetrics,
                 clock: Callable[[], float]) -> None:
        self.hang = HangDetector(cfg) if cfg.enabled else None
        self.budget = HedgeBudget(cfg.hedge_budget_ratio if cfg.hedge else 0.0,
                                  burst=cfg.hedge_burst if cfg.hedge else 0)
        self.metrics = metrics
        self.clock = clock
        # per route, built on its first request: (fixed hedge, adaptive hedge)
        self._policies: dict[str, tuple[FixedHedge | None, AdaptiveHedge | None]] = {}
        metrics.hedge_budget.set_function(lambda: self.budget.tokens)

    def window(self) -> LatencyWindow | None:
        """A new upstream's latency window (None without hang detection)."""
        return self.hang.window() if self.hang is not None else None

    def probe_timeout(self, up: Upstream, base_s: float) -> float:
        """The half-open probe's timeout: scaled to the slow threshold for a latency-ejected
        upstream, else ``base_s``."""
        if self.hang is None or not up.ejected_slow or up.latency is None:
            return base_s
        return self.hang.probe_timeout_s(up.latency, base_s, up.failed_probes)

    @staticmethod
    def breaker_changed(up: Upstream, state: str) -> None:
        if state == CLOSED:  # back in rotation: a new ejection starts from scratch
            up.ejected_slow = False
            up.failed_probes = 0

    def schedule(self, rt: RouteRuntime, plan: list[Upstream],
                 admitted: Iterator[tuple[Upstream, int]], call: Call, out: Outcome, *,
                 hedge: bool) -> SerialAttempts | HedgedAttempts:
        """The route's fixed hedging (``hedge_after_ms``, non-streaming), else the hang
        watchdog with adaptive hedging (``hang_detection``), else one attempt at a time."""
        self.budget.request()
        policies = self._policies.get(rt.name)
        if policies is None:
            policies = self._policies[rt.name] = (
                FixedHedge(rt, self.metrics) if rt.hedge_s is not None else None,
                AdaptiveHedge(rt, self) if self.hang is not None else None)
        fixed, adaptive = policies
        if hedge and fixed is not None:
            return HedgedAttempts(admitted, call, fixed, plan, out)
        if adaptive is None:
            return SerialAttempts(admitted, call)
        return HedgedAttempts(admitted, call, adaptive, plan, out)

    def _slow(self, up: Upstream, plan: list[Upstream]) -> None:
        """An attempt on ``up`` passed its slow threshold: eject ``up`` — unless no other
        upstream of this request's plan is usable, where ejecting would only turn slowness
        into errors."""
        self.metrics.slow_attempts.labels(up.name).inc()
        if up.breaker.state != CLOSED:
            return
        now = self.clock()
        if any(other is not up and other.usable(now) for other in plan):
            up.breaker.eject()
            up.ejected_slow = True
            up.failed_probes = 0
            self.metrics.ejections.labels(up.name, "latency").inc()


class FixedHedge:
    """The route's ``hedge_after_ms``: hedge an attempt unanswered that long, within the retry
    budget (no hedge budget, no ejection)."""

    __slots__ = ("delay_s", "max_attempts", "_route", "_metrics", "_hedges")

    def __init__(self, rt: RouteRuntime, metrics: GatewayMetrics) -> None:
        assert rt.hedge_s is not None
        self.delay_s = rt.hedge_s
        self.max_attempts = rt.max_attempts
        self._route = rt.name
        self._metrics = metrics
        self._hedges: Any = None  # the labelled counter, once a hedge happened

    def delay(self, up: Upstream) -> float | None:
        return self.delay_s

    def slow(self, attempt: Attempt, plan: list[Upstream]) -> None:
        pass

    def can_hedge(self, attempts: int) -> bool:
        return attempts < self.max_attempts

    def hedged(self, attempt: Attempt) -> None:
        if self._hedges is None:
            self._hedges = self._metrics.hedges.labels(self._route)
        self._hedges.inc()


class AdaptiveHedge:
    """Hang detection on one route: an attempt is slow past its upstream's slow threshold; the
    scheduler ejects that upstream; a hedge needs the retry budget and the hedge budget."""

    __slots__ = ("_scheduler", "_hang", "timeout_s", "max_attempts", "_route", "_hedges",
                 "_denied")

    def __init__(self, rt: RouteRuntime, scheduler: AttemptScheduler) -> None:
        assert scheduler.hang is not None
        self._scheduler = scheduler
        self._hang = scheduler.hang
        self.timeout_s = rt.timeout_s
        self.max_attempts = rt.max_attempts
        self._route = rt.name
        self._hedges: Any = None  # labelled counters, on first use
        self._denied: Any = None

    def delay(self, up: Upstream) -> float | None:
        latency = up.latency
        return self._hang.threshold_s(latency, self.timeout_s) if latency is not None else None

    def slow(self, attempt: Attempt, plan: list[Upstream]) -> None:
        self._scheduler._slow(attempt.up, plan)

    def can_hedge(self, attempts: int) -> bool:
        if attempts >= self.max_attempts:
            return False
        if self._scheduler.budget.available():
            return True
        if self._denied is None:
            self._denied = self._scheduler.metrics.hedges_denied.labels(self._route)
        self._denied.inc()
        return False

    def hedged(self, attempt: Attempt) -> None:
        self._scheduler.budget.try_spend()
        if self._hedges is None:
            self._hedges = self._scheduler.metrics.hedges.labels(self._route)
        self._hedges.inc()
