"""Hedging (route ``hedge_after_ms``): a second allowed upstream after the delay, losers booked."""

from __future__ import annotations

import asyncio

import pytest

from gateway.errors import NoUpstreamAvailable
from gateway.transport import MockResponse, TransportRequest
from router_harness import harness, no_sockets  # noqa: F401  (fixtures)

MODELS = [("a", "m1"), ("b", "m2"), ("c", "m3")]


def _slow_a(release: asyncio.Event):
    async def handler(req: TransportRequest) -> MockResponse:
        if "//a/" in req.url:
            await release.wait()  # unanswered until the test lets it go (or it is cancelled)
        return MockResponse.completion("ok")
    return handler


async def test_a_hedge_wins_and_the_slow_loser_counts_against_its_breaker(harness) -> None:
    h = harness(MODELS, _slow_a(asyncio.Event()), hedge_after_ms=10, attempt_timeout_ms=5000)
    out = await h.router.complete(h.request())
    assert out.upstream is not None and out.upstream.name == "b"
    assert out.attempts == 2 and h.tried() == ["a", "b"] and out.failovers == []
    attempts = h.audit.kinds("attempt")
    assert [(e["upstream"], e["outcome"], e["failover_reason"]) for e in attempts] == [
        ("b", "ok", None), ("a", "cancelled", "slow")]
    assert h.router.upstreams["a"].breaker._failures == 1


async def test_hedges_stay_inside_the_plan_and_the_budget(harness) -> None:
    h = harness(MODELS, _slow_a(asyncio.Event()), allowed={"m1"}, hedge_after_ms=5,
                attempt_timeout_ms=60)
    with pytest.raises(NoUpstreamAvailable):
        await h.router.complete(h.request())
    assert h.tried() == ["a"]  # b and c are not allowed: no hedge goes to them

    h = harness(MODELS, lambda req: asyncio.sleep(30), hedge_after_ms=5, attempt_timeout_ms=60,
                retry_budget=1)
    with pytest.raises(NoUpstreamAvailable) as exc:
        await h.router.complete(h.request())
    assert h.tried() == ["a", "b"] and exc.value.reasons == ("a:timeout", "b:timeout")


async def test_a_fast_failure_fails_over_without_waiting_for_the_hedge(harness) -> None:
    h = harness(MODELS, lambda req: MockResponse(status=500) if "//a/" in req.url
                else MockResponse.completion("ok"), hedge_after_ms=60_000)
    out = await h.router.complete(h.request())
    assert out.upstream.name == "b" and out.failovers == [("a", "http_5xx")]  # type: ignore[union-attr]
    assert not h.audit.kinds("attempt")[-1]["outcome"] == "cancelled"


async def test_the_first_answer_wins_even_when_it_is_the_original(harness) -> None:
    release = asyncio.Event()

    async def handler(req: TransportRequest) -> MockResponse:
        if "//a/" in req.url:
            await release.wait()
            return MockResponse.completion("from a")
        release.set()  # the hedge to b lets a answer first; b then hangs
        await asyncio.sleep(30)
        raise AssertionError("cancelled before this")

    h = harness(MODELS, handler, hedge_after_ms=5, attempt_timeout_ms=5000)
    out = await h.router.complete(h.request())
    assert out.upstream.name == "a" and out.attempts == 2  # type: ignore[union-attr]
    cancelled = h.audit.kinds("attempt")[-1]
    assert cancelled["upstream"] == "b" and cancelled["outcome"] == "cancelled"
    assert cancelled["failover_reason"] is None  # lost before hedge_after_ms: not slow
    assert h.router.upstreams["b"].breaker._failures == 0
