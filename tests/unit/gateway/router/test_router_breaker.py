"""Breaker transitions driven by attempts (probe: request, so a client request is the probe)."""

from __future__ import annotations

from gateway.transport import MockResponse, TransportRequest
from router_harness import harness, no_sockets  # noqa: F401  (fixtures)

MODELS = [("a", "m1"), ("b", "m2")]


async def test_failures_open_then_half_open_probe_closes(harness) -> None:
    a_down = True

    def handler(req: TransportRequest) -> MockResponse:
        if req.url.startswith("http://a/") and a_down:
            return MockResponse(status=500)
        return MockResponse.completion("ok")

    h = harness(MODELS, handler,
                breaker={"failure_threshold": 2, "open_ms": 1000, "probe": "request"})
    a = h.router.upstreams["a"]
    for _ in range(2):
        out = await h.router.complete(h.request())
        assert out.upstream.name == "b"  # type: ignore[union-attr]
    assert a.breaker.state == "open" and h.tried() == ["a", "b", "a", "b"]

    out = await h.router.complete(h.request())  # open: a is not tried at all
    assert out.attempts == 1 and h.tried()[-1] == "b" and len(h.tried()) == 5

    h.clock.now += 1.0
    assert a.breaker.state == "half_open"
    a_down = False
    out = await h.router.complete(h.request())  # this request is the probe, and it succeeds
    assert out.upstream.name == "a" and a.breaker.state == "closed"  # type: ignore[union-attr]


async def test_a_failed_half_open_probe_reopens(harness) -> None:
    h = harness(MODELS, lambda req: MockResponse(status=500) if "//a/" in req.url
                else MockResponse.completion("ok"),
                breaker={"failure_threshold": 1, "open_ms": 1000, "probe": "request"})
    a = h.router.upstreams["a"]
    await h.router.complete(h.request())
    assert a.breaker.state == "open"
    h.clock.now += 1.0
    out = await h.router.complete(h.request())
    assert out.failovers == [("a", "http_5xx")] and a.breaker.state == "open"


async def test_consecutive_timeouts_open_sooner(harness) -> None:
    import asyncio

    async def handler(req: TransportRequest) -> MockResponse:
        if "//a/" in req.url:
            await asyncio.sleep(30)
        return MockResponse.completion("ok")

    h = harness(MODELS, handler, attempt_timeout_ms=20,
                breaker={"failure_threshold": 5, "timeout_threshold": 2, "open_ms": 1000,
                         "probe": "request"})
    for _ in range(2):
        out = await h.router.complete(h.request())
        assert out.failovers == [("a", "timeout")]
    assert h.router.upstreams["a"].breaker.state == "open"


async def test_breaker_changes_reach_the_metrics(harness) -> None:
    h = harness(MODELS, lambda req: MockResponse(status=500),
                breaker={"failure_threshold": 1, "open_ms": 1000, "probe": "request"})
    changes = []
    h.router.metrics.breaker_changed = lambda name, state: changes.append((name, state))  # type: ignore[method-assign]
    try:
        await h.router.complete(h.request())
    except Exception:
        pass
    assert ("a", "open") in changes and ("b", "open") in changes
