"""gateway.watchdog: latency windows, slow thresholds, probe timeouts and the hedge budget."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from gateway.config import HangDetectionConfig
from gateway.watchdog import FULL_PROBE_EVERY, HangDetector, HedgeBudget, LatencyWindow


def test_the_window_keeps_the_last_samples_and_their_quantile() -> None:
    w = LatencyWindow(16, 0.99, min_samples=4)
    for ms in (5.0, 6.0, 7.0):
        w.add(ms)
    assert w.value() is None  # too few samples: no threshold yet
    for _ in range(32):
        w.add(1000.0)  # the old samples fall out of the window
    assert len(w) == 16 and w.value() == 1000.0
    for _ in range(16):
        w.add(10.0)
    assert w.value() == 10.0


def test_threshold_has_a_floor_and_never_reaches_the_timeout() -> None:
    det = HangDetector(HangDetectionConfig(floor_ms=250, multiplier=3, min_samples=2))
    w = det.window()
    assert det.threshold_s(w, 5.0) is None
    w.add(2.0), w.add(3.0)
    assert det.threshold_s(w, 5.0) == 0.25  # 3 × 3 ms is under the floor
    for _ in range(300):
        w.add(1000.0)
    assert det.threshold_s(w, 5.0) == 3.0
    assert det.threshold_s(w, 3.0) is None  # would not come before the attempt timeout


def test_probe_timeout_is_short_but_every_fourth_failed_probe_waits_the_full_timeout() -> None:
    det = HangDetector(HangDetectionConfig(floor_ms=100, min_samples=1, probe_multiplier=4))
    w = det.window()
    w.add(1.0)
    timeouts = [det.probe_timeout_s(w, 5.0, n) for n in range(2 * FULL_PROBE_EVERY)]
    assert timeouts == [0.4, 0.4, 0.4, 5.0] * 2
    assert det.probe_timeout_s(det.window(), 5.0, 0) == 5.0  # no samples: the configured timeout


@given(ratio=st.floats(0.0, 1.0), burst=st.integers(0, 20),
       ops=st.lists(st.booleans(), max_size=300))
def test_hedges_stay_within_ratio_times_requests_plus_burst(ratio: float, burst: int,
                                                            ops: list[bool]) -> None:
    budget = HedgeBudget(ratio, burst=burst)
    requests = hedges = 0
    for is_request in ops:
        if is_request:
            budget.request()
            requests += 1
        elif budget.try_spend():
            hedges += 1
    assert hedges <= ratio * requests + burst + 1e-9


@given(size=st.integers(1, 40), q=st.floats(0.51, 0.99),
       samples=st.lists(st.floats(0.0, 1e6), max_size=200))
def test_the_quantile_is_always_that_of_the_last_samples(size: int, q: float,
                                                         samples: list[float]) -> None:
    w = LatencyWindow(size, q, min_samples=1)
    for i, ms in enumerate(samples):
        w.add(ms)
        last = sorted(samples[max(0, i + 1 - size):i + 1])
        assert len(w) == len(last)
        assert w.value() == last[min(len(last) - 1, int(q * len(last)))]
