"""The plan: only upstreams whose model is in ``decision.allowed`` are ever tried, in rank order."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.errors import NoUpstreamAvailable, PolicyDenied, PolicyUnavailable
from gateway.transport import MockResponse, TransportRequest
from router_harness import harness, no_sockets  # noqa: F401  (fixtures)

MODELS = [("a", "m1"), ("b", "m2"), ("c", "m3"), ("d", "m4")]


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # the factory is stateless
@given(allowed=st.sets(st.sampled_from(["m1", "m2", "m3", "m4"])),
       failing=st.sets(st.sampled_from(["a", "b", "c", "d"])),
       budget=st.integers(0, 4), strategy=st.sampled_from(["priority", "latency", "cost"]))
def test_nothing_outside_decision_allowed_is_ever_tried(harness, allowed, failing, budget,
                                                        strategy) -> None:
    def handler(req: TransportRequest) -> MockResponse:
        name = req.url.split("/")[2]
        return MockResponse(status=500) if name in failing else MockResponse.completion("ok")

    h = harness(MODELS, handler, allowed=allowed, retry_budget=budget, strategy=strategy)
    allowed_names = {n for n, m in MODELS if m in allowed}

    async def serve():
        return await h.router.complete(h.request())

    try:
        out = asyncio.run(serve())
    except PolicyDenied:
        assert not allowed_names
    except NoUpstreamAvailable:
        assert allowed_names <= failing or len(h.tried()) == budget + 1
    else:
        assert out.upstream is not None and out.upstream.name in allowed_names - failing
    assert set(h.tried()) <= allowed_names
    assert len(h.tried()) <= budget + 1


async def test_priority_order_within_the_plan(harness) -> None:
    h = harness(MODELS, lambda req: MockResponse(status=503), allowed={"m2", "m4", "m3"})
    with pytest.raises(NoUpstreamAvailable) as exc:
        await h.router.complete(h.request())
    assert h.tried() == ["b", "c", "d"]
    assert exc.value.reasons == ("b:http_5xx", "c:http_5xx", "d:http_5xx")
    assert exc.value.headers["x-govchaos-attempts"] == "3"


async def test_the_requested_model_is_tried_first(harness) -> None:
    h = harness(MODELS)
    out = await h.router.complete(h.request(model="m3"))
    assert h.tried() == ["c"] and out.upstream is not None and out.upstream.name == "c"
    assert h.transport.requests[0].json["model"] == "m3"


async def test_a_denial_tries_nothing_and_is_audited(harness) -> None:
    h = harness(MODELS, allowed=set())
    with pytest.raises(PolicyDenied) as exc:
        await h.router.complete(h.request())
    assert exc.value.status == 403 and h.tried() == []
    assert [e["kind"] for e in h.audit.events] == ["decision"]


async def test_an_engine_that_raises_or_returns_nothing_fails_closed(harness) -> None:
    h = harness(MODELS)

    async def explode(inp):
        raise RuntimeError("boom")

    async def nothing(inp):
        return None

    for decide, reason in ((explode, "policy_engine_error: RuntimeError"), (nothing, "policy_undefined")):
        h.router.gate.engine.decide = decide  # type: ignore[method-assign]
        with pytest.raises(PolicyUnavailable) as exc:
            await h.router.complete(h.request())
        assert exc.value.status == 503 and exc.value.reasons[0].startswith(reason)
    assert h.tried() == []
