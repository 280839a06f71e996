"""Rendering of HTTP responses for the raw ASGI app: JSON bodies and the one error renderer.

Every error a client sees goes through :func:`send_error`, which turns a
:class:`~gateway.errors.RequestError` into ``{"error": {"message","type","code","param"}}``
(plus ``reasons``/``denied`` for policy outcomes) with its status, ``Retry-After`` and the
``X-Govchaos-*`` headers known so far.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import orjson

from gateway.errors import RequestError, UpstreamRejected

Send = Callable[[dict[str, Any]], Awaitable[None]]
JSON = b"application/json"


async def send_bytes(send: Send, status: int, body: bytes, content_type: bytes = JSON,
                     headers: Iterable[tuple[bytes, bytes]] = ()) -> None:
    h = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
    h.extend(headers)
    await send({"type": "http.response.start", "status": status, "headers": h})
    await send({"type": "http.response.body", "body": body})


async def send_json(send: Send, status: int, doc: Any,
                    headers: Iterable[tuple[bytes, bytes]] = ()) -> None:
    await send_bytes(send, status, orjson.dumps(doc), JSON, headers)


def error_headers(err: RequestError) -> list[tuple[bytes, bytes]]:
    h = [(k.lower().encode(), v.encode()) for k, v in err.headers.items()]
    if err.retry_after_s is not None:
        h.append((b"retry-after", str(max(1, math.ceil(err.retry_after_s))).encode()))
    return h


async def send_error(send: Send, err: RequestError) -> None:
    """Render ``err`` (upstream 400/422 bodies are passed through unchanged)."""
    if isinstance(err, UpstreamRejected):
        await send_bytes(send, err.status, err.upstream_body, JSON, error_headers(err))
        return
    await send_json(send, err.status, err.body(), error_headers(err))


def sse_error(code: str, message: str) -> bytes:
    """The mid-stream error event: one ``data:`` frame with an OpenAI-style error object."""
    doc = {"error": {"message": message, "type": "server_error", "code": code, "param": None}}
    return b"data: " + orjson.dumps(doc) + b"\n\n"
