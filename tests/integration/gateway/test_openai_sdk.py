"""The official openai SDK chats through the gateway, non-streaming and streaming."""

from __future__ import annotations

import httpx
import openai
import pytest
from conftest import API_KEY, RulePolicy, make_config, run_gateway

M1, M2 = "llama-3.1-70b-private-eu", "llama-3.1-8b-private-eu"


def client(url: str, **headers: str) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=url + "/v1", api_key=API_KEY, max_retries=0, timeout=10,
                              default_headers={"X-Govchaos-Data-Classes": "pii", **headers})


async def test_sdk_non_streaming_reports_served_model(mocks) -> None:
    a, b = await mocks("a", content="hello there"), await mocks("b")
    policy = RulePolicy({M1, M2}, obligations={"max_tokens": 64, "log_prompts": False})
    async with run_gateway(make_config([("a", a, M1), ("b", b, M2)]), policy) as gw:
        c = client(gw.url, **{"X-Govchaos-Request-Id": "req-1"})
        raw = await c.chat.completions.with_raw_response.create(
            model="auto", messages=[{"role": "user", "content": "secret prompt"}],
            max_tokens=500, user="u-42")
        done = raw.parse()
        assert done.choices[0].message.content == "hello there"
        assert raw.headers["x-govchaos-served-by"] == M1
        assert raw.headers["x-govchaos-upstream"] == "a"
        assert raw.headers["x-govchaos-attempts"] == "1"
        assert raw.headers["x-govchaos-request-id"] == "req-1"
        assert raw.headers["x-govchaos-decision-id"]
        got = a.log[0]
        assert (got.model, got.request_id, got.user, got.max_tokens) == (M1, "req-1", "u-42", 64)
        assert policy.inputs[0].data_classes == ("pii",)
        # log_prompts false: the prompt never reaches the audit sink, masked or not
        assert "secret prompt" not in repr(gw.audit.events)
        kinds = [e["kind"] for e in gw.audit.events]
        assert kinds == ["decision", "attempt"]
        await c.close()


async def test_sdk_streaming(mocks) -> None:
    a = await mocks("a", content="one two three four")
    async with run_gateway(make_config([("a", a, M1)]), RulePolicy({M1})) as gw:
        c = client(gw.url)
        stream = await c.chat.completions.create(
            model="auto", messages=[{"role": "user", "content": "hi"}], stream=True)
        text = "".join([ch.choices[0].delta.content or "" async for ch in stream if ch.choices])
        assert text == "one two three four"
        assert a.log[0].stream and a.log[0].model == M1
        await c.close()


async def test_models_and_health_endpoints(mocks) -> None:
    a = await mocks("a")
    async with run_gateway(make_config([("a", a, M1)]), RulePolicy({M1})) as gw:
        c = client(gw.url)
        models = await c.models.list()
        assert [m.id for m in models.data] == [M1]
        async with httpx.AsyncClient(base_url=gw.url) as h:
            assert (await h.get("/healthz")).status_code == 200
            assert (await h.get("/readyz")).json()["status"] == "ready"
            metrics = (await h.get("/metrics")).text
            assert "govchaos_gateway_breaker_state" in metrics
        await c.close()


@pytest.mark.parametrize("auth", [None, "Bearer wrong", "Bearer sk-test-key-but-longer",
                                  "Basic sk-test-key"])
async def test_bad_key_is_401(mocks, auth: str | None) -> None:
    a = await mocks("a")
    async with run_gateway(make_config([("a", a, M1)]), RulePolicy({M1})) as gw:
        async with httpx.AsyncClient(base_url=gw.url) as h:
            r = await h.post("/v1/chat/completions", json={"messages": [{"role": "user"}]},
                             headers={"Authorization": auth} if auth else {})
        assert r.status_code == 401
        assert r.json()["error"]["code"] == "invalid_api_key"
        assert a.log == []
