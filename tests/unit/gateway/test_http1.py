"""gateway.http1 (and Http1Transport's error mapping) against scripted asyncio servers on 127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from gateway.attempt import complete
from gateway.failures import AttemptFailure
from gateway.sse import UpstreamStream
from gateway.transport import Http1Transport
from gateway.config import BreakerConfig, UpstreamConfig
from gateway.http1 import HIGH_WATER, ConnectFailed, Http1Client, TruncatedBody
from gateway.upstream import Upstream

Handler = Callable[[int, bytes, asyncio.StreamReader, asyncio.StreamWriter], Awaitable[bool]]
COMPLETION = (b'{"id":"x","object":"chat.completion","choices":[{"index":0,'
              b'"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}]}')


class Server:
    """Reads each request (head + Content-Length body) and lets ``handler`` answer it; the
    handler returns False to stop serving that connection (the server then closes it)."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.connections = 0
        self.requests: list[bytes] = []
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1/chat/completions"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        conn_no = self.connections
        self._writers.append(writer)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                body = await reader.readexactly(length)
                self.requests.append(head + body)
                if not await self.handler(conn_no, head + body, reader, writer):
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def __aenter__(self) -> "Server":
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for w in self._writers:
            w.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._server.wait_closed(), 2)


def ok(body: bytes = COMPLETION, extra: bytes = b"") -> bytes:
    return (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n%s\r\n"
            % (len(body), extra)) + body


def chunked(*parts: bytes, end: bool = True) -> bytes:
    out = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    for p in parts:
        out += b"%x\r\n%s\r\n" % (len(p), p)
    return out + (b"0\r\n\r\n" if end else b"")


def answer(data: bytes, *, keep: bool = True) -> Handler:
    async def handler(_n: int, _req: bytes, _r: asyncio.StreamReader, w: asyncio.StreamWriter) -> bool:
        w.write(data)
        await w.drain()
        return keep
    return handler


@contextlib.asynccontextmanager
async def client() -> AsyncIterator[Http1Client]:
    c = Http1Client()
    try:
        yield c
    finally:
        await c.close()


async def test_content_length_answer_and_request_bytes() -> None:
    async with Server(answer(ok(extra=b"X-Up: 1\r\n"))) as srv, client() as c:
        status, headers, body = await c.post(srv.url, b'{"a":1}', {"X-Govchaos-Request-Id": "r1"}, 2)
    assert status == 200 and body == COMPLETION
    assert (b"x-up", b"1") in headers
    req = srv.requests[0]
    assert req.startswith(b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:")
    assert b"X-Govchaos-Request-Id: r1\r\n" in req and req.endswith(b'Content-Length: 7\r\n\r\n{"a":1}')


async def test_chunked_answer_is_reassembled() -> None:
    async with Server(answer(chunked(COMPLETION[:10], COMPLETION[10:]))) as srv, client() as c:
        status, _, body = await c.post(srv.url, b"{}", {}, 2)
    assert status == 200 and body == COMPLETION


async def test_keep_alive_connection_is_reused() -> None:
    async with Server(answer(ok())) as srv, client() as c:
        for _ in range(5):
            assert (await c.post(srv.url, b"{}", {}, 2))[2] == COMPLETION
    assert srv.connections == 1 and len(srv.requests) == 5


async def test_connection_close_is_not_reused() -> None:
    async with Server(answer(ok(extra=b"Connection: close\r\n"), keep=False)) as srv, client() as c:
        for _ in range(3):
            assert (await c.post(srv.url, b"{}", {}, 2))[0] == 200
    assert srv.connections == 3


async def test_stale_pooled_connection_is_retried_once_on_a_fresh_one() -> None:
    # The server closes each connection after answering, without saying so: the pooled
    # connection is dead by the next request, which must still succeed on a new one.
    async def handler(n: int, _req: bytes, _r: asyncio.StreamReader, w: asyncio.StreamWriter) -> bool:
        w.write(ok())
        await w.drain()
        return False
    async with Server(handler) as srv, client() as c:
        assert (await c.post(srv.url, b"{}", {}, 2))[0] == 200
        await asyncio.sleep(0.05)  # let the close arrive... or not: both paths must work
        assert (await c.post(srv.url, b"{}", {}, 2))[0] == 200
    assert srv.connections == 2


async def test_stale_connection_that_dies_after_the_request_is_retried() -> None:
    # First connection: answers once, then reads the next request and drops it unanswered.
    async def handler(n: int, _req: bytes, _r: asyncio.StreamReader, w: asyncio.StreamWriter) -> bool:
        if n == 1 and len(srv.requests) == 2:
            return False  # close without answering
        w.write(ok())
        await w.drain()
        return True
    async with Server(handler) as srv, client() as c:
        assert (await c.post(srv.url, b"{}", {}, 2))[0] == 200
        assert (await c.post(srv.url, b"{}", {}, 2))[0] == 200
    assert srv.connections == 2 and len(srv.requests) == 3


async def test_fresh_connection_closed_without_answer_is_connect_failed() -> None:
    async with Server(answer(b"", keep=False)) as srv, client() as c:
        with pytest.raises(ConnectFailed):
            await c.post(srv.url, b"{}", {}, 2)
        with pytest.raises(AttemptFailure) as info:
            await Http1Transport(c).post(srv.url, b"{}", {}, 2)
    assert info.value.reason == "connect_error"


async def test_refused_connection_is_connect_error() -> None:
    async with Server(answer(ok())) as srv:
        url = srv.url
    async with client() as c:
        with pytest.raises(AttemptFailure) as info:
            await Http1Transport(c).post(url, b"{}", {}, 2)
    assert info.value.reason == "connect_error"


async def test_timeout_when_the_answer_never_comes() -> None:
    async def hang(*_: object) -> bool:
        await asyncio.sleep(10)
        return False
    async with Server(hang) as srv, client() as c:
        loop = asyncio.get_running_loop()
        t = loop.time()
        with pytest.raises(AttemptFailure) as info:
            await Http1Transport(c).post(srv.url, b"{}", {}, 0.1)
        assert loop.time() - t < 1.0
    assert info.value.reason == "timeout"


async def test_reset_mid_body_is_truncated_malformed() -> None:
    data = ok()[:-20]  # headers promise more than is sent
    async with Server(answer(data, keep=False)) as srv, client() as c:
        with pytest.raises(TruncatedBody):
            await c.post(srv.url, b"{}", {}, 2)
        with pytest.raises(AttemptFailure) as info:
            await Http1Transport(c).post(srv.url, b"{}", {}, 2)
    assert info.value.reason == "malformed"


async def test_body_delimited_by_close_completes() -> None:
    data = b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + COMPLETION
    async with Server(answer(data, keep=False)) as srv, client() as c:
        status, _, body = await c.post(srv.url, b"{}", {}, 2)
    assert status == 200 and body == COMPLETION


async def test_informational_answer_is_skipped() -> None:
    async with Server(answer(b"HTTP/1.1 100 Continue\r\n\r\n" + ok())) as srv, client() as c:
        status, _, body = await c.post(srv.url, b"{}", {}, 2)
    assert status == 200 and body == COMPLETION


async def test_not_http_is_connect_error() -> None:
    async with Server(answer(b"SSH-2.0-OpenSSH\r\n\r\n", keep=False)) as srv, client() as c:
        with pytest.raises(AttemptFailure) as info:
            await Http1Transport(c).post(srv.url, b"{}", {}, 2)
    assert info.value.reason == "connect_error"


async def test_status_and_retry_after_reach_the_attempt_failure() -> None:
    data = b"HTTP/1.1 429 Too Many\r\nRetry-After: 7\r\nContent-Length: 2\r\n\r\n{}"
    up = Upstream(UpstreamConfig(name="a", base_url="http://127.0.0.1:1/v1", model="m"), BreakerConfig())
    async with Server(answer(data)) as srv, client() as c:
        up.url = srv.url
        with pytest.raises(AttemptFailure) as info:
            await complete(Http1Transport(c), up, b"{}", {}, 2, None)
    assert info.value.reason == "http_429" and info.value.retry_after_s == 7.0


async def test_header_with_line_break_is_refused() -> None:
    async with Server(answer(ok())) as srv, client() as c:
        with pytest.raises(AttemptFailure):
            await Http1Transport(c).post(srv.url, b"{}", {"X-A": "1\r\nX-B: 2"}, 2)
    assert srv.requests == []


def _sse(*contents: str, done: bool = True) -> list[bytes]:
    frames = [b'data: {"choices":[{"index":0,"delta":{"content":"%s"}}]}\n\n' % c.encode()
              for c in contents]
    return frames + ([b"data: [DONE]\n\n"] if done else [])


async def test_sse_passthrough_through_upstream_stream() -> None:
    frames = _sse("a", "b", "c")

    async def handler(_n: int, _req: bytes, _r: asyncio.StreamReader, w: asyncio.StreamWriter) -> bool:
        w.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n")
        for f in frames:  # split frames across chunks the way real servers do
            for part in (f[:7], f[7:]):
                w.write(b"%x\r\n%s\r\n" % (len(part), part))
                await w.drain()
                await asyncio.sleep(0.001)
        w.write(b"0\r\n\r\n")
        await w.drain()
        return True

    up = Upstream(UpstreamConfig(name="a", base_url="http://127.0.0.1:1/v1", model="m"), BreakerConfig())
    async with Server(handler) as srv, client() as c:
        up.url = srv.url
        fast = Http1Transport(c)
        for _ in range(2):
            stream = UpstreamStream(fast, up, b"{}", {}, 2, None)
            first = await stream.open()
            rest = [f async for f in stream.rest()]
            await stream.close()
            assert first + rest == frames
            await asyncio.sleep(0.02)  # the final chunk arrives after [DONE] was read
    assert srv.connections == 1  # drained after [DONE] and reused


async def test_stream_cut_mid_body_is_a_stream_failure() -> None:
    async def handler(_n: int, _req: bytes, _r: asyncio.StreamReader, w: asyncio.StreamWriter) -> bool:
        w.write(chunked(*_sse("a", "b", done=False), end=False))
        await w.drain()
        return False  # reset: no terminating chunk, no [DONE]

    up = Upstream(UpstreamConfig(name="a", base_url="http://127.0.0.1:1/v1", model="m"), BreakerConfig())
    async with Server(handler) as srv, client() as c:
        up.url = srv.url
        stream = UpstreamStream(Http1Transport(c), up, b"{}", {}, 2, None)
        assert len(await stream.open()) == 1
        with pytest.raises(AttemptFailure) as info:
            async for _ in stream.rest():
                pass
        await stream.close()
    assert info.value.reason in ("malformed", "stream_error")


async def test_large_streamed_body_with_backpressure() -> None:
    big = b"x" * (3 * HIGH_WATER)

    async def handler(_n: int, _req: bytes, _r: asyncio.StreamReader, w: asyncio.StreamWriter) -> bool:
        w.write(ok(big))
        await w.drain()
        return True

    async with Server(handler) as srv, client() as c:
        resp = await c.open(srv.url, b"{}", {}, 2)
        await asyncio.sleep(0.05)  # let the body pile up: reading pauses at the high-water mark
        assert await resp.read_all(2) == big
        resp.close()
        assert (await c.post(srv.url, b"{}", {}, 2))[2] == big  # and the connection was reused
    assert srv.connections == 1


async def test_stream_read_timeout() -> None:
    async def handler(_n: int, _req: bytes, _r: asyncio.StreamReader, w: asyncio.StreamWriter) -> bool:
        w.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        await w.drain()
        await asyncio.sleep(10)
        return False

    async with Server(handler) as srv, client() as c:
        resp = await c.open(srv.url, b"{}", {}, 2)
        with pytest.raises(TimeoutError):
            await resp.read_chunk(0.1)
        resp.close()
