"""The usage log (tokens each answer carried: the ground truth of cost) and the stream's final
usage chunk under ``stream_options.include_usage``."""

from __future__ import annotations

import openai

from chaos.providers import read_usage_log, usage_log_path
from chaos.providers.openai_shape import split_tokens

from provider_helpers import chat_body


async def _sse_events(session, url: str, body: dict) -> list[dict]:
    import json

    async with session.post(f"{url}/v1/chat/completions", json=body) as response:
        text = await response.text()
    return [json.loads(line[6:]) for line in text.splitlines()
            if line.startswith("data: ") and line != "data: [DONE]"]


async def test_openai_sdk_reads_the_final_usage_chunk(make_upstream) -> None:
    upstream = await make_upstream()
    client = openai.AsyncOpenAI(base_url=f"{upstream.url}/v1", api_key="unused", max_retries=0)
    try:
        stream = await client.chat.completions.create(
            model="llama-3.1-70b-private-eu", messages=[{"role": "user", "content": "hi there"}],
            stream=True, stream_options={"include_usage": True})
        chunks = [chunk async for chunk in stream]
    finally:
        await client.close()
    last = chunks[-1]
    assert last.choices == [] and last.usage is not None
    pieces = len(split_tokens(upstream.content))
    assert (last.usage.prompt_tokens, last.usage.completion_tokens) == (2, pieces)
    assert last.usage.total_tokens == 2 + pieces
    [entry] = upstream.usage_log
    assert entry.usage_sent and entry.complete and entry.stream
    assert (entry.prompt_tokens, entry.completion_tokens) == (2, pieces)


async def test_stream_without_include_usage_has_no_usage_chunk(make_upstream, session) -> None:
    upstream = await make_upstream()
    events = await _sse_events(session, upstream.url, chat_body(stream=True))
    assert all("usage" not in e for e in events)
    [entry] = upstream.usage_log
    assert not entry.usage_sent and entry.complete
    assert entry.completion_tokens == len(split_tokens(upstream.content))


async def test_usage_log_links_to_the_request_log(make_upstream, session) -> None:
    upstream = await make_upstream()
    async with session.post(f"{upstream.url}/v1/chat/completions", json=chat_body()) as response:
        usage = (await response.json())["usage"]
    [request] = upstream.request_log
    [entry] = upstream.usage_log
    assert (entry.received_mono, entry.upstream, entry.request_id) == (
        request.received_mono, "private-eu", "req-1")
    assert entry.usage_sent and entry.complete and not entry.stream
    assert (entry.prompt_tokens, entry.completion_tokens) == (
        usage["prompt_tokens"], usage["completion_tokens"])


async def test_errors_leave_no_usage_and_cut_answers_are_partial(make_upstream, session) -> None:
    upstream = await make_upstream()
    upstream.set_fault("error_500")
    async with session.post(f"{upstream.url}/v1/chat/completions", json=chat_body()) as r:
        assert r.status == 500
    assert upstream.usage_log == []
    upstream.set_fault("stream_cut", after_chunks=2)
    try:
        await _sse_events(session, upstream.url, chat_body(stream=True))
    except Exception:  # the reset may surface as a client error
        pass
    upstream.set_fault("truncated_json")
    async with session.post(f"{upstream.url}/v1/chat/completions", json=chat_body()) as r:
        await r.read()
    cut, truncated = upstream.usage_log
    assert (cut.completion_tokens, cut.usage_sent, cut.complete) == (2, False, False)
    assert truncated.completion_tokens == len(split_tokens(upstream.content))
    assert (truncated.usage_sent, truncated.complete) == (False, False)


async def test_usage_log_file_beside_the_request_log(make_upstream, session, tmp_path) -> None:
    log_file = tmp_path / "logs" / "private-eu.jsonl"
    upstream = await make_upstream(log_file=str(log_file))
    async with session.post(f"{upstream.url}/v1/chat/completions", json=chat_body()) as r:
        await r.read()
    assert usage_log_path(log_file) == tmp_path / "logs" / "usage" / "private-eu.jsonl"
    assert read_usage_log(usage_log_path(log_file)) == upstream.usage_log
    async with session.get(f"{upstream.url}/_govchaos/usage") as r:
        assert len((await r.json())["usage"]) == 1
