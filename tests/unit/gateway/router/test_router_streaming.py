"""Streaming: failover before the first token; after it, a cut stream is recorded, not retried."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from gateway.errors import NoUpstreamAvailable
from gateway.failures import AttemptFailure
from gateway.transport import MockResponse, TransportRequest
from gateway.transport.mock import sse_lines
from router_harness import harness, no_sockets  # noqa: F401  (fixtures)

MODELS = [("a", "m1"), ("b", "m2")]


async def _cut_after_first_token() -> AsyncIterator[bytes]:
    for line in sse_lines("first")[:2]:
        yield line
    yield b'data: {"error": {"message": "overloaded"}}'


async def _hang_before_first_token() -> AsyncIterator[bytes]:
    yield b": keep-alive"
    await asyncio.sleep(30)
    yield b""


BEFORE_FIRST_TOKEN = {
    "empty": lambda: MockResponse(lines=[b"data: [DONE]", b""]),
    "stream_error": lambda: MockResponse(lines=sse_lines(done=False)),
    "malformed": lambda: MockResponse(lines=[b"data: {not json", b""]),
    "timeout": lambda: MockResponse(lines=_hang_before_first_token()),
    "http_5xx": lambda: MockResponse(status=503),
}


@pytest.mark.parametrize("reason", sorted(BEFORE_FIRST_TOKEN))
async def test_before_the_first_token_the_router_fails_over(harness, reason) -> None:
    def handler(req: TransportRequest) -> MockResponse:
        assert req.stream
        if "//a/" in req.url:
            return BEFORE_FIRST_TOKEN[reason]()
        return MockResponse.sse("hel", "lo")

    h = harness(MODELS, handler, attempt_timeout_ms=50)
    req = h.request(stream=True)
    out = await h.router.open_stream(req)
    assert out.upstream is not None and out.upstream.name == "b"
    assert out.failovers == [("a", reason)] and out.stream is not None
    rest = [f async for f in out.stream.rest()]
    frames = out.first_events + rest
    assert frames[-1] == b"data: [DONE]\n\n" and b"hel" in frames[0]
    await out.stream.close()
    h.router.finish_stream(req, out, None)
    assert [(e["upstream"], e["outcome"]) for e in h.audit.kinds("attempt")] == [
        ("a", "failure"), ("b", "ok")]


async def test_after_the_first_token_a_failure_is_a_cut_stream(harness) -> None:
    h = harness(MODELS, lambda req: MockResponse(lines=_cut_after_first_token()))
    req = h.request(stream=True)
    out = await h.router.open_stream(req)
    assert out.upstream.name == "a" and b"first" in out.first_events[0]  # type: ignore[union-attr]
    assert out.stream is not None
    with pytest.raises(AttemptFailure) as exc:
        async for _ in out.stream.rest():
            pass
    assert exc.value.reason == "stream_error"
    await out.stream.close()
    h.router.finish_stream(req, out, exc.value)
    assert h.tried() == ["a"]  # too late to fail over: b is never tried
    last = h.audit.kinds("attempt")[-1]
    assert (last["outcome"], last["failover_reason"], last["status"]) == (
        "stream_error", "stream_error", 200)
    assert h.router.upstreams["a"].breaker._failures == 1


async def test_a_client_that_leaves_mid_stream_is_booked_as_cancelled(harness) -> None:
    h = harness(MODELS)
    req = h.request(stream=True)
    out = await h.router.open_stream(req)
    assert out.stream is not None
    await out.stream.close()
    h.router.finish_stream(req, out, None, cancelled=True)
    last = h.audit.kinds("attempt")[-1]
    assert (last["outcome"], last["status"]) == ("cancelled", 200)
    assert h.router.upstreams["a"].breaker._failures == 0


async def test_every_upstream_failing_before_the_first_token_is_a_503(harness) -> None:
    h = harness(MODELS, lambda req: MockResponse(lines=[b"data: [DONE]", b""]))
    with pytest.raises(NoUpstreamAvailable) as exc:
        await h.router.open_stream(h.request(stream=True))
    assert exc.value.reasons == ("a:empty", "b:empty")
