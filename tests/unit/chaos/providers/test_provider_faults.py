"""Each provider fault kind, against a real upstream on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import random
import time

import aiohttp
import orjson
import pytest
from provider_helpers import chat_body

from chaos.providers import FAULTS, FaultParamsError, UnknownFaultError


async def _post(session: aiohttp.ClientSession, upstream, *, stream: bool = False):
    async with session.post(
        f"{upstream.url}/v1/chat/completions", json=chat_body(stream=stream)
    ) as resp:
        return resp.status, dict(resp.headers), await resp.read()


def _events(raw: bytes) -> list[bytes]:
    return [line[6:] for line in raw.split(b"\n") if line.startswith(b"data: ")]


async def test_error_500(make_upstream, session) -> None:
    upstream = await make_upstream()
    upstream.set_fault("error_500")
    status, _, body = await _post(session, upstream)
    assert status == 500
    assert orjson.loads(body)["error"]["type"] == "server_error"
    upstream.set_fault("error_500", status_code=503)
    assert (await _post(session, upstream))[0] == 503
    assert [e.outcome for e in upstream.request_log] == ["error_500", "error_500"]


async def test_rate_limit_429_with_retry_after(make_upstream, session) -> None:
    upstream = await make_upstream()
    upstream.set_fault("rate_limit_429", retry_after_s=7)
    status, headers, body = await _post(session, upstream)
    assert status == 429
    assert headers["Retry-After"] == "7"
    assert orjson.loads(body)["error"]["code"] == "rate_limit_exceeded"


async def test_rate_is_a_seeded_probability(make_upstream, session) -> None:
    upstream = await make_upstream(seed=3)
    upstream.set_fault("error_500", rate=0.5)
    statuses = [(await _post(session, upstream))[0] for _ in range(40)]
    failed = statuses.count(500)
    assert 8 <= failed <= 32 and set(statuses) == {200, 500}
    # The same seed draws the same sequence.
    rng = random.Random(3)
    expected = [500 if rng.random() < 0.5 else 200 for _ in range(40)]
    assert statuses == expected
    upstream.set_fault("error_500", rate=0)
    assert (await _post(session, upstream))[0] == 200


async def test_malformed_json(make_upstream, session) -> None:
    upstream = await make_upstream()
    upstream.set_fault("malformed_json")
    status, _, body = await _post(session, upstream)
    assert status == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(body)
    status, _, raw = await _post(session, upstream, stream=True)
    events = _events(raw)
    assert events[-1] == b"[DONE]"
    with pytest.raises(json.JSONDecodeError):
        json.loads(events[1])


async def test_truncated_json(make_upstream, session) -> None:
    upstream = await make_upstream()
    upstream.set_fault("truncated_json")
    status, _, body = await _post(session, upstream)
    assert status == 200 and body.startswith(b'{"id"')
    with pytest.raises(json.JSONDecodeError):
        json.loads(body)
    _, _, raw = await _post(session, upstream, stream=True)
    events = _events(raw)
    assert b"[DONE]" not in events
    with pytest.raises(json.JSONDecodeError):
        json.loads(events[-1])


@pytest.mark.parametrize("stream", [False, True])
async def test_empty_content(make_upstream, session, stream: bool) -> None:
    upstream = await make_upstream()
    upstream.set_fault("empty_content")
    _, _, raw = await _post(session, upstream, stream=stream)
    if stream:
        deltas = [json.loads(e)["choices"][0]["delta"] for e in _events(raw)[:-1]]
        assert "".join(d.get("content") or "" for d in deltas) == ""
    else:
        assert json.loads(raw)["choices"][0]["message"]["content"] == ""


async def test_schema_violation_is_valid_openai_with_wrong_content(make_upstream, session) -> None:
    upstream = await make_upstream()
    upstream.set_fault("schema_violation")
    _, _, raw = await _post(session, upstream)
    content = json.loads(raw)["choices"][0]["message"]["content"]
    with pytest.raises(json.JSONDecodeError):
        json.loads(content)
    upstream.set_fault("schema_violation", content='{"verdict": 3}')
    _, _, raw = await _post(session, upstream)
    assert json.loads(raw)["choices"][0]["message"]["content"] == '{"verdict": 3}'


async def test_slow_stream_spaces_tokens(make_upstream, session) -> None:
    upstream = await make_upstream(content="one two three four five")
    upstream.set_fault("slow_stream", per_token_ms=40)
    async with session.post(
        f"{upstream.url}/v1/chat/completions", json=chat_body(stream=True)
    ) as resp:
        arrivals = []
        async for line in resp.content:
            if line.startswith(b"data: "):
                arrivals.append(time.monotonic())
    content = arrivals[1:-2]  # role chunk first; stop chunk and [DONE] last
    assert len(content) == 5
    # The span, not each gap: a stalled client may read two chunks back to back.
    assert content[-1] - content[0] >= 4 * 0.040 * 0.9


async def test_hang_holds_until_cleared_and_is_logged(make_upstream, session) -> None:
    upstream = await make_upstream()
    upstream.set_fault("hang")
    request = asyncio.create_task(_post(session, upstream))
    await asyncio.sleep(0.2)
    assert not request.done()
    assert [e.outcome for e in upstream.request_log] == ["hang"]
    upstream.clear_fault()
    status, _, _ = await asyncio.wait_for(request, 5)
    assert status == 200


@pytest.mark.parametrize("stream", [False, True])
async def test_stream_cut_resets_connection(make_upstream, session, stream: bool) -> None:
    upstream = await make_upstream(content="a b c d e f")
    upstream.set_fault("stream_cut", after_chunks=2)
    received: list[bytes] = []
    with pytest.raises(aiohttp.ClientPayloadError):
        async with session.post(
            f"{upstream.url}/v1/chat/completions", json=chat_body(stream=stream)
        ) as resp:
            assert resp.status == 200
            async for line in resp.content:
                received.append(line)
    if stream:
        contents = [
            json.loads(line[6:])["choices"][0]["delta"].get("content")
            for line in received
            if line.startswith(b"data: ")
        ]
        assert contents == ["", "a", " b"]


def test_unknown_kind_suggests_closest() -> None:
    with pytest.raises(UnknownFaultError, match="did you mean 'hang'"):
        FAULTS.get("hnag")


@pytest.mark.parametrize(
    ("kind", "params", "field"),
    [
        ("rate_limit_429", {"retry_after_s": -1}, "retry_after_s"),
        ("error_500", {"status_code": 404}, "status_code"),
        ("hang", {"bogus": 1}, "bogus"),
        ("error_500", {"rate": 2}, "rate"),
    ],
)
def test_bad_params_name_the_field(kind: str, params: dict, field: str) -> None:
    with pytest.raises(FaultParamsError, match=field):
        FAULTS.build(kind, params)


def test_every_kind_builds_with_defaults() -> None:
    for name in FAULTS.names():
        fault = FAULTS.build(name)
        assert fault.kind == name and fault.rate == 1.0
