"""A healthy simulated upstream: OpenAI shapes (checked with the openai SDK), log, kill/restart."""

from __future__ import annotations

import asyncio
import json
import time

import aiohttp
import openai
import pytest

from chaos.markers import mark
from chaos.providers import LatencyProfile, SimulatedUpstream, MockUpstreamSpec

from provider_helpers import chat_body


async def test_openai_sdk_parses_completion_and_stream(make_upstream) -> None:
    upstream = await make_upstream()
    client = openai.AsyncOpenAI(base_url=f"{upstream.url}/v1", api_key="unused", max_retries=0)
    try:
        completion = await client.chat.completions.create(
            model="llama-3.1-70b-private-eu", messages=[{"role": "user", "content": "hi"}]
        )
        assert completion.model == "llama-3.1-70b-private-eu"
        assert json.loads(completion.choices[0].message.content) == {
            "answer": "simulated answer from private-eu",
            "upstream": "private-eu",
        }
        assert completion.usage.completion_tokens > 0
        stream = await client.chat.completions.create(
            model="llama-3.1-70b-private-eu",
            messages=[{"role": "user", "content": "hi"}],
            stream=True,
        )
        chunks = [chunk async for chunk in stream]
        text = "".join(c.choices[0].delta.content or "" for c in chunks)
        assert json.loads(text)["upstream"] == "private-eu"
        assert chunks[0].choices[0].delta.role == "assistant"
        assert chunks[-1].choices[0].finish_reason == "stop"
        assert all(c.object == "chat.completion.chunk" for c in chunks)
        models = await client.models.list()
        assert [m.id for m in models.data] == ["llama-3.1-70b-private-eu"]
    finally:
        await client.close()


async def test_configurable_content(make_upstream, session) -> None:
    upstream = await make_upstream(content='{"verdict": "approve"}')
    async with session.post(f"{upstream.url}/v1/chat/completions", json=chat_body()) as resp:
        payload = await resp.json()
    assert payload["choices"][0]["message"]["content"] == '{"verdict": "approve"}'


async def test_request_log_records_ground_truth(make_upstream, session) -> None:
    upstream = await make_upstream()
    before = time.time()
    headers = {"X-Govchaos-Request-Id": "req-1"}
    body = chat_body(stream=True, model="gpt-4o-cloud-us")
    async with session.post(f"{upstream.url}/v1/chat/completions", json=body, headers=headers) as r:
        await r.read()
    async with session.get(f"{upstream.url}/health") as r:
        assert (await r.json())["status"] == "ok"
    chat, health = upstream.request_log
    assert chat.upstream == "private-eu"
    assert chat.served_model == "llama-3.1-70b-private-eu"
    assert chat.body_model == "gpt-4o-cloud-us"  # what was asked, kept apart from what served
    assert chat.request_id == "req-1"
    assert chat.user == "govchaos:req-1"
    assert chat.stream is True
    assert chat.path == "/v1/chat/completions"
    assert chat.outcome == "ok"
    assert before <= chat.received_at <= time.time()
    assert health.path == "/health" and health.method == "GET"


async def test_request_log_records_content_markers_and_probe_header(make_upstream, session) -> None:
    upstream = await make_upstream()
    marked = chat_body(messages=[
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": [{"type": "text", "text": mark("Summarise.", "run1-7")}]},
    ])
    marked.pop("user")
    async with session.post(f"{upstream.url}/v1/chat/completions", json=marked) as r:
        await r.read()
    probe = chat_body(messages=[{"role": "user", "content": "ping"}], user="govchaos:probe")
    async with session.post(f"{upstream.url}/v1/chat/completions", json=probe,
                            headers={"X-Govchaos-Probe": "1"}) as r:
        await r.read()
    async with session.post(f"{upstream.url}/v1/chat/completions",
                            data=b"{broken " + mark("x", "run1-9").encode()) as r:
        assert r.status == 400
    client, health_probe, broken = upstream.request_log
    assert client.content_request_ids == ("run1-7",) and client.request_id is None
    assert client.govchaos_request_id == "run1-7"
    assert client.content_excerpt.startswith("Summarise.")  # user messages first
    assert client.probe_header is None
    assert health_probe.content_request_ids == () and health_probe.content_excerpt == "ping"
    assert health_probe.probe_header == "1"
    assert broken.content_request_ids == ("run1-9",)  # found in a body that is not even JSON


async def test_bad_body_is_400_and_logged(make_upstream, session) -> None:
    upstream = await make_upstream()
    async with session.post(f"{upstream.url}/v1/chat/completions", data=b"{nope") as resp:
        assert resp.status == 400
        assert (await resp.json())["error"]["type"] == "invalid_request_error"
    assert upstream.request_log[0].outcome == "bad_request"


async def test_latency_profile_delays_answer(make_upstream, session) -> None:
    upstream = await make_upstream(latency=LatencyProfile(base_ms=60, jitter_ms=10))
    start = time.monotonic()
    async with session.post(f"{upstream.url}/v1/chat/completions", json=chat_body()) as resp:
        await resp.read()
    assert 0.055 <= time.monotonic() - start < 2.0


async def test_kill_refuses_then_restart_serves_on_same_port(make_upstream, session) -> None:
    upstream = await make_upstream()
    port = upstream.port
    await upstream.kill()
    assert upstream.state == "killed"
    with pytest.raises(aiohttp.ClientConnectorError):
        await session.get(f"{upstream.url}/health")
    await upstream.restart()
    assert upstream.port == port and upstream.state == "running"
    async with session.get(f"{upstream.url}/health") as resp:
        assert resp.status == 200


async def test_kill_resets_open_connections_and_hung_request_is_logged(
    make_upstream, session
) -> None:
    upstream = await make_upstream()
    upstream.set_fault("hang")
    request = asyncio.create_task(
        session.post(f"{upstream.url}/v1/chat/completions", json=chat_body())
    )
    for _ in range(200):  # bounded: until the upstream has the request
        if upstream.request_log:
            break
        await asyncio.sleep(0.01)
    assert upstream.request_log[0].outcome == "hang"
    await upstream.kill()
    with pytest.raises((aiohttp.ServerDisconnectedError, aiohttp.ClientOSError)):
        await asyncio.wait_for(request, 5)


async def test_stop_releases_hung_requests() -> None:
    upstream = SimulatedUpstream(MockUpstreamSpec(name="a", model="m"))
    await upstream.start()
    upstream.set_fault("hang")
    async with aiohttp.ClientSession() as session:
        request = asyncio.create_task(session.post(f"{upstream.url}/v1/chat/completions", json={}))
        await asyncio.sleep(0.1)
        await asyncio.wait_for(upstream.stop(), 5)
        with pytest.raises(aiohttp.ClientError):
            await asyncio.wait_for(request, 5)
    assert upstream.state == "stopped"


async def test_http_control_api(make_upstream, session) -> None:
    upstream = await make_upstream()
    control = f"{upstream.url}/_govchaos/fault"
    async with session.post(control, json={"kind": "error_500", "params": {"rate": 1}}) as resp:
        assert resp.status == 200
        assert (await resp.json())["fault"]["kind"] == "error_500"
    assert upstream.fault is not None and upstream.fault.kind == "error_500"
    async with session.post(f"{upstream.url}/v1/chat/completions", json=chat_body()) as resp:
        assert resp.status == 500
    async with session.post(control, json={"kind": "eror_500"}) as resp:
        assert resp.status == 400
        assert "did you mean 'error_500'" in (await resp.json())["error"]
    async with session.post(control, data=b"not json") as resp:
        assert resp.status == 400
    async with session.delete(control) as resp:
        assert resp.status == 200
    async with session.get(control) as resp:
        assert (await resp.json()) == {"fault": None}
    async with session.get(f"{upstream.url}/_govchaos/requests") as resp:
        assert len((await resp.json())["requests"]) == 1  # control calls are not logged


async def test_kill_cuts_a_stream_in_progress(make_upstream, session) -> None:
    upstream = await make_upstream(content="one two three four five six")
    upstream.set_fault("slow_stream", per_token_ms=100)
    received: list[bytes] = []

    async def read() -> None:
        async with session.post(
            f"{upstream.url}/v1/chat/completions", json=chat_body(stream=True)
        ) as resp:
            async for line in resp.content:
                received.append(line)

    reader = asyncio.create_task(read())
    await asyncio.sleep(0.15)
    await upstream.kill()
    with pytest.raises(aiohttp.ClientPayloadError):
        await asyncio.wait_for(reader, 5)
    assert received and not any(b"[DONE]" in line for line in received)
