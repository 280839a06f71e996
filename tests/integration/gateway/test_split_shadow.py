"""Weighted version splits and shadow traffic through the running gateway, checked against what
the mock upstreams received (their own logs), never only against the gateway's metrics."""

from __future__ import annotations

import asyncio

import httpx
from conftest import API_KEY, RulePolicy, make_config, run_gateway
from test_gateway_accounting import metric

from gateway.config import GatewayConfig

STABLE, CANARY, CLOUD = "llama-3.1-70b-private-eu", "llama-3.3-70b-private-eu", "gpt-4o-cloud-us"
HEADERS = {"Authorization": f"Bearer {API_KEY}"}


def body(**extra: object) -> dict:
    return {"messages": [{"role": "user", "content": "hello"}], **extra}


def with_route(cfg: GatewayConfig, **route: object) -> GatewayConfig:
    rc = {**cfg.routes["r"].model_dump(exclude_none=True), **route}
    return GatewayConfig.model_validate({**cfg.model_dump(), "routes": {"r": rc}})


async def send(gw, n: int, *, headers: dict | None = None, **extra: object) -> list[httpx.Response]:
    async with httpx.AsyncClient(base_url=gw.url, timeout=10) as h:
        return [await h.post("/v1/chat/completions", json=body(**extra),
                             headers={**HEADERS, "X-Govchaos-Request-Id": f"req-{i}",
                                      **(headers or {})})
                for i in range(n)]


async def settle(gw) -> None:
    for rt in gw.runtime.router.routes.values():
        if rt.shadow is not None and rt.shadow.tasks:
            await asyncio.gather(*rt.shadow.tasks, return_exceptions=True)


async def test_a_95_5_split_sends_about_5_percent_to_the_canary(mocks) -> None:
    a, b = await mocks("stable"), await mocks("canary")
    cfg = with_route(make_config([("stable", a, STABLE), ("canary", b, CANARY)]),
                     split=[{"model": STABLE, "weight": 95}, {"model": CANARY, "weight": 5}])
    async with run_gateway(cfg, RulePolicy({STABLE, CANARY})) as gw:
        replies = await send(gw, 200)
        async with httpx.AsyncClient(base_url=gw.url) as h:
            text = (await h.get("/metrics")).text
    assert all(r.status_code == 200 for r in replies)
    share = len(b.log) / (len(a.log) + len(b.log))
    assert 0.01 <= share <= 0.10, share  # binomial(200, 0.05): 3 sigma is about ±0.046
    assert len(a.log) + len(b.log) == 200
    assert metric(text, "govchaos_split_share", route="r", model=CANARY) == share
    assert metric(text, "govchaos_split_picks_total", route="r", model=CANARY) == len(b.log)


async def test_a_denied_split_member_gets_no_traffic(mocks) -> None:
    a, b = await mocks("stable"), await mocks("canary")
    cfg = with_route(make_config([("stable", a, STABLE), ("canary", b, CANARY)]),
                     split=[{"model": STABLE, "weight": 1}, {"model": CANARY, "weight": 99}])
    async with run_gateway(cfg, RulePolicy({STABLE})) as gw:
        replies = await send(gw, 50)
    assert all(r.status_code == 200 for r in replies)
    assert b.log == [] and len(a.log) == 50


async def test_a_failing_canary_fails_over_and_its_share_goes_to_the_stable_version(mocks) -> None:
    a, b = await mocks("stable"), await mocks("canary")
    b.mode = "500"
    cfg = with_route(make_config([("stable", a, STABLE), ("canary", b, CANARY)],
                                 breaker={"failure_threshold": 2, "open_ms": 60000}),
                     split=[{"model": STABLE, "weight": 50}, {"model": CANARY, "weight": 50}])
    async with run_gateway(cfg, RulePolicy({STABLE, CANARY})) as gw:
        replies = await send(gw, 60)
    assert all(r.status_code == 200 for r in replies)  # every canary failure failed over
    assert len(b.log) == 2  # the breaker opened after two failures: no more canary traffic
    assert len(a.log) == 60


async def test_sticky_by_user_keeps_each_user_on_one_version(mocks) -> None:
    a, b = await mocks("stable"), await mocks("canary")
    cfg = with_route(make_config([("stable", a, STABLE), ("canary", b, CANARY)]),
                     split=[{"model": STABLE, "weight": 50}, {"model": CANARY, "weight": 50}],
                     sticky="user")
    async with run_gateway(cfg, RulePolicy({STABLE, CANARY})) as gw:
        async with httpx.AsyncClient(base_url=gw.url, timeout=10) as h:
            for i in range(80):
                r = await h.post("/v1/chat/completions", json=body(user=f"u{i % 8}"),
                                 headers=HEADERS)
                assert r.status_code == 200
    versions: dict[str, set[str]] = {}
    for up, log in (("stable", a.log), ("canary", b.log)):
        for entry in log:
            versions.setdefault(entry.user, set()).add(up)
    assert len(versions) == 8 and all(len(v) == 1 for v in versions.values())
    assert a.log and b.log  # 8 users at 50/50: both versions serve someone


async def test_sticky_header_repeated_with_two_values_is_a_400(mocks) -> None:
    a, b = await mocks("stable"), await mocks("canary")
    cfg = with_route(make_config([("stable", a, STABLE), ("canary", b, CANARY)]),
                     split=[{"model": STABLE, "weight": 1}, {"model": CANARY, "weight": 1}],
                     sticky={"header": "X-Session"})
    async with run_gateway(cfg, RulePolicy({STABLE, CANARY})) as gw:
        async with httpx.AsyncClient(base_url=gw.url, timeout=10) as h:
            r = await h.post("/v1/chat/completions", json=body(),
                             headers=[("Authorization", HEADERS["Authorization"]),
                                      ("X-Session", "s1"), ("X-Session", "s2")])
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "conflicting_declaration"
    assert a.log == [] and b.log == []


async def test_shadow_mirrors_a_share_and_the_client_sees_only_the_primary(mocks) -> None:
    a, s = await mocks("primary", content="primary answer"), await mocks("shadow",
                                                                       content="shadow answer")
    cfg = with_route(make_config([("primary", a, STABLE), ("shadow", s, CLOUD)]),
                     upstreams=["primary"], shadow={"model": CLOUD, "share": 0.5})
    async with run_gateway(cfg, RulePolicy({STABLE, CLOUD})) as gw:
        replies = await send(gw, 60)
        await settle(gw)
        async with httpx.AsyncClient(base_url=gw.url) as h:
            text = (await h.get("/metrics")).text
    assert all(r.json()["choices"][0]["message"]["content"] == "primary answer" for r in replies)
    assert len(a.log) == 60
    mirrored = {e.request_id for e in s.log}
    assert 15 <= len(mirrored) <= 45 and all(e.stream is False for e in s.log)
    shadows = gw.audit.kinds("shadow")
    assert {e["request_id"] for e in shadows} == mirrored
    assert all(e["outcome"] == "ok" and e["upstream"] == "shadow" for e in shadows)
    decisions = gw.audit.kinds("shadow_decision")
    assert {d["request_id"] for d in decisions} == mirrored
    assert all(d["input"]["candidates"][0]["id"] == CLOUD for d in decisions)
    assert metric(text, "govchaos_shadow_requests_total", route="r", model=CLOUD,
                  outcome="ok") == len(mirrored)
    # the shadow never counts as a primary attempt
    assert all(e["upstream"] == "primary" for e in gw.audit.kinds("attempt"))


async def test_a_shadow_the_policy_forbids_is_refused_counted_and_never_sent(mocks) -> None:
    a, s = await mocks("primary"), await mocks("shadow")
    cfg = with_route(make_config([("primary", a, STABLE), ("shadow", s, CLOUD)]),
                     upstreams=["primary"], shadow={"model": CLOUD, "share": 1.0})

    def allow(inp, cand) -> bool:  # PII never to the cloud model
        return cand.id == STABLE or "pii" not in inp.data_classes

    async with run_gateway(cfg, RulePolicy(allow)) as gw:
        replies = await send(gw, 20, headers={"X-Govchaos-Data-Classes": "pii"})
        await settle(gw)
        async with httpx.AsyncClient(base_url=gw.url) as h:
            text = (await h.get("/metrics")).text
    assert all(r.status_code == 200 for r in replies)
    assert s.log == []  # ground truth: the forbidden shadow target received nothing
    assert len(a.log) == 20
    shadows = gw.audit.kinds("shadow")
    assert len(shadows) == 20 and all(e["outcome"] == "denied" for e in shadows)
    assert all(d["result"]["allow"] is False for d in gw.audit.kinds("shadow_decision"))
    assert metric(text, "govchaos_shadow_requests_total", route="r", model=CLOUD,
                  outcome="denied") == 20


async def test_a_failing_shadow_never_touches_the_client_or_the_primary_state(mocks) -> None:
    a, s = await mocks("primary"), await mocks("shadow")
    s.mode = "500"
    cfg = with_route(make_config([("primary", a, STABLE), ("shadow", s, CLOUD)],
                                 breaker={"failure_threshold": 1, "open_ms": 60000}),
                     upstreams=["primary"], shadow={"model": CLOUD, "share": 1.0})
    async with run_gateway(cfg, RulePolicy({STABLE, CLOUD})) as gw:
        replies = await send(gw, 10)
        await settle(gw)
        breaker = gw.runtime.router.upstreams["shadow"].breaker.state
    assert all(r.status_code == 200 for r in replies)
    assert len(s.log) == 10  # every shadow was sent (its breaker never opened)
    assert breaker == "closed"
    assert {e["outcome"] for e in gw.audit.kinds("shadow")} == {"http_5xx"}


async def test_a_streamed_primary_is_shadowed_as_one_non_streaming_call(mocks) -> None:
    a, s = await mocks("primary"), await mocks("shadow")
    cfg = with_route(make_config([("primary", a, STABLE), ("shadow", s, CLOUD)]),
                     upstreams=["primary"], shadow={"model": CLOUD, "share": 1.0})
    async with run_gateway(cfg, RulePolicy({STABLE, CLOUD})) as gw:
        async with httpx.AsyncClient(base_url=gw.url, timeout=10) as h:
            r = await h.post("/v1/chat/completions", json=body(stream=True), headers=HEADERS)
            assert r.status_code == 200 and r.text.rstrip().endswith("data: [DONE]")
        await settle(gw)
    assert [e.stream for e in a.log] == [True] and [e.stream for e in s.log] == [False]
    assert [e["outcome"] for e in gw.audit.kinds("shadow")] == ["ok"]


async def test_a_shadow_in_flight_at_shutdown_is_audited_as_cancelled(mocks) -> None:
    a, s = await mocks("primary"), await mocks("shadow")
    s.mode = "hang"
    cfg = with_route(make_config([("primary", a, STABLE), ("shadow", s, CLOUD)]),
                     upstreams=["primary"], shadow={"model": CLOUD, "share": 1.0,
                                                    "timeout_ms": 60000})
    async with run_gateway(cfg, RulePolicy({STABLE, CLOUD})) as gw:
        replies = await send(gw, 1)
        for _ in range(200):
            if s.log:
                break
            await asyncio.sleep(0.01)
    assert replies[0].status_code == 200 and len(s.log) == 1
    assert [e["outcome"] for e in gw.audit.kinds("shadow")] == ["cancelled"]
