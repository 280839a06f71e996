"""Calls one upstream over a shared keep-alive aiohttp session and classifies what went wrong.

Every failure becomes an :class:`AttemptFailure` with a stable ``reason`` (the vocabulary of
``X-Govchaos-Failovers`` and of audit ``failover_reason``): ``connect_error``, ``timeout``,
``http_5xx``, ``http_429``, ``http_4xx``, ``malformed``, ``empty``, ``schema_invalid``,
``stream_error``. aiohttp's exceptions are translated here, at the boundary.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import orjson
from jsonschema import Draft202012Validator

from gateway.upstream import Upstream
from gateway.validation import (
    EMPTY,
    MALFORMED,
    TOOL_CALL,
    check_completion,
    check_content,
    chunk_content,
)

CONNECT_ERROR, TIMEOUT, STREAM_ERROR = "connect_error", "timeout", "stream_error"
# Upstream statuses that are the client's fault: the same request would fail everywhere, so
# they are returned to the client instead of failing over.
CLIENT_STATUSES = frozenset({400, 422})


class AttemptFailure(Exception):
    """One attempt on one upstream failed; the router may fail over."""

    def __init__(
        self, reason: str, *, status: int | None = None, retry_after_s: float | None = None,
        detail: str = "",
    ) -> None:
        super().__init__(f"{reason}{': ' + detail if detail else ''}")
        self.reason = reason
        self.status = status
        self.retry_after_s = retry_after_s
        self.detail = detail


class ClientFault(Exception):
    """The upstream rejected the request itself (400/422): pass its answer to the client."""

    def __init__(self, status: int, body: bytes) -> None:
        super().__init__(f"upstream answered {status}")
        self.status = status
        self.body = body


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds form; HTTP dates are ignored)."""
    if not value:
        return None
    try:
        return max(0.0, float(value.strip()))
    except ValueError:
        return None


def _status_failure(status: int, headers: Any) -> AttemptFailure:
    if status == 429:
        return AttemptFailure("http_429", status=status,
                              retry_after_s=parse_retry_after(headers.get("Retry-After")))
    if status >= 500:
        return AttemptFailure("http_5xx", status=status,
                              retry_after_s=parse_retry_after(headers.get("Retry-After")))
    return AttemptFailure("http_4xx", status=status)


def _translate(exc: BaseException) -> AttemptFailure:
    if isinstance(exc, (asyncio.TimeoutError, aiohttp.ServerTimeoutError)):
        return AttemptFailure(TIMEOUT, detail="no answer within the attempt timeout")
    if isinstance(exc, aiohttp.ClientPayloadError):
        return AttemptFailure(MALFORMED, detail="truncated body")
    return AttemptFailure(CONNECT_ERROR, detail=type(exc).__name__)


async def complete(
    session: aiohttp.ClientSession,
    up: Upstream,
    body: bytes,
    headers: dict[str, str],
    timeout_s: float,
    validator: Draft202012Validator | None,
) -> tuple[bytes, dict[str, Any]]:
    """POST a non-streaming completion; returns the raw body and its parsed document.

    Raises:
        AttemptFailure: connect error, timeout, bad status, malformed/empty/schema-invalid output.
        ClientFault: the upstream answered 400/422.
    """
    try:
        async with asyncio.timeout(timeout_s):
            async with session.post(up.url, data=body, headers=headers) as resp:
                raw = await resp.read()
                status = resp.status
                if status != 200:
                    if status in CLIENT_STATUSES:
                        raise ClientFault(status, raw)
                    raise _status_failure(status, resp.headers)
    except (AttemptFailure, ClientFault):
        raise
    except (asyncio.TimeoutError, aiohttp.ClientError, OSError) as exc:
        raise _translate(exc) from exc
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise AttemptFailure(MALFORMED, status=200, detail="body is not JSON") from exc
    reason = check_completion(doc, validator)
    if reason is not None:
        raise AttemptFailure(reason, status=200)
    return raw, doc


class UpstreamStream:
    """A streaming completion from one upstream.

    :meth:`open` reads up to and including the first chunk carrying content and returns those
    SSE events (so the router can still fail over when nothing has reached the client);
    :meth:`rest` yields the remaining events. With a validator, :meth:`open` reads the whole
    stream and validates the assembled content first (the client then gets it in one go).
    Events are returned as ready-to-send ``data: ...\\n\\n`` frames; the final ``[DONE]`` frame
    is included.
    """

    def __init__(self, session: aiohttp.ClientSession, up: Upstream, body: bytes,
                 headers: dict[str, str], timeout_s: float,
                 validator: Draft202012Validator | None) -> None:
        self._session = session
        self._up = up
        self._body = body
        self._headers = headers
        self._timeout_s = timeout_s
        self._validator = validator
        self._resp: aiohttp.ClientResponse | None = None
        self._done = False

    async def open(self) -> list[bytes]:
        """Raises AttemptFailure / ClientFault like :func:`complete`."""
        try:
            async with asyncio.timeout(self._timeout_s):
                return await self._open()
        except (AttemptFailure, ClientFault):
            await self.close()
            raise
        except (asyncio.TimeoutError, aiohttp.ClientError, OSError) as exc:
            await self.close()
            raise _translate(exc) from exc

    async def _open(self) -> list[bytes]:
        resp = self._resp = await self._session.post(
            self._up.url, data=self._body, headers=self._headers,
            timeout=aiohttp.ClientTimeout(total=None, sock_read=self._timeout_s))
        if resp.status != 200:
            raw = await resp.read()
            if resp.status in CLIENT_STATUSES:
                raise ClientFault(resp.status, raw)
            raise _status_failure(resp.status, resp.headers)
        events: list[bytes] = []
        text: list[str] = []
        has_output = False
        async for frame, content in self._events():
            events.append(frame)
            if content is None:  # [DONE]
                break
            if content:
                has_output = True
                if content is not TOOL_CALL:
                    text.append(content)
                if self._validator is None:
                    return events
        if not has_output:
            raise AttemptFailure(EMPTY, status=200, detail="stream carried no content")
        if text:
            reason = check_content("".join(text), self._validator)
            if reason is not None:
                raise AttemptFailure(reason, status=200)
        return events

    async def _events(self) -> AsyncIterator[tuple[bytes, str | None]]:
        """(frame, content) per SSE data event; content None marks [DONE].

        Raises AttemptFailure(stream_error/malformed) when the stream ends without [DONE] or a
        chunk is not a valid completion chunk."""
        assert self._resp is not None
        async for line in self._resp.content:
            line = line.strip()
            if not line.startswith(b"data:"):
                continue  # comments, event names, blank separators
            data = line[5:].strip()
            if data == b"[DONE]":
                self._done = True
                yield b"data: [DONE]\n\n", None
                return
            try:
                doc = orjson.loads(data)
            except orjson.JSONDecodeError as exc:
                raise AttemptFailure(MALFORMED, status=200, detail="chunk is not JSON") from exc
            if isinstance(doc, dict) and "error" in doc:
                raise AttemptFailure(STREAM_ERROR, status=200, detail="upstream error event")
            content = chunk_content(doc)
            if content is None:
                raise AttemptFailure(MALFORMED, status=200, detail="chunk is not a completion chunk")
            yield b"data: " + data + b"\n\n", content
        raise AttemptFailure(STREAM_ERROR, status=200, detail="stream ended without [DONE]")

    async def rest(self) -> AsyncIterator[bytes]:
        """Remaining frames after :meth:`open`. Raises AttemptFailure mid-stream."""
        if self._done:
            return
        try:
            async for frame, _ in self._events():
                yield frame
        except (AttemptFailure, ClientFault):
            raise
        except (asyncio.TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise _translate(exc) from exc

    async def close(self) -> None:
        resp, self._resp = self._resp, None
        if resp is not None:
            if self._done:
                resp.release()  # fully read: the connection goes back to the pool
            else:
                resp.close()  # abandoned mid-body: drop the connection
