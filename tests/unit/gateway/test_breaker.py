"""CircuitBreaker state machine, including a hypothesis walk over random event sequences."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.breaker import CircuitBreaker


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_opens_after_threshold_and_half_opens_with_one_probe() -> None:
    clock = Clock()
    b = CircuitBreaker(failure_threshold=3, open_ms=1000, clock=clock)
    for _ in range(2):
        b.record_failure()
    assert b.state == "closed" and b.try_acquire()
    b.record_failure()
    assert b.state == "open" and not b.available() and not b.try_acquire()
    assert b.retry_in_s() == 1.0
    clock.t = 1.0
    assert b.state == "half_open" and b.available()
    assert b.try_acquire() and not b.try_acquire() and not b.available()
    b.record_failure()  # probe failed: open again for another period
    assert b.state == "open"
    clock.t = 2.5
    assert b.try_acquire()
    b.record_success()
    assert b.state == "closed" and b.try_acquire()


def test_success_resets_consecutive_failures() -> None:
    b = CircuitBreaker(failure_threshold=2, open_ms=10, clock=Clock())
    b.record_failure()
    b.record_success()
    b.record_failure()
    assert b.state == "closed"


def test_released_probe_can_be_claimed_again() -> None:
    clock = Clock()
    b = CircuitBreaker(failure_threshold=1, open_ms=10, clock=clock)
    b.record_failure()
    clock.t = 1
    assert b.try_acquire()
    b.release()
    assert b.try_acquire()


def test_on_change_reports_transitions() -> None:
    seen: list[str] = []
    clock = Clock()
    b = CircuitBreaker(failure_threshold=1, open_ms=10, clock=clock, on_change=seen.append)
    b.record_failure()
    clock.t = 1
    b.try_acquire()
    b.record_success()
    assert seen == ["open", "half_open", "closed"]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["ok", "fail", "acquire", "release", "tick"]),
                          st.floats(0, 0.02)), max_size=60))
def test_at_most_one_probe_in_half_open(events) -> None:
    clock = Clock()
    b = CircuitBreaker(failure_threshold=2, open_ms=10, clock=clock)
    probes = 0
    for kind, dt in events:
        state = b.state
        if kind == "tick":
            clock.t += dt
        elif kind == "acquire":
            granted = b.try_acquire()
            if state == "open":
                assert not granted
            if b.state == "half_open" and granted:
                probes += 1
                assert probes == 1
        elif kind == "release":
            b.release()
            probes = 0
        elif kind == "ok":
            b.record_success()
            probes = 0
        else:
            b.record_failure()
            probes = 0
        if b.state != "half_open":
            probes = 0


def test_consecutive_timeouts_open_before_the_failure_threshold() -> None:
    b = CircuitBreaker(failure_threshold=5, timeout_threshold=2, open_ms=10, clock=Clock())
    b.record_failure(timeout=True)
    assert b.state == "closed"
    b.record_failure(timeout=True)
    assert b.state == "open"
    c = CircuitBreaker(failure_threshold=5, timeout_threshold=2, open_ms=10, clock=Clock())
    c.record_failure(timeout=True)
    c.record_success()  # a success in between resets the run
    c.record_failure(timeout=True)
    assert c.state == "closed"


def test_background_probe_keeps_clients_out_of_half_open() -> None:
    clock = Clock()
    b = CircuitBreaker(failure_threshold=1, open_ms=10, clock=clock, background_probe=True)
    b.record_failure()
    assert not b.try_probe()  # still open
    clock.t = 1
    assert b.state == "half_open"
    assert not b.available() and not b.try_acquire()  # client traffic waits for the probe
    assert b.try_probe() and not b.try_probe()
    b.record_failure()
    assert b.state == "open"
    clock.t = 2
    assert b.try_probe()
    b.record_success()
    assert b.state == "closed" and b.available() and b.try_acquire()
