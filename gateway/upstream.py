"""One upstream's runtime state: breaker, latency EWMA and window, Retry-After window, GPU health.

The router ranks :class:`Upstream` objects and only ever sends to those whose ``model`` is in the
current decision's ``allowed`` list; this module holds no policy logic.

>>> from gateway.config import UpstreamConfig, BreakerConfig
>>> up = Upstream(UpstreamConfig(name="a", base_url="http://x/v1", model="m"), BreakerConfig())
>>> up.url, up.usable(0.0)
('http://x/v1/chat/completions', True)
"""

from __future__ import annotations

import time
from collections.abc import Callable

from pydantic import SecretStr

from gateway.breaker import CircuitBreaker
from gateway.config import BreakerConfig, UpstreamConfig
from gateway.watchdog import LatencyWindow
from governance.decision import Candidate

EWMA_ALPHA = 0.2  # weight of the newest sample; ~5 samples of memory
DEFAULT_SKIP_S = 1.0  # a 429 without Retry-After still takes the upstream out for a second
MAX_SKIP_S = 300.0  # cap a hostile or buggy Retry-After


class Upstream:
    __slots__ = ("cfg", "name", "model", "url", "headers", "breaker", "ewma_ms", "skip_until",
                 "gpu_state", "latency", "ejected_slow", "failed_probes", "candidate_up", "candidate_down", "candidate_dict_up",
                 "candidate_dict_down")

    def __init__(
        self,
        cfg: UpstreamConfig,
        breaker: BreakerConfig,
        *,
        api_key: SecretStr | None = None,
        clock: Callable[[], float] = time.monotonic,
        on_breaker_change: Callable[[str], None] | None = None,
        latency: LatencyWindow | None = None,
    ) -> None:
        self.cfg = cfg
        self.name = cfg.name
        self.model = cfg.model
        self.url = cfg.base_url.rstrip("/") + "/chat/completions"
        self.headers = {"Content-Type": "application/json"}
        if api_key is not None:
            self.headers["Authorization"] = f"Bearer {api_key.get_secret_value()}"
        self.breaker = CircuitBreaker(
            failure_threshold=breaker.failure_threshold,
            open_ms=breaker.open_ms,
            clock=clock,
            on_change=on_breaker_change,
            timeout_threshold=breaker.timeout_threshold,
            background_probe=breaker.probe == "background",
        )
        self.ewma_ms: float | None = None
        self.skip_until = 0.0
        self.gpu_state = "healthy"  # healthy | degraded | lost, pushed by the GPU monitor
        # hang detection (gateway.watchdog): recent latencies; ejected as slow (breaker opened
        # by the watchdog, not by errors) and the consecutive failed probes since
        self.latency = latency
        self.ejected_slow = False
        self.failed_probes = 0
        # Built (and validated) once; requests reuse them instead of validating per call.
        base = dict(
            id=cfg.model,
            provider=cfg.provider,
            hosting=cfg.hosting,
            region=cfg.region,
            version=cfg.version,
            cost_per_1k_tokens=cfg.cost_per_1k_tokens,
            tags=cfg.tags,
        )
        self.candidate_up = Candidate(healthy=True, **base)
        self.candidate_down = Candidate(healthy=False, **base)
        self.candidate_dict_up = {**base, "tags": list(cfg.tags), "healthy": True}
        self.candidate_dict_down = {**base, "tags": list(cfg.tags), "healthy": False}

    def __repr__(self) -> str:
        return f"Upstream({self.name!r}, model={self.model!r}, breaker={self.breaker.state})"

    def usable(self, now: float) -> bool:
        """May a request be sent now (GPU not lost, no Retry-After window, breaker lets it)?"""
        return self.gpu_state != "lost" and now >= self.skip_until and self.breaker.available()

    def retry_in_s(self, now: float) -> float:
        """Seconds until this upstream could be tried again (GPU loss counts as unknown: 1 s)."""
        if self.gpu_state == "lost":
            return 1.0
        return max(self.skip_until - now, self.breaker.retry_in_s(), 0.0)

    def skip_for(self, seconds: float | None, now: float) -> None:
        """Honour a Retry-After: skip this upstream until ``now + seconds``."""
        s = DEFAULT_SKIP_S if seconds is None else min(max(seconds, 0.0), MAX_SKIP_S)
        self.skip_until = max(self.skip_until, now + s)

    def observe_latency(self, ms: float) -> None:
        self.ewma_ms = ms if self.ewma_ms is None else self.ewma_ms + EWMA_ALPHA * (ms - self.ewma_ms)
        if self.latency is not None:
            self.latency.add(ms)


def rank(upstreams: list[Upstream], strategy: str, preferred_model: str | None = None) -> list[Upstream]:
    """Order usable upstreams for one request: preferred model first, degraded GPUs last, then
    by the route's strategy (latency EWMA — unmeasured first so they get measured —, cost, or
    the route's declared order for ``priority``). Stable for ties."""
    if len(upstreams) < 2:
        return list(upstreams)

    def key(item: tuple[int, Upstream]) -> tuple:
        i, up = item
        if strategy == "latency":
            metric = up.ewma_ms if up.ewma_ms is not None else 0.0
        elif strategy == "cost":
            metric = up.cfg.cost_per_1k_tokens
        else:
            metric = 0.0
        return (
            preferred_model is not None and up.model != preferred_model,
            up.gpu_state == "degraded",
            metric,
            i,
        )

    return [up for _, up in sorted(enumerate(upstreams), key=key)]
