"""Streaming: transparent failover before the first content chunk; a mid-stream failure ends
the stream with an explicit error event (and no [DONE])."""

from __future__ import annotations

import httpx
import openai
import orjson
import pytest
from conftest import API_KEY, RulePolicy, make_config, run_gateway

M1, M2, M3 = "llama-3.1-70b-private-eu", "llama-3.1-8b-private-eu", "gpt-4o-cloud-eu"
HEADERS = {"Authorization": f"Bearer {API_KEY}"}
BODY = {"model": "auto", "stream": True, "messages": [{"role": "user", "content": "hi"}]}


async def stream_frames(url: str) -> tuple[httpx.Response, list[bytes]]:
    async with httpx.AsyncClient(base_url=url, timeout=10) as h:
        async with h.stream("POST", "/v1/chat/completions", json=BODY, headers=HEADERS) as r:
            raw = b"".join([c async for c in r.aiter_bytes()])
    return r, [f for f in raw.split(b"\n\n") if f]


@pytest.mark.parametrize("fault", ["500", "hang", "empty", "malformed", "killed"])
async def test_stream_fails_over_before_first_token(mocks, fault: str) -> None:
    a, b = await mocks("a", content="from a"), await mocks("b", content="from b")
    async with run_gateway(make_config([("a", a, M1), ("b", b, M2)], attempt_timeout_ms=300),
                           RulePolicy({M1, M2})) as gw:
        if fault == "killed":
            await a.stop()
        else:
            a.mode = fault
        r, frames = await stream_frames(gw.url)
        assert r.status_code == 200 and r.headers["x-govchaos-upstream"] == "b"
        assert r.headers["x-govchaos-failovers"].startswith("a:")
        assert frames[-1] == b"data: [DONE]"
        text = "".join(orjson.loads(f[6:])["choices"][0]["delta"].get("content") or ""
                       for f in frames[:-1])
        assert text == "from b"


async def test_stream_with_no_allowed_alternative_is_503(mocks) -> None:
    a, cloud = await mocks("a"), await mocks("cloud")
    async with run_gateway(make_config([("a", a, M1), ("cloud", cloud, M3)]),
                           RulePolicy({M1})) as gw:
        a.mode = "500"
        r, frames = await stream_frames(gw.url)
        assert r.status_code == 503 and cloud.log == []


async def test_midstream_failure_sends_error_event_not_silent_truncation(mocks) -> None:
    a, b = await mocks("a", content="partial answer here"), await mocks("b")
    async with run_gateway(make_config([("a", a, M1), ("b", b, M2)]), RulePolicy({M1, M2})) as gw:
        a.mode = "midstream"
        r, frames = await stream_frames(gw.url)
        assert r.status_code == 200
        last = orjson.loads(frames[-1][6:])
        assert last["error"]["code"] == "upstream_stream_failed"
        assert b"data: [DONE]" not in frames
        assert b.log == []  # too late to fail over: content had reached the client
        assert gw.audit.kinds("attempt")[-1]["outcome"] == "stream_error"
        # and the official SDK surfaces it as an error, not as a short answer
        c = openai.AsyncOpenAI(base_url=gw.url + "/v1", api_key=API_KEY, max_retries=0)
        with pytest.raises(openai.APIError):
            stream = await c.chat.completions.create(model="auto", stream=True,
                                                     messages=[{"role": "user", "content": "x"}])
            async for _ in stream:
                pass
        await c.close()


async def test_stream_schema_route_validates_before_sending(mocks) -> None:
    a, b = await mocks("a"), await mocks("b")
    cfg = make_config([("a", a, M1), ("b", b, M2)],
                      response_schema={"type": "object", "required": ["answer"]})
    async with run_gateway(cfg, RulePolicy({M1, M2})) as gw:
        a.mode = "schema_bad"
        r, frames = await stream_frames(gw.url)
        assert r.headers["x-govchaos-failovers"] == "a:schema_invalid"
        assert r.headers["x-govchaos-upstream"] == "b" and frames[-1] == b"data: [DONE]"
