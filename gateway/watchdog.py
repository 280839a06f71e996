"""Adaptive slow-failure detection: notice a hanging upstream long before the attempt timeout.

Users set generous attempt timeouts because real completions are slow; waiting for them to
expire costs every request in flight the whole timeout. Instead (config ``hang_detection``):

- :class:`LatencyWindow`: each upstream remembers its last ``window`` successful attempt
  latencies (a distribution, not only the EWMA mean the ranking uses);
- :class:`HangDetector`: an attempt unanswered for ``max(floor_ms, multiplier × quantile)`` of
  its upstream's window is *slow* (no threshold below ``min_samples``, or when it would not come
  before the attempt timeout). The attempt schedule (:class:`gateway.hedge.HedgedAttempts`)
  runs that watchdog; the router then ejects the upstream — its breaker opens at once, so new
  requests avoid it — unless no other upstream of the request's plan is usable, and may start a
  hedge on the next allowed upstream;
- :class:`HedgeBudget`: hedges are bounded to ``hedge_budget_ratio`` of requests (plus
  ``hedge_burst``) in the long run — a token bucket;
- the breaker's half-open probe brings an ejected upstream back; a probe of a latency-ejected
  upstream gives up after ``probe_multiplier × threshold`` (:meth:`HangDetector.probe_timeout_s`).

>>> w = LatencyWindow(16, 0.5, min_samples=3)
>>> w.value() is None
True
>>> for ms in (10.0, 20.0, 30.0): w.add(ms)
>>> w.value()
20.0
"""

from __future__ import annotations

from bisect import bisect_left, insort

from gateway.config import HangDetectionConfig

FULL_PROBE_EVERY = 4  # every 4th consecutive failed probe of a latency-ejected upstream: full timeout


class LatencyWindow:
    """The last ``size`` latencies (ms) of one upstream and one quantile of them.

    Kept twice: in arrival order (a ring, to know which sample leaves) and sorted (``bisect``:
    a binary search and a memmove per sample), so the quantile is exact and costs an index."""

    __slots__ = ("_samples", "_sorted", "_next", "_count", "_quantile", "_min_samples")

    def __init__(self, size: int, quantile: float, *, min_samples: int) -> None:
        self._samples: list[float] = []
        self._sorted: list[float] = []
        self._next = 0
        self._count = size
        self._quantile = quantile
        self._min_samples = min_samples

    def __len__(self) -> int:
        return len(self._samples)

    def add(self, ms: float) -> None:
        ordered = self._sorted
        if len(self._samples) < self._count:
            self._samples.append(ms)
        else:
            old = self._samples[self._next]
            self._samples[self._next] = ms
            self._next = (self._next + 1) % self._count
            del ordered[bisect_left(ordered, old)]
        insort(ordered, ms)

    def value(self) -> float | None:
        """The quantile in ms (None below ``min_samples``)."""
        ordered = self._sorted
        n = len(ordered)
        if n < self._min_samples:
            return None
        return ordered[min(n - 1, int(self._quantile * n))]


class HangDetector:
    """Slow thresholds per upstream, from ``hang_detection`` config."""

    __slots__ = ("cfg", "floor_ms")

    def __init__(self, cfg: HangDetectionConfig) -> None:
        self.cfg = cfg
        self.floor_ms = cfg.floor_ms

    def window(self) -> LatencyWindow:
        return LatencyWindow(self.cfg.window, self.cfg.quantile, min_samples=self.cfg.min_samples)

    def threshold_s(self, window: LatencyWindow, timeout_s: float) -> float | None:
        """Seconds after which an attempt is slow; None: no watchdog (too few samples, or the
        threshold would not come before ``timeout_s``)."""
        q = window.value()
        if q is None:
            return None
        t = max(self.floor_ms, self.cfg.multiplier * q) / 1000.0
        return t if t < timeout_s else None

    def probe_timeout_s(self, window: LatencyWindow, base_s: float, failed_probes: int) -> float:
        """The probe timeout for an upstream ejected as slow: ``probe_multiplier ×`` its
        threshold, but ``base_s`` (the configured probe timeout) on every 4th consecutive failed
        probe, so an upstream that became slower for good still gets a chance to answer."""
        t = self.threshold_s(window, base_s)
        if t is None or failed_probes % FULL_PROBE_EVERY == FULL_PROBE_EVERY - 1:
            return base_s
        return min(base_s, self.cfg.probe_multiplier * t)


class HedgeBudget:
    """A token bucket: every request adds ``ratio`` of a token (up to ``burst``, at least one),
    a hedge spends one — so hedges stay ≤ ratio × requests + burst.

    >>> b = HedgeBudget(0.5, burst=1)
    >>> b.try_spend(), b.try_spend()
    (True, False)
    >>> b.request(); b.request(); b.try_spend()
    True
    """

    __slots__ = ("ratio", "cap", "tokens")

    def __init__(self, ratio: float, *, burst: int) -> None:
        self.ratio = ratio
        self.cap = float(max(burst, 1)) if ratio > 0 else float(burst)
        self.tokens = float(burst)

    def request(self) -> None:
        tokens = self.tokens + self.ratio
        self.tokens = tokens if tokens < self.cap else self.cap

    def available(self) -> bool:
        return self.tokens >= 1.0

    def try_spend(self) -> bool:
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False
