"""Failure matrix: every upstream fault fails over to a second *allowed* upstream with no
client-visible error, and never to a disallowed one (checked in the mocks' own logs)."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from conftest import API_KEY, RulePolicy, make_config, run_gateway

M1, M2, M3 = "llama-3.1-70b-private-eu", "llama-3.1-8b-private-eu", "gpt-4o-cloud-eu"
SCHEMA = {"type": "object", "required": ["answer"]}
HEADERS = {"Authorization": f"Bearer {API_KEY}", "X-Govchaos-Data-Classes": "pii"}
BODY = {"model": "auto", "messages": [{"role": "user", "content": "hi"}]}

FAULTS = {  # fault → the failover reason the gateway must report
    "killed": "connect_error",
    "hang": "timeout",
    "500": "http_5xx",
    "429": "http_429",
    "malformed": "malformed",
    "empty": "empty",
    "schema_bad": "schema_invalid",
}


async def apply(mock, fault: str) -> None:
    if fault == "killed":
        await mock.stop()
    else:
        mock.mode = fault


async def post(url: str, body: dict | None = None, **headers: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=url, timeout=10) as h:
        return await h.post("/v1/chat/completions", json=body or BODY, headers={**HEADERS, **headers})


@pytest.mark.parametrize("fault", sorted(FAULTS))
async def test_fault_fails_over_to_second_allowed_upstream(mocks, fault: str) -> None:
    a, b = await mocks("a"), await mocks("b")
    cfg = make_config([("a", a, M1), ("b", b, M2)], response_schema=SCHEMA, attempt_timeout_ms=300)
    async with run_gateway(cfg, RulePolicy({M1, M2})) as gw:
        await apply(a, fault)
        r = await post(gw.url)
        assert r.status_code == 200, r.text
        assert r.json()["choices"][0]["message"]["content"] == '{"answer": "ok"}'
        assert r.headers["x-govchaos-upstream"] == "b"
        assert r.headers["x-govchaos-attempts"] == "2"
        assert r.headers["x-govchaos-failovers"] == f"a:{FAULTS[fault]}"
        attempts = gw.audit.kinds("attempt")
        assert [(e["upstream"], e["outcome"], e["failover_reason"]) for e in attempts] == [
            ("a", "failure", FAULTS[fault]), ("b", "ok", None)]
        assert all(e["decision_id"] == r.headers["x-govchaos-decision-id"] for e in attempts)


@pytest.mark.parametrize("fault", sorted(FAULTS))
async def test_fault_with_only_disallowed_alternative_is_503_without_calling_it(mocks, fault: str) -> None:
    a, cloud = await mocks("a"), await mocks("cloud")
    cfg = make_config([("a", a, M1), ("cloud", cloud, M3)], response_schema=SCHEMA,
                      attempt_timeout_ms=300)
    async with run_gateway(cfg, RulePolicy({M1})) as gw:
        await apply(a, fault)
        r = await post(gw.url)
        assert r.status_code == 503
        err = r.json()["error"]
        assert err["code"] == "no_upstream_available"
        assert int(r.headers["retry-after"]) >= 1
        assert r.headers["x-govchaos-failovers"] == f"a:{FAULTS[fault]}"
        assert cloud.log == []  # the ground truth: the disallowed model never saw the request


async def test_policy_denying_everything_is_403_with_reasons(mocks) -> None:
    a = await mocks("a")
    async with run_gateway(make_config([("a", a, M1)]), RulePolicy(set())) as gw:
        r = await post(gw.url)
        assert r.status_code == 403
        err = r.json()["error"]
        assert err["code"] == "policy_denied" and err["type"] == "permission_error"
        assert err["reasons"] == ["no candidate allowed"]
        assert M1 in err["denied"]
        assert a.log == []


async def test_policy_engine_failure_fails_closed(mocks) -> None:
    a = await mocks("a")
    async with run_gateway(make_config([("a", a, M1)]), RulePolicy({M1}, fail=True)) as gw:
        r = await post(gw.url)
        assert r.status_code == 503
        assert r.json()["error"]["code"] == "policy_unavailable"
        assert a.log == []
        assert gw.audit.kinds("decision")[0]["result"]["allow"] is False


async def test_retry_after_skips_the_upstream_until_then(mocks) -> None:
    a, b = await mocks("a"), await mocks("b")
    async with run_gateway(make_config([("a", a, M1), ("b", b, M2)]), RulePolicy({M1, M2})) as gw:
        a.mode, a.retry_after = "429", "30"
        assert (await post(gw.url)).headers["x-govchaos-upstream"] == "b"
        a.mode = "ok"
        r = await post(gw.url)
        assert r.headers["x-govchaos-upstream"] == "b" and r.headers["x-govchaos-attempts"] == "1"
        assert len(a.log) == 1


async def test_breaker_opens_then_recovers_with_one_probe(mocks) -> None:
    a, b = await mocks("a"), await mocks("b")
    cfg = make_config([("a", a, M1), ("b", b, M2)],
                      breaker={"failure_threshold": 2, "open_ms": 300})
    async with run_gateway(cfg, RulePolicy({M1, M2})) as gw:
        a.mode = "500"
        for _ in range(2):
            assert (await post(gw.url)).status_code == 200
        breaker = gw.runtime.router.upstreams["a"].breaker
        assert breaker.state == "open"
        r = await post(gw.url)
        assert r.headers["x-govchaos-attempts"] == "1" and len(a.log) == 2  # a skipped while open
        a.mode = "ok"
        for _ in range(200):  # the gateway's background probe closes it (no client request)
            if breaker.state == "closed":
                break
            await asyncio.sleep(0.01)
        assert [e.probe for e in a.log] == [False, False, True]
        r = await post(gw.url)
        assert r.headers["x-govchaos-upstream"] == "a" and breaker.state == "closed"
        async with httpx.AsyncClient(base_url=gw.url) as h:
            assert 'govchaos_gateway_failovers_total{reason="http_5xx",upstream="a"} 2.0' in (
                await h.get("/metrics")).text


async def test_hedging_uses_second_allowed_upstream_when_first_is_slow(mocks) -> None:
    a, b, cloud = await mocks("a"), await mocks("b"), await mocks("cloud")
    cfg = make_config([("a", a, M1), ("cloud", cloud, M3), ("b", b, M2)], hedge_after_ms=50,
                      attempt_timeout_ms=2000)
    async with run_gateway(cfg, RulePolicy({M1, M2})) as gw:
        a.mode, a.delay_s = "slow", 1.0
        r = await post(gw.url)
        assert r.status_code == 200 and r.headers["x-govchaos-upstream"] == "b"
        assert cloud.log == []
        outcomes = {(e["upstream"], e["outcome"]) for e in gw.audit.kinds("attempt")}
        assert outcomes == {("a", "cancelled"), ("b", "ok")}


async def test_obligation_caps_max_tokens_and_user_passes_through(mocks) -> None:
    a = await mocks("a")
    policy = RulePolicy({M1}, obligations={"max_tokens": 10})
    async with run_gateway(make_config([("a", a, M1)]), policy) as gw:
        await post(gw.url, {**BODY, "max_tokens": 5, "user": "alice"})
        await post(gw.url, {**BODY, "max_tokens": 50})
        assert [(x.max_tokens, x.user) for x in a.log] == [(5, "alice"), (10, None)]
