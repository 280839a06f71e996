"""A transport that answers from a handler function, for tests (no sockets).

    async def handler(request: TransportRequest) -> MockResponse:
        if request.model == "slow":
            await asyncio.sleep(10)          # the attempt timeout turns this into ``timeout``
        return MockResponse.completion("hi")

    transport = MockTransport(handler)

The handler may be sync or async; it may raise :class:`~gateway.failures.AttemptFailure` (e.g.
``connect_error``) like a real transport would. The attempt timeout applies to the handler
call and to each streamed line, as in the real transports. Every request is kept in
:attr:`MockTransport.requests`, in the order it was sent.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson

from gateway.failures import TIMEOUT, TIMEOUT_DETAIL, AttemptFailure


@dataclass(frozen=True, slots=True)
class TransportRequest:
    url: str
    body: bytes
    headers: dict[str, str]
    timeout_s: float
    stream: bool

    @property
    def json(self) -> Any:
        return orjson.loads(self.body)

    @property
    def model(self) -> str | None:
        return self.json.get("model")


@dataclass(slots=True)
class MockResponse:
    """``content`` is the whole body; ``lines`` (streaming) may be an async iterable, so a test
    can stall or fail mid-stream."""

    status: int = 200
    content: bytes = b""
    retry_after: str | None = None
    lines: Iterable[bytes] | AsyncIterable[bytes] | None = None

    @classmethod
    def completion(cls, text: str, *, model: str = "m") -> MockResponse:
        return cls(content=orjson.dumps({
            "id": "c", "object": "chat.completion", "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                         "finish_reason": "stop"}],
        }))

    @classmethod
    def sse(cls, *pieces: str, done: bool = True) -> MockResponse:
        """A 200 event stream: one content chunk per piece, then ``[DONE]`` unless ``done`` is false."""
        return cls(lines=sse_lines(*pieces, done=done))


def sse_lines(*pieces: str, done: bool = True) -> list[bytes]:
    lines = []
    for text in pieces:
        chunk = {"id": "c", "object": "chat.completion.chunk",
                 "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}]}
        lines += [b"data: " + orjson.dumps(chunk), b""]
    if done:
        lines += [b"data: [DONE]", b""]
    return lines


Handler = Callable[[TransportRequest], "MockResponse | Awaitable[MockResponse]"]


class _MockBody:
    def __init__(self, resp: MockResponse, timeout_s: float) -> None:
        self._resp = resp
        self._timeout_s = timeout_s
        self.status = resp.status
        self.retry_after = resp.retry_after
        self.closed: bool | None = None  # the ``complete`` flag it was closed with

    async def read_all(self) -> bytes:
        return self._resp.content

    async def lines(self) -> AsyncIterator[bytes]:
        src = self._resp.lines
        if src is None:
            src = self._resp.content.split(b"\n")
        if not isinstance(src, AsyncIterable):
            for line in src:
                yield line
            return
        it = aiter(src)
        while True:
            try:
                async with asyncio.timeout(self._timeout_s):
                    line = await anext(it)
            except StopAsyncIteration:
                return
            except TimeoutError as exc:
                raise AttemptFailure(TIMEOUT, detail=TIMEOUT_DETAIL) from exc
            yield line

    def close(self, *, complete: bool) -> None:
        self.closed = complete


@dataclass
class MockTransport:
    handler: Handler
    requests: list[TransportRequest] = field(default_factory=list)
    closed: bool = False

    async def _answer(self, req: TransportRequest) -> MockResponse:
        self.requests.append(req)
        try:
            async with asyncio.timeout(req.timeout_s):
                resp = self.handler(req)
                if inspect.isawaitable(resp):
                    resp = await resp
        except TimeoutError as exc:
            raise AttemptFailure(TIMEOUT, detail=TIMEOUT_DETAIL) from exc
        return resp  # type: ignore[return-value]

    async def post(self, url: str, body: bytes, headers: dict[str, str],
                   timeout_s: float) -> tuple[int, str | None, bytes]:
        resp = await self._answer(TransportRequest(url, body, headers, timeout_s, False))
        return resp.status, resp.retry_after, resp.content

    async def open(self, url: str, body: bytes, headers: dict[str, str],
                   timeout_s: float) -> _MockBody:
        resp = await self._answer(TransportRequest(url, body, headers, timeout_s, True))
        return _MockBody(resp, timeout_s)

    async def close(self) -> None:
        self.closed = True
