"""The hedged schedule awaits its first attempt inline (no task): a hedge that ends the request
interrupts it, a hedge that fails does not, a client that leaves cancels both — and every
attempt is booked once, with the request's task left as it found it."""

from __future__ import annotations

import asyncio

import pytest

from gateway.breaker import CLOSED
from gateway.errors import UpstreamRejected
from gateway.transport import MockResponse, TransportRequest
from router_harness import harness, no_sockets  # noqa: F401  (fixtures)

MODELS = [("a", "m1"), ("b", "m2"), ("c", "m3")]
HANG = {"floor_ms": 20, "multiplier": 2, "window": 16, "min_samples": 3}


def booked(h) -> list[tuple[str, str, str | None]]:
    return [(e["upstream"], e["outcome"], e["failover_reason"]) for e in h.audit.kinds("attempt")]


async def test_a_hedge_that_wins_leaves_the_request_task_uncancelled(harness) -> None:
    release = asyncio.Event()

    async def handler(req: TransportRequest) -> MockResponse:
        if "//a/" in req.url:
            await release.wait()
        return MockResponse.completion("ok")

    h = harness(MODELS, handler, hedge_after_ms=5, attempt_timeout_ms=5000)
    out = await h.router.complete(h.request())
    assert out.upstream.name == "b"  # type: ignore[union-attr]
    task = asyncio.current_task()
    assert task is not None and task.cancelling() == 0
    await asyncio.sleep(0)  # no cancellation left pending on this task
    assert booked(h) == [("b", "ok", None), ("a", "cancelled", "slow")]


async def test_a_hedge_that_fails_does_not_interrupt_the_first_attempt(harness) -> None:
    release = asyncio.Event()

    async def handler(req: TransportRequest) -> MockResponse:
        if "//a/" in req.url:
            await release.wait()
            await asyncio.sleep(0.01)  # well after b's failure has been seen
            return MockResponse.completion("from a")
        release.set()  # b fails fast, and lets a answer afterwards
        return MockResponse(status=500)

    h = harness(MODELS, handler, hedge_after_ms=5, attempt_timeout_ms=5000, retry_budget=1)
    out = await h.router.complete(h.request())
    assert out.upstream.name == "a" and out.attempts == 2  # type: ignore[union-attr]
    assert out.failovers == [("b", "http_5xx")]
    assert booked(h) == [("b", "failure", "http_5xx"), ("a", "ok", None)]


async def test_a_hedge_rejected_as_a_client_fault_ends_the_request_at_once(harness) -> None:
    async def handler(req: TransportRequest) -> MockResponse:
        if "//a/" in req.url:
            await asyncio.sleep(30)  # cancelled long before
        return MockResponse(status=400, content=b'{"error": {"message": "bad"}}')

    h = harness(MODELS, handler, hedge_after_ms=5, attempt_timeout_ms=5000)
    with pytest.raises(UpstreamRejected):
        await asyncio.wait_for(h.router.complete(h.request()), 5)
    assert booked(h) == [("b", "client_error", None), ("a", "cancelled", None)]


@pytest.mark.parametrize("hedged", [False, True])
async def test_a_client_that_leaves_cancels_every_attempt_in_flight(harness, hedged) -> None:
    hang = asyncio.Event()

    async def handler(req: TransportRequest) -> MockResponse:
        if hang.is_set():
            await asyncio.sleep(30)
        return MockResponse.completion("ok")

    h = harness(MODELS, handler, hang_detection={**HANG, "floor_ms": 20 if hedged else 4000},
                attempt_timeout_ms=5000)
    for _ in range(3):  # warm: thresholds from three fast answers
        await h.router.complete(h.request())
    hang.set()
    req = asyncio.ensure_future(h.router.complete(h.request()))
    want = 2 if hedged else 1
    for _ in range(400):  # bounded: 400 × 5 ms
        if len(h.transport.requests) >= 3 + want:
            break
        await asyncio.sleep(0.005)
    assert len(h.transport.requests) == 3 + want
    req.cancel()
    with pytest.raises(asyncio.CancelledError):
        await req
    left = booked(h)[3:]
    assert sorted(left) == sorted([("a", "cancelled", None), ("b", "cancelled", None)][:want])
    assert h.router.upstreams["b"].breaker.state == CLOSED
    assert h.router.upstreams["b"].breaker._failures == 0
