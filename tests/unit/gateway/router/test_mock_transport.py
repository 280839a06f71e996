"""MockTransport: a handler function behind the Transport seam."""

from __future__ import annotations

import asyncio

import pytest

from gateway.failures import AttemptFailure
from gateway.transport import MockResponse, MockTransport, Transport, TransportRequest


async def test_sync_and_async_handlers_and_recorded_requests() -> None:
    async def slow(req: TransportRequest) -> MockResponse:
        return MockResponse(status=503, retry_after="2")

    t: Transport = MockTransport(lambda req: MockResponse(content=b"{}"))
    assert await t.post("http://x/v1", b'{"model": "m"}', {"A": "1"}, 1.0) == (200, None, b"{}")
    assert t.requests[0].model == "m" and t.requests[0].headers == {"A": "1"}  # type: ignore[attr-defined]
    assert await MockTransport(slow).post("http://x", b"{}", {}, 1.0) == (503, "2", b"")


async def test_the_attempt_timeout_applies_to_the_handler_and_each_line() -> None:
    async def hang(req: TransportRequest) -> MockResponse:
        await asyncio.sleep(30)
        raise AssertionError

    with pytest.raises(AttemptFailure) as exc:
        await MockTransport(hang).post("http://x", b"{}", {}, 0.01)
    assert exc.value.reason == "timeout"

    async def stall():
        yield b"data: 1"
        await asyncio.sleep(30)

    body = await MockTransport(lambda req: MockResponse(lines=stall())).open("http://x", b"{}", {}, 0.01)
    lines = body.lines()
    assert await anext(lines) == b"data: 1"
    with pytest.raises(AttemptFailure):
        await anext(lines)
