"""Breakers probe half-open upstreams in the background (no client waits on a probe), open
quickly on timeouts, and count slow hedge losers — checked against the mocks' own logs."""

from __future__ import annotations

import asyncio
import time

import httpx
from conftest import API_KEY, RulePolicy, make_config, run_gateway

from gateway.prober import PROBE_REQUEST_ID_PREFIX, PROBE_USER

M1, M2 = "llama-3.1-70b-private-eu", "llama-3.1-8b-private-eu"
HEADERS = {"Authorization": f"Bearer {API_KEY}", "X-Govchaos-Data-Classes": "pii"}
BODY = {"model": "auto", "messages": [{"role": "user", "content": "secret prompt"}]}


async def post(h: httpx.AsyncClient) -> httpx.Response:
    return await h.post("/v1/chat/completions", json=BODY, headers=HEADERS)


async def until(cond, timeout_s: float = 3.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if cond():
            return True
        await asyncio.sleep(0.01)
    return cond()


async def test_hanging_upstream_is_probed_in_the_background(mocks) -> None:
    a, b = await mocks("a"), await mocks("b")
    cfg = make_config([("a", a, M1), ("b", b, M2)], attempt_timeout_ms=200,
                      breaker={"failure_threshold": 5, "timeout_threshold": 2, "open_ms": 150})
    async with run_gateway(cfg, RulePolicy({M1, M2})) as gw, \
            httpx.AsyncClient(base_url=gw.url, timeout=10) as h:
        breaker = gw.runtime.router.upstreams["a"].breaker
        a.mode = "hang"
        for _ in range(2):  # two timeouts open it (timeout_threshold), not five
            r = await post(h)
            assert r.status_code == 200 and r.headers["x-govchaos-upstream"] == "b"
        assert breaker.state == "open"
        # while a hangs, probes keep failing in the background; clients never wait on a
        assert await until(lambda: sum(e.probe for e in a.log) >= 2)
        t = time.monotonic()
        for _ in range(5):
            r = await post(h)
            assert r.headers["x-govchaos-upstream"] == "b" and r.headers["x-govchaos-attempts"] == "1"
        assert time.monotonic() - t < 0.5 * 5
        client_calls = [e for e in a.log if not e.probe]
        assert len(client_calls) == 2
        a.mode = "ok"
        assert await until(lambda: breaker.state == "closed")
        r = await post(h)
        assert r.headers["x-govchaos-upstream"] == "a"
        probes = [e for e in a.log if e.probe]
        # the probe carries no client data and says what it is
        assert all(e.user == PROBE_USER and e.max_tokens == 1 for e in probes)
        assert all(e.request_id.startswith(PROBE_REQUEST_ID_PREFIX) for e in probes)
        assert b.log and not any(e.probe for e in b.log)  # b's breaker never opened
        audited = gw.audit.kinds("probe")
        assert {e["outcome"] for e in audited} == {"failure", "ok"}
        assert all("secret prompt" not in str(e) for e in audited)
        assert {e["reason"] for e in audited if e["outcome"] == "failure"} == {"timeout"}


async def test_request_probe_mode_still_uses_a_client_request(mocks) -> None:
    a, b = await mocks("a"), await mocks("b")
    cfg = make_config([("a", a, M1), ("b", b, M2)],
                      breaker={"failure_threshold": 1, "open_ms": 100, "probe": "request"})
    async with run_gateway(cfg, RulePolicy({M1, M2})) as gw, \
            httpx.AsyncClient(base_url=gw.url, timeout=10) as h:
        a.mode = "500"
        assert (await post(h)).headers["x-govchaos-upstream"] == "b"
        a.mode = "ok"
        await asyncio.sleep(0.15)
        assert (await post(h)).headers["x-govchaos-upstream"] == "a"
        assert not any(e.probe for e in a.log)


async def test_hedge_losers_that_hang_open_the_breaker(mocks) -> None:
    a, b = await mocks("a"), await mocks("b")
    cfg = make_config([("a", a, M1), ("b", b, M2)], hedge_after_ms=30, attempt_timeout_ms=2000,
                      breaker={"failure_threshold": 3, "open_ms": 5000})
    async with run_gateway(cfg, RulePolicy({M1, M2})) as gw, \
            httpx.AsyncClient(base_url=gw.url, timeout=10) as h:
        a.mode = "hang"
        for _ in range(3):
            r = await post(h)
            assert r.headers["x-govchaos-upstream"] == "b" and r.headers["x-govchaos-attempts"] == "2"
        assert gw.runtime.router.upstreams["a"].breaker.state == "open"
        r = await post(h)  # no more hedge wait: straight to b
        assert r.headers["x-govchaos-attempts"] == "1" and r.headers["x-govchaos-upstream"] == "b"
        slow = [e for e in gw.audit.kinds("attempt") if e["outcome"] == "cancelled"]
        assert len(slow) == 3 and {e["failover_reason"] for e in slow} == {"slow"}


async def test_prober_stops_with_the_gateway(mocks) -> None:
    a = await mocks("a")
    cfg = make_config([("a", a, M1)], breaker={"failure_threshold": 1, "open_ms": 50})
    async with run_gateway(cfg, RulePolicy({M1})) as gw:
        router = gw.runtime.router
        assert router.prober.running
    assert not router.prober.running
