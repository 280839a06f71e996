"""Failover on each failure reason, client faults, and the retry budget."""

from __future__ import annotations

import asyncio

import orjson
import pytest

from gateway.errors import NoUpstreamAvailable, UpstreamRejected
from gateway.failures import AttemptFailure
from gateway.transport import MockResponse, TransportRequest
from router_harness import harness, no_sockets  # noqa: F401  (fixtures)

MODELS = [("a", "m1"), ("b", "m2"), ("c", "m3")]
SCHEMA = {"type": "object", "required": ["answer"]}


def _completion(content: str | None) -> MockResponse:
    return MockResponse(content=orjson.dumps(
        {"choices": [{"index": 0, "message": {"role": "assistant", "content": content}}]}))


async def _hang(req: TransportRequest) -> MockResponse:
    await asyncio.sleep(30)
    raise AssertionError("the attempt timeout should have ended this")


def _connect_error(req: TransportRequest) -> MockResponse:
    raise AttemptFailure("connect_error", detail="ConnectionRefusedError")


FAILURES = {
    "http_5xx": lambda req: MockResponse(status=502),
    "http_429": lambda req: MockResponse(status=429, retry_after="7"),
    "http_4xx": lambda req: MockResponse(status=404),
    "connect_error": _connect_error,
    "timeout": _hang,
    "malformed": lambda req: MockResponse(content=b"<html>"),
    "empty": lambda req: _completion(""),
    "schema_invalid": lambda req: _completion('{"other": 1}'),
}


@pytest.mark.parametrize("reason", sorted(FAILURES))
async def test_each_failure_reason_fails_over_to_the_next_allowed(harness, reason) -> None:
    def handler(req: TransportRequest):
        if req.url.startswith("http://a/"):
            return FAILURES[reason](req)
        return _completion('{"answer": 42}')

    h = harness(MODELS, handler, attempt_timeout_ms=50,
                response_schema=SCHEMA if reason == "schema_invalid" else None)
    out = await h.router.complete(h.request())
    assert out.upstream is not None and out.upstream.name == "b"
    assert out.attempts == 2 and out.failovers == [("a", reason)]
    attempts = h.audit.kinds("attempt")
    assert [(e["upstream"], e["outcome"], e["failover_reason"]) for e in attempts] == [
        ("a", "failure", reason), ("b", "ok", None)]
    a = h.router.upstreams["a"]
    if reason == "http_429":
        # rate limiting is not breakage: no breaker failure, skipped for Retry-After instead
        assert a.breaker._failures == 0 and not a.usable(h.clock())
    else:
        assert a.breaker._failures == 1


async def test_a_client_fault_is_passed_back_not_failed_over(harness) -> None:
    body = b'{"error": {"message": "bad temperature"}}'
    h = harness(MODELS, lambda req: MockResponse(status=422, content=body))
    with pytest.raises(UpstreamRejected) as exc:
        await h.router.complete(h.request())
    assert exc.value.status == 422 and exc.value.upstream_body == body
    assert exc.value.headers["x-govchaos-upstream"] == "a"
    assert h.tried() == ["a"]
    assert h.audit.kinds("attempt")[0]["outcome"] == "client_error"


@pytest.mark.parametrize("budget", [0, 1, 2])
async def test_the_retry_budget_bounds_attempts(harness, budget) -> None:
    h = harness(MODELS, lambda req: MockResponse(status=500), retry_budget=budget)
    with pytest.raises(NoUpstreamAvailable) as exc:
        await h.router.complete(h.request())
    assert h.tried() == ["a", "b", "c"][: budget + 1]
    assert exc.value.status == 503 and exc.value.retry_after_s is not None
    assert len(h.audit.kinds("attempt")) == budget + 1
