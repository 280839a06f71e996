"""One exchange that also reads the answer's message content (a stream's deltas joined): the
workflow generator builds later steps from earlier answers. Outcome classification is
:func:`chaos.load.client.exchange`'s."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import orjson

from chaos.load.client import Outcome, _check_completion, _read_headers


async def exchange_content(
    session: aiohttp.ClientSession, url: str, headers: dict[str, str], body: bytes, *,
    stream: bool, timeout: aiohttp.ClientTimeout,
) -> tuple[Outcome, str | None]:
    """POST and read the answer's message content (a stream's deltas joined). Like
    :func:`chaos.load.client.exchange`, never raises for HTTP or transport failures."""
    outcome = Outcome()
    content: str | None = None
    try:
        async with session.post(url, data=body, headers=headers, timeout=timeout) as response:
            outcome.status = response.status
            _read_headers(response, outcome)
            if response.status != 200:
                await response.read()
                outcome.error_kind = f"http_{response.status}"
            elif stream:
                outcome.error_kind, content = await _read_stream_content(response, outcome)
            else:
                raw = await response.read()
                outcome.error_kind = _check_completion(raw)
                if outcome.error_kind is None:
                    content = _message_content(raw)
                    if content is None:
                        outcome.error_kind = "invalid_response"
    except (TimeoutError, asyncio.TimeoutError):
        outcome.error_kind = "timeout"
    except aiohttp.ClientConnectorError:
        outcome.error_kind = "connect_error"
    except (aiohttp.ServerDisconnectedError, aiohttp.ClientPayloadError, aiohttp.ClientOSError):
        outcome.error_kind = "connection_reset"
    except aiohttp.ClientError:
        outcome.error_kind = "transport_error"
    return outcome, content if outcome.error_kind is None else None


def _message_content(raw: bytes) -> str | None:
    try:
        content = orjson.loads(raw)["choices"][0]["message"]["content"]
    except (orjson.JSONDecodeError, KeyError, IndexError, TypeError):
        return None
    return content if isinstance(content, str) else None


async def _read_stream_content(
    response: aiohttp.ClientResponse, outcome: Outcome
) -> tuple[str | None, str]:
    saw_done = False
    error: str | None = None
    pieces: list[str] = []
    async for raw_line in response.content:
        line = raw_line.rstrip(b"\r\n")
        if line.startswith(b"event:") and line[6:].strip() == b"error":
            error = error or "stream_error"
            continue
        if not line.startswith(b"data:"):
            continue
        data = line[5:].strip()
        if outcome.first_event_at is None:
            outcome.first_event_at = time.monotonic()
        if data == b"[DONE]":
            saw_done = True
            continue
        if saw_done:
            error = error or "stream_error"
            continue
        try:
            payload = orjson.loads(data)
        except orjson.JSONDecodeError:
            error = error or "invalid_chunk"
            continue
        if not isinstance(payload, dict) or "error" in payload:
            error = error or "stream_error"
            continue
        try:
            piece = payload["choices"][0]["delta"].get("content")
        except (KeyError, IndexError, TypeError, AttributeError):
            piece = None
        if isinstance(piece, str):
            pieces.append(piece)
    if error is None and not saw_done:
        error = "stream_incomplete"
    return error, "".join(pieces)
