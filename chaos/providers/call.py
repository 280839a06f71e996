"""One request being answered by a simulated upstream: what fault behaviours work with.

A fault behaviour receives an :class:`UpstreamCall` and produces the response, usually by
calling :meth:`UpstreamCall.answer` with a twist (other content, slower tokens, a cut stream) or
:meth:`UpstreamCall.error`. Keeping the healthy answer here means every fault that still
"answers" shares the exact OpenAI shapes and the upstream's latency profile.

Every answer with content reports its tokens once to ``usage_sink`` (the upstream's usage log,
the ground truth of cost): :meth:`UpstreamCall.answer` does it itself, a behaviour that sends
content its own way calls :meth:`UpstreamCall.record_usage`.
"""


from __future__ import annotations

import asyncio
import random
import socket
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from chaos.providers import openai_shape
from chaos.providers.models import LatencyProfile

_LINGER_RST = struct.pack("ii", 1, 0)

UsageSink = Callable[[int, int, bool, bool], None]
"""Where an answer reports (prompt_tokens, completion_tokens, usage_sent, complete)."""


def abort_with_reset(transport: Any) -> None:
    """Drop a connection abruptly: SO_LINGER 0 makes the kernel send RST, so the peer sees
    "connection reset" rather than a clean end of stream (what a crashed worker looks like)."""
    if transport is None:
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RST)
        except OSError:  # already closed: nothing left to reset
            pass
    transport.abort()


@dataclass(slots=True)
class UpstreamCall:
    """The request, its parsed body and the upstream's identity, latency and randomness."""

    request: web.Request
    body: dict[str, Any]
    stream: bool
    upstream: str
    model: str
    content: str
    latency: LatencyProfile
    rng: random.Random
    sequence: int
    # Set when the fault that was active at arrival is cleared or replaced (ends a ``hang``).
    released: asyncio.Event
    usage_sink: UsageSink | None = None

    def record_usage(self, completion_tokens: int, *, usage_sent: bool, complete: bool) -> None:
        """Report what this answer generated (``completion_tokens``) and whether the caller got
        a ``usage`` object for it. Called once per answer; later calls are ignored."""
        sink, self.usage_sink = self.usage_sink, None
        if sink is not None:
            sink(openai_shape.count_prompt_tokens(self.body), completion_tokens, usage_sent,
                 complete)

    @property
    def completion_id(self) -> str:
        return f"chatcmpl-{self.upstream}-{self.sequence}"

    async def answer(
        self,
        *,
        content: str | None = None,
        per_token_ms: float | None = None,
        cut_after_chunks: int | None = None,
    ) -> web.StreamResponse:
        """Answer like a healthy upstream (optionally with other content, other per-token delay,
        or a stream that dies after ``cut_after_chunks`` content chunks)."""
        text = self.content if content is None else content
        token_ms = self.latency.per_token_ms if per_token_ms is None else per_token_ms
        delay = self.latency.first_byte_delay_s(self.rng)
        if self.stream:
            if delay:
                await asyncio.sleep(delay)
            return await self._stream(text, token_ms, cut_after_chunks)
        pieces = openai_shape.split_tokens(text)
        delay += token_ms * len(pieces) / 1000.0
        if delay:
            await asyncio.sleep(delay)
        body = openai_shape.completion(
            completion_id=self.completion_id,
            model=self.model,
            content=text,
            prompt_tokens=openai_shape.count_prompt_tokens(self.body),
        )
        if cut_after_chunks is not None:
            self.record_usage(len(pieces), usage_sent=False, complete=False)
            return await self._cut_body(body)
        self.record_usage(len(pieces), usage_sent=True, complete=True)
        return web.Response(body=body, content_type="application/json")

    async def error(
        self,
        status: int,
        message: str,
        *,
        error_type: str,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> web.Response:
        """An OpenAI-style error response."""
        return web.Response(
            status=status,
            body=openai_shape.error_body(message, error_type=error_type, code=code),
            content_type="application/json",
            headers=headers,
        )

    async def raw(self, body: bytes, *, content_type: str = "application/json") -> web.Response:
        """A 200 with exactly these bytes (for malformed or truncated bodies)."""
        return web.Response(body=body, status=200, content_type=content_type)

    async def sse(self, events: list[bytes]) -> web.StreamResponse:
        """A 200 event stream made of exactly these pre-rendered events."""
        response = await self._open_stream()
        for event in events:
            await response.write(event)
        await response.write_eof()
        return response

    def chunk(self, delta: dict[str, Any], finish_reason: str | None = None) -> bytes:
        return openai_shape.chunk(
            completion_id=self.completion_id,
            model=self.model,
            created=int(time.time()),
            delta=delta,
            finish_reason=finish_reason,
        )

    async def _open_stream(self) -> web.StreamResponse:
        response = web.StreamResponse(
            status=200,
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"},
        )
        await response.prepare(self.request)
        return response

    async def _stream(
        self, text: str, token_ms: float, cut_after_chunks: int | None
    ) -> web.StreamResponse:
        sent = 0
        try:
            response = await self._open_stream()
            await response.write(self.chunk({"role": "assistant", "content": "", "refusal": None}))
            for index, piece in enumerate(openai_shape.split_tokens(text)):
                if cut_after_chunks is not None and index >= cut_after_chunks:
                    abort_with_reset(self.request.transport)
                    return response
                if token_ms and index:
                    await asyncio.sleep(token_ms / 1000.0)
                await response.write(self.chunk({"content": piece}))
                sent += 1
            if cut_after_chunks is not None and cut_after_chunks >= 0:
                # Fewer pieces than the cut point: die right before the end of the stream.
                abort_with_reset(self.request.transport)
                return response
            await response.write(self.chunk({}, finish_reason="stop"))
            with_usage = openai_shape.include_usage(self.body)
            if with_usage:
                await response.write(openai_shape.usage_chunk(
                    completion_id=self.completion_id, model=self.model, created=int(time.time()),
                    prompt_tokens=openai_shape.count_prompt_tokens(self.body),
                    completion_tokens=sent))
            await response.write(openai_shape.DONE)
            await response.write_eof()
            self.record_usage(sent, usage_sent=with_usage, complete=True)
            return response
        finally:
            # Cut by a fault, or the caller hung up (a hedge's loser): what was generated so far.
            self.record_usage(sent, usage_sent=False, complete=False)

    async def _cut_body(self, body: bytes) -> web.StreamResponse:
        # Promise the full length, send half, then drop the connection.
        response = web.StreamResponse(
            status=200, headers={"Content-Type": "application/json"}
        )
        response.content_length = len(body)
        await response.prepare(self.request)
        await response.write(body[: len(body) // 2])
        abort_with_reset(self.request.transport)
        return response
