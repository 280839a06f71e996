"""Per-upstream circuit breaker: closed → open → half-open (one probe) → closed.

- *closed*: requests flow; ``failure_threshold`` consecutive failures open the breaker, and so
  does :meth:`eject` (a latency outlier, see :mod:`gateway.watchdog`).
- *open*: no requests until ``open_ms`` has passed since it opened.
- *half-open*: exactly one probe is let through; its success closes the breaker, its failure
  re-opens it for another ``open_ms``. A probe that is abandoned (cancelled, e.g. a losing
  hedge) is given back with :meth:`release`.

Who probes. With ``background_probe=False`` the probe is the next client request
(:meth:`try_acquire` hands it out once). With ``background_probe=True`` (the gateway's default)
client traffic only flows while *closed*; the half-open permit is claimed with
:meth:`try_probe` by the gateway's own health prober, so no client request ever waits on an
upstream that may still be hanging.

Timeouts count double. A failure recorded with ``timeout=True`` (no answer within the attempt
timeout — each one cost a client the whole timeout) also counts towards ``timeout_threshold``
consecutive timeouts, which opens the breaker sooner than ``failure_threshold``.

The clock is injected so tests drive time explicitly.

>>> t = [0.0]
>>> b = CircuitBreaker(failure_threshold=1, open_ms=100, clock=lambda: t[0])
>>> b.record_failure(); b.state
'open'
>>> t[0] = 0.2; b.try_acquire(), b.try_acquire(), b.state
(True, False, 'half_open')
>>> b.record_success(); b.state
'closed'
"""

from __future__ import annotations

import time
from collections.abc import Callable

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"
STATE_VALUE = {CLOSED: 0, HALF_OPEN: 1, OPEN: 2}


class CircuitBreaker:
    __slots__ = ("failure_threshold", "timeout_threshold", "background_probe", "open_s", "_clock",
                 "_state", "_failures", "_timeouts", "_opened_at", "_probe_out", "on_change")

    def __init__(
        self,
        *,
        failure_threshold: int,
        open_ms: float,
        clock: Callable[[], float] = time.monotonic,
        on_change: Callable[[str], None] | None = None,
        timeout_threshold: int | None = None,
        background_probe: bool = False,
    ) -> None:
        self.failure_threshold = failure_threshold
        self.timeout_threshold = timeout_threshold or failure_threshold
        self.background_probe = background_probe
        self.open_s = open_ms / 1000.0
        self._clock = clock
        self._state = CLOSED
        self._failures = 0
        self._timeouts = 0
        self._opened_at = 0.0
        self._probe_out = False
        self.on_change = on_change

    def adopt(self, other: "CircuitBreaker") -> None:
        """Take over ``other``'s state (a config reload keeping an unchanged upstream); a probe
        ``other`` had handed out is not carried: the new prober sends its own."""
        self._state = other._state
        self._failures = other._failures
        self._timeouts = other._timeouts
        self._opened_at = other._opened_at
        self._probe_out = False

    def _set(self, state: str) -> None:
        if state != self._state:
            self._state = state
            if self.on_change is not None:
                self.on_change(state)

    @property
    def state(self) -> str:
        """Current state; an open breaker whose wait has elapsed reads as half-open."""
        if self._state == OPEN and self._clock() - self._opened_at >= self.open_s:
            self._set(HALF_OPEN)
            self._probe_out = False
        return self._state

    def available(self) -> bool:
        """Could a client request be sent now? Does not consume the half-open probe."""
        state = self.state
        if state == CLOSED:
            return True
        return state == HALF_OPEN and not self._probe_out and not self.background_probe

    def retry_in_s(self) -> float:
        """Seconds until the breaker would let a probe through (0 when available)."""
        if self._state == OPEN:
            return max(0.0, self._opened_at + self.open_s - self._clock())
        return 0.0

    def try_acquire(self) -> bool:
        """Claim permission to send one client request (in half-open, only one caller gets it,
        and none with ``background_probe``)."""
        state = self.state
        if state == CLOSED:
            return True
        if state == HALF_OPEN and not self._probe_out and not self.background_probe:
            self._probe_out = True
            return True
        return False

    def try_probe(self) -> bool:
        """Claim the half-open permit for a health probe (only one caller gets it)."""
        if self.state == HALF_OPEN and not self._probe_out:
            self._probe_out = True
            return True
        return False

    def release(self) -> None:
        """Give back a claimed half-open probe that was never judged (e.g. cancelled)."""
        if self._state == HALF_OPEN:
            self._probe_out = False

    def eject(self) -> None:
        """Open a closed breaker now without a recorded failure: the upstream is an outlier
        (an attempt passed its slow threshold, :mod:`gateway.watchdog`); the half-open probe
        brings it back as after any opening."""
        if self.state == CLOSED:
            self._opened_at = self._clock()
            self._probe_out = False
            self._set(OPEN)

    def record_success(self) -> None:
        self._failures = 0
        self._timeouts = 0
        self._probe_out = False
        self._set(CLOSED)

    def record_failure(self, *, timeout: bool = False) -> None:
        """One failed attempt; ``timeout``: it failed by not answering in time."""
        state = self.state
        self._failures += 1
        if timeout:
            self._timeouts += 1
        if (state == HALF_OPEN or self._failures >= self.failure_threshold
                or self._timeouts >= self.timeout_threshold):
            self._opened_at = self._clock()
            self._probe_out = False
            self._set(OPEN)
