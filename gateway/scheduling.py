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
from gateway.hedge import Call, HedgedAttempts, SerialAttempts
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

        def room() -> bool:
            return out.attempts < rt.max_attempts

        metrics = self.metrics
        if hedge and rt.hedge_s is not None:
            hedge_s = rt.hedge_s
            return HedgedAttempts(admitted, call, lambda up: hedge_s, room,
                                  on_hedge=lambda a: metrics.hedges.labels(rt.name).inc())
        hang = self.hang
        if hang is None:
            return SerialAttempts(admitted, call)
        timeout_s = rt.timeout_s
        budget = self.budget

        def delay(up: Upstream) -> float | None:
            return hang.threshold_s(up.latency, timeout_s) if up.latency is not None else None

        def can_hedge() -> bool:
            if not room():
                return False
            if budget.available():
                return True
            metrics.hedges_denied.labels(rt.name).inc()
            return False

        def on_hedge(attempt: Any) -> None:
            budget.try_spend()
            metrics.hedges.labels(rt.name).inc()

        return HedgedAttempts(admitted, call, delay, can_hedge,
                              on_slow=lambda attempt: self._slow(attempt.up, plan),
                              on_hedge=on_hedge)

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
