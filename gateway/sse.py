"""A streaming completion from one upstream: the SSE reader and its attempt semantics.

The router may still fail over until the first content reaches the client, so
:meth:`UpstreamStream.open` reads up to that point and judges it; afterwards a failure is a cut
stream (:meth:`UpstreamStream.rest` raises, the client gets an error event).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import orjson
from jsonschema import Draft202012Validator

from gateway.failures import (
    STREAM_ERROR,
    TIMEOUT,
    TIMEOUT_DETAIL,
    AttemptFailure,
    ClientFault,
    check_status,
)
from gateway.transport.base import StreamedResponse, Transport
from gateway.upstream import Upstream
from gateway.validation import EMPTY, MALFORMED, TOOL_CALL, check_content, chunk_content


class UpstreamStream:
    """A streaming completion from one upstream.

    :meth:`open` reads up to and including the first chunk carrying content and returns those
    SSE events (so the router can still fail over when nothing has reached the client);
    :meth:`rest` yields the remaining events. With a validator, :meth:`open` reads the whole
    stream and validates the assembled content first (the client then gets it in one go).
    Events are returned as ready-to-send ``data: ...\\n\\n`` frames; the final ``[DONE]`` frame
    is included.
    """

    def __init__(self, transport: Transport, up: Upstream, body: bytes,
                 headers: dict[str, str], timeout_s: float,
                 validator: Draft202012Validator | None, *, strip_usage: bool = False) -> None:
        self._transport = transport
        self._up = up
        self._body = body
        self._headers = headers
        self._timeout_s = timeout_s
        self._validator = validator
        self._resp: StreamedResponse | None = None
        self._lines: AsyncIterator[bytes] | None = None
        self._done = False
        # accounting (gateway.accounting): the upstream's usage chunk, if any, and the
        # characters of text content streamed (for an estimate without one); the usage chunk
        # is not forwarded when the gateway asked for it and the client did not
        self._strip_usage = strip_usage
        self.usage: object = None
        self.content_chars = 0

    async def open(self) -> list[bytes]:
        """Raises AttemptFailure / ClientFault like :func:`gateway.attempt.complete`."""
        try:
            async with asyncio.timeout(self._timeout_s):
                return await self._open()
        except (AttemptFailure, ClientFault):
            await self.close()
            raise
        except asyncio.TimeoutError as exc:
            await self.close()
            raise AttemptFailure(TIMEOUT, detail=TIMEOUT_DETAIL) from exc
        except BaseException:
            await self.close()
            raise

    async def _open(self) -> list[bytes]:
        resp = self._resp = await self._transport.open(
            self._up.url, self._body, self._headers, self._timeout_s)
        if resp.status != 200:
            raw = await resp.read_all()
            check_status(resp.status, resp.retry_after, raw)
        self._lines = resp.lines()
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
        assert self._lines is not None
        async for line in self._lines:
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
            if content:
                self.content_chars += len(content)
            else:
                usage = doc.get("usage")
                if usage is not None:
                    self.usage = usage
                    if self._strip_usage and not doc["choices"]:
                        continue
            yield b"data: " + data + b"\n\n", content
        raise AttemptFailure(STREAM_ERROR, status=200, detail="stream ended without [DONE]")

    async def rest(self) -> AsyncIterator[bytes]:
        """Remaining frames after :meth:`open`. Raises AttemptFailure mid-stream."""
        if self._done:
            return
        async for frame, _ in self._events():
            yield frame

    async def close(self) -> None:
        resp, self._resp = self._resp, None
        lines, self._lines = self._lines, None
        if lines is not None:
            await lines.aclose()  # type: ignore[attr-defined]
        if resp is not None:
            resp.close(complete=self._done)
