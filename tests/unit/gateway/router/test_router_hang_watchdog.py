"""Hang detection (``hang_detection``): the watchdog ejects a hanging upstream long before the
attempt timeout, hedges within the budget and the plan, and the half-open probe restores it."""

from __future__ import annotations

import asyncio

import pytest

from gateway.breaker import CLOSED, OPEN
from gateway.errors import NoUpstreamAvailable
from gateway.transport import MockResponse, TransportRequest
from router_harness import Harness, harness, no_sockets  # noqa: F401  (fixtures)

MODELS = [("a", "m1"), ("b", "m2"), ("c", "m3")]
# thresholds from 3 warm-up requests: max(20 ms floor, 2 × ~0 ms); timeouts far above that
HANG = {"floor_ms": 20, "multiplier": 2, "window": 16, "min_samples": 3}
TIMEOUT_MS = 5000


class Upstreams:
    """A handler whose upstreams can be made to hang (until released, or cancelled)."""

    def __init__(self) -> None:
        self.hanging: set[str] = set()
        self.release = asyncio.Event()

    async def __call__(self, req: TransportRequest) -> MockResponse:
        if req.url.split("/")[2] in self.hanging:
            await self.release.wait()
        if req.stream:
            return MockResponse.sse("hel", "lo")
        return MockResponse.completion("ok")


def metric(h: Harness, name: str, **labels: str) -> float:
    return h.router.metrics.registry.get_sample_value("govchaos_gateway_" + name, labels) or 0.0


async def warm(h: Harness, n: int = 3) -> None:
    for _ in range(n):
        out = await h.router.complete(h.request())
        assert out.upstream is not None and out.upstream.name == "a"


async def until(predicate, what: str) -> None:
    for _ in range(2000):  # bounded: 2000 × 5 ms
        if predicate():
            return
        await asyncio.sleep(0.005)
    raise AssertionError(f"never happened: {what}")


async def test_a_hang_is_hedged_and_ejected_long_before_the_timeout(harness) -> None:
    ups = Upstreams()
    h = harness(MODELS, ups, hang_detection=HANG, attempt_timeout_ms=TIMEOUT_MS)
    await warm(h)
    ups.hanging.add("a")
    out = await h.router.complete(h.request())
    assert out.upstream is not None and out.upstream.name == "b"
    assert out.failovers == []  # nobody waited for the timeout
    a = h.router.upstreams["a"]
    assert a.breaker.state == OPEN and a.ejected_slow
    last = h.audit.kinds("attempt")[-2:]
    assert [(e["upstream"], e["outcome"], e["failover_reason"]) for e in last] == [
        ("b", "ok", None), ("a", "cancelled", "slow")]
    assert metric(h, "upstream_ejections_total", upstream="a", reason="latency") == 1
    assert metric(h, "slow_attempts_total", upstream="a") == 1
    assert metric(h, "hedges_total", route="r") == 1
    # new requests avoid the suspect at once
    out = await h.router.complete(h.request())
    assert out.upstream.name == "b" and h.tried()[-1] == "b"  # type: ignore[union-attr]
    assert out.attempts == 1


async def test_without_hedging_the_watchdog_still_ejects_while_the_attempt_is_in_flight(harness) -> None:
    ups = Upstreams()
    h = harness(MODELS, ups, hang_detection={**HANG, "hedge": False}, attempt_timeout_ms=TIMEOUT_MS)
    await warm(h)
    ups.hanging.add("a")
    first = asyncio.ensure_future(h.router.complete(h.request()))
    a = h.router.upstreams["a"]
    await until(lambda: a.breaker.state == OPEN, "a ejected")
    assert not first.done()  # ejected while its attempt is still waiting, not at the timeout
    out = await h.router.complete(h.request())
    assert out.upstream.name == "b" and out.attempts == 1  # type: ignore[union-attr]
    assert metric(h, "hedges_total", route="r") == 0
    ups.release.set()  # a answers after all: the slow success closes its breaker again
    assert (await first).upstream.name == "a"  # type: ignore[union-attr]
    assert a.breaker.state == CLOSED and not a.ejected_slow


async def test_the_hedge_budget_caps_hedges(harness) -> None:
    ups = Upstreams()
    h = harness(MODELS, ups, hang_detection={**HANG, "hedge_budget_ratio": 0.0, "hedge_burst": 1},
                attempt_timeout_ms=TIMEOUT_MS)
    await warm(h)
    ups.hanging.add("a")
    both = asyncio.gather(h.router.complete(h.request()), h.router.complete(h.request()))
    await until(lambda: metric(h, "hedges_denied_total", route="r") >= 1, "a hedge denied")
    ups.release.set()
    outs = await both
    assert sorted(o.upstream.name for o in outs) == ["a", "b"]  # type: ignore[union-attr]
    assert metric(h, "hedges_total", route="r") == 1
    assert h.tried().count("b") == 1
    assert h.router.scheduler.budget.tokens == 0.0


async def test_the_half_open_probe_restores_an_ejected_upstream(harness) -> None:
    ups = Upstreams()
    h = harness(MODELS, ups, hang_detection=HANG, attempt_timeout_ms=TIMEOUT_MS,
                breaker={"failure_threshold": 5, "open_ms": 2000, "probe": "background"})
    await warm(h)
    ups.hanging.add("a")
    await h.router.complete(h.request())
    a = h.router.upstreams["a"]
    assert a.breaker.state == OPEN
    # still hanging: the probe gives up after 4 × the 20 ms threshold, not the 5 s timeout
    h.clock.now += 2.5
    assert a.breaker.try_probe()
    await h.router.prober.probe(a)
    probe = h.transport.requests[-1]
    threshold = h.router.scheduler.hang.threshold_s(a.latency, 5.0)  # type: ignore[union-attr,arg-type]
    assert threshold is not None and threshold < 5.0 / 4
    assert probe.headers.get("X-Govchaos-Probe") == "1"
    assert probe.timeout_s == pytest.approx(4 * threshold)
    assert a.breaker.state == OPEN and a.failed_probes == 1
    ups.hanging.clear()  # restored
    h.clock.now += 2.5
    assert a.breaker.try_probe()
    await h.router.prober.probe(a)
    assert a.breaker.state == CLOSED and not a.ejected_slow and a.failed_probes == 0
    out = await h.router.complete(h.request())
    assert out.upstream.name == "a"  # type: ignore[union-attr]


async def test_suspects_and_hedges_never_leave_the_decision(harness) -> None:
    ups = Upstreams()
    h = harness(MODELS, ups, allowed={"m1", "m2"}, hang_detection=HANG,
                attempt_timeout_ms=300)
    await warm(h)
    ups.hanging.update({"a", "b"})  # both allowed upstreams hang; c (not allowed) is healthy
    with pytest.raises(NoUpstreamAvailable):
        await h.router.complete(h.request())
    assert "c" not in h.tried()
    assert set(h.tried()) == {"a", "b"}
    # only a is allowed: nothing to fail over to, so a slow a is not ejected (and c not tried)
    ups = Upstreams()
    h = harness(MODELS, ups, allowed={"m1"}, hang_detection=HANG, attempt_timeout_ms=300)
    await warm(h)
    ups.hanging.add("a")
    with pytest.raises(NoUpstreamAvailable) as exc:
        await h.router.complete(h.request())
    assert exc.value.reasons == ("a:timeout",) and set(h.tried()) == {"a"}
    assert metric(h, "upstream_ejections_total", upstream="a", reason="latency") == 0
    assert metric(h, "slow_attempts_total", upstream="a") == 1


async def test_a_stream_hangs_before_its_first_token_and_is_hedged(harness) -> None:
    ups = Upstreams()
    h = harness(MODELS, ups, hang_detection=HANG, attempt_timeout_ms=TIMEOUT_MS)
    await warm(h)
    ups.hanging.add("a")
    out = await h.router.open_stream(h.request(stream=True))
    assert out.upstream is not None and out.upstream.name == "b" and out.failovers == []
    assert h.router.upstreams["a"].breaker.state == OPEN
    assert out.stream is not None
    await out.stream.close()


async def test_hang_detection_off_waits_for_the_timeout(harness) -> None:
    ups = Upstreams()
    h = harness(MODELS, ups, hang_detection={**HANG, "enabled": False}, attempt_timeout_ms=100)
    await warm(h)
    ups.hanging.add("a")
    out = await h.router.complete(h.request())
    assert out.upstream.name == "b" and out.failovers == [("a", "timeout")]  # type: ignore[union-attr]
