"""Send one planned request over a shared aiohttp session and say what happened.

Success means: HTTP 200 and, for a non-streaming request, a JSON body with ``choices``; for a
stream, every ``data:`` line is JSON (or ``[DONE]``), none is an error event, and the stream
ended with ``data: [DONE]``. A status received before a transport failure is kept (a stream reset
after its 200 is ``status=200, error_kind=connection_reset``); with no response at all the status
is 0.
"""

from __future__ import annotations

import asyncio
import math
import time
from dataclasses import dataclass

import aiohttp
import orjson

from chaos.load.models import PlannedRequest, RouteMix
from chaos.markers import mark

REQUEST_ID = "X-Govchaos-Request-Id"
ROUTE = "X-Govchaos-Route"
DATA_CLASSES = "X-Govchaos-Data-Classes"
REGION = "X-Govchaos-Region"
SERVED_BY = "X-Govchaos-Served-By"
UPSTREAM = "X-Govchaos-Upstream"
ATTEMPTS = "X-Govchaos-Attempts"
FAILOVERS = "X-Govchaos-Failovers"


@dataclass(slots=True)
class Outcome:
    """The client's view of one exchange (turned into a ``LoadRecord`` by the generator)."""

    status: int = 0
    error_kind: str | None = None
    served_by: str | None = None
    upstream: str | None = None
    attempts: int | None = None
    failovers: tuple[str, ...] = ()
    retry_after_s: float | None = None
    error_code: str | None = None  # ``error.code`` of an error answer's OpenAI-style body
    first_event_at: float | None = None  # time.monotonic() of a stream's first data event

    @property
    def ok(self) -> bool:
        return self.status == 200 and self.error_kind is None


def render_request(planned: PlannedRequest, entry: RouteMix) -> tuple[dict[str, str], bytes]:
    """Headers and JSON body for a planned request.

    The request id goes three ways: the ``X-Govchaos-Request-Id`` header, the body's ``user``
    (``govchaos:<id>``) and a marker inside the prompt itself (:func:`chaos.markers.mark`), which
    survives gateways that drop headers and ``user``.
    """
    headers = {
        "Authorization": f"Bearer {entry.api_key.get_secret_value()}",
        "Content-Type": "application/json",
        REQUEST_ID: planned.request_id,
        ROUTE: planned.route,
        DATA_CLASSES: ",".join(planned.data_classes),
    }
    if planned.region:
        headers[REGION] = planned.region
    body: dict[str, object] = {
        "messages": [{"role": "user", "content": mark(entry.prompt, planned.request_id)}],
        "user": f"govchaos:{planned.request_id}",
    }
    if entry.model is not None:
        body["model"] = entry.model
    if planned.stream:
        body["stream"] = True
    if entry.max_tokens is not None:
        body["max_tokens"] = entry.max_tokens
    return headers, orjson.dumps(body)


async def exchange(
    session: aiohttp.ClientSession,
    url: str,
    headers: dict[str, str],
    body: bytes,
    *,
    stream: bool,
    timeout: aiohttp.ClientTimeout,
    content: list[str] | None = None,
) -> Outcome:
    """POST and read the whole answer. Never raises for HTTP or transport failures (they become
    the outcome's ``error_kind``); ``asyncio.CancelledError`` propagates. With ``content``, the
    answer's message content is appended to it (a stream's deltas, piece by piece), and a 200
    without string content is ``invalid_response``."""
    outcome = Outcome()
    try:
        async with session.post(url, data=body, headers=headers, timeout=timeout) as response:
            outcome.status = response.status
            _read_headers(response, outcome)
            if response.status != 200:
                outcome.error_code = _error_code(await response.read())
                outcome.error_kind = f"http_{response.status}"
            elif stream:
                outcome.error_kind = await _read_stream(response, outcome, content)
            else:
                raw = await response.read()
                outcome.error_kind = _check_completion(raw)
                if content is not None and outcome.error_kind is None:
                    text = _message_content(raw)
                    if text is None:
                        outcome.error_kind = "invalid_response"
                    else:
                        content.append(text)
    except (TimeoutError, asyncio.TimeoutError):
        outcome.error_kind = "timeout"
    except aiohttp.ClientConnectorError:
        outcome.error_kind = "connect_error"
    except (aiohttp.ServerDisconnectedError, aiohttp.ClientPayloadError, aiohttp.ClientOSError):
        outcome.error_kind = "connection_reset"
    except aiohttp.ClientError:
        outcome.error_kind = "transport_error"
    return outcome


async def exchange_content(
    session: aiohttp.ClientSession, url: str, headers: dict[str, str], body: bytes, *,
    stream: bool, timeout: aiohttp.ClientTimeout,
) -> tuple[Outcome, str | None]:
    """:func:`exchange`, also returning the answer's message content (None unless it succeeded):
    the workflow generator builds later steps from earlier answers."""
    pieces: list[str] = []
    outcome = await exchange(session, url, headers, body, stream=stream, timeout=timeout,
                             content=pieces)
    return outcome, "".join(pieces) if outcome.error_kind is None else None


def _message_content(raw: bytes) -> str | None:
    try:
        text = orjson.loads(raw)["choices"][0]["message"]["content"]
    except (orjson.JSONDecodeError, KeyError, IndexError, TypeError):
        return None
    return text if isinstance(text, str) else None


def _read_headers(response: aiohttp.ClientResponse, outcome: Outcome) -> None:
    headers = response.headers
    outcome.served_by = headers.get(SERVED_BY)
    outcome.upstream = headers.get(UPSTREAM)
    attempts = headers.get(ATTEMPTS)
    if attempts is not None and attempts.strip().isdigit():
        outcome.attempts = int(attempts)
    outcome.retry_after_s = _retry_after_s(headers.get("Retry-After"))
    failovers = headers.get(FAILOVERS)
    if failovers:
        outcome.failovers = tuple(part.strip() for part in failovers.split(",") if part.strip())


def _error_code(raw: bytes) -> str | None:
    """``error.code`` of an OpenAI-style error body (e.g. ``budget_exceeded``), if it has one."""
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    error = doc.get("error") if isinstance(doc, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    return code[:64] if isinstance(code, str) and code else None


def _retry_after_s(value: str | None) -> float | None:
    # Seconds only: the HTTP-date form is not used by gateways for this and is ignored.
    if not value:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


def _check_completion(raw: bytes) -> str | None:
    try:
        payload = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return "invalid_response"
    if not isinstance(payload, dict) or not isinstance(payload.get("choices"), list):
        return "invalid_response"
    return None


async def _read_stream(response: aiohttp.ClientResponse, outcome: Outcome,
                       content: list[str] | None = None) -> str | None:
    saw_done = False
    error: str | None = None
    event_name = ""
    async for raw_line in response.content:
        line = raw_line.rstrip(b"\r\n")
        if not line:
            event_name = ""  # a blank line ends an SSE event
            continue
        if line.startswith(b"event:"):
            event_name = line[6:].strip().decode(errors="replace")
            if event_name == "error":
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
            error = error or "stream_error"  # data after [DONE] is a protocol error
            continue
        try:
            payload = orjson.loads(data)
        except orjson.JSONDecodeError:
            error = error or "invalid_chunk"
            continue
        if isinstance(payload, dict) and "error" in payload:
            error = error or "stream_error"
        elif content is not None and isinstance(payload, dict):
            try:
                piece = payload["choices"][0]["delta"].get("content")
            except (KeyError, IndexError, TypeError, AttributeError):
                piece = None
            if isinstance(piece, str):
                content.append(piece)
    if error:
        return error
    return None if saw_done else "stream_incomplete"
