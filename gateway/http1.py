"""A lean HTTP/1.1 client for upstream calls: asyncio Protocols + ``httptools``' response parser.

Why not aiohttp here: on the gateway's hot path (one small POST, one small JSON answer) aiohttp's
client cost about a fifth of the gateway's per-request CPU; this client does only what the
gateway needs — a keep-alive pool per upstream origin, the request written with one ``join``,
``Content-Length`` / chunked / read-until-close answers, streamed reading with backpressure,
and one timer per wait instead of a timeout context.

Errors (callers translate them, see :mod:`gateway.transport.http1`):

* :class:`TimeoutError` — no connection / answer / next body bytes before the deadline;
* :class:`ConnectFailed` — refused, reset or closed before any byte of the answer, a bad status
  line or headers;
* :class:`TruncatedBody` — the connection ended (or the parser failed) mid-body.

A pooled connection the server closed while idle is detected on reuse: when it ends without a
single byte of answer, the request is sent once more on a fresh connection (the upstream never
saw a request it answered; a fresh connection failing the same way is a ``ConnectFailed``).
"""

from __future__ import annotations

import asyncio
import ssl as ssl_mod
from collections import deque
from urllib.parse import urlsplit

import httptools

# Pause reading a streamed answer once this much is buffered and unread (backpressure).
HIGH_WATER = 256 * 1024
MAX_IDLE_PER_ORIGIN = 512
KEEPALIVE_S = 30.0


class ConnectFailed(ConnectionError):
    """No usable answer started: refused, reset, closed early, or not HTTP."""


class TruncatedBody(Exception):
    """The answer's headers arrived, but its body ended early or was not valid HTTP framing."""


class _Conn(asyncio.Protocol):
    __slots__ = ("loop", "transport", "parser", "origin", "reused", "got_bytes", "headers_done",
                 "complete", "closed", "status", "headers", "chunks", "buffered", "waiter",
                 "paused", "keep_alive", "informational", "idle_since", "bad", "framed",
                 "streaming", "on_complete")

    def __init__(self, loop: asyncio.AbstractEventLoop, origin: "_Origin") -> None:
        self.loop = loop
        self.origin = origin
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.reused = False
        self.closed = False
        self.idle_since = 0.0
        self.waiter: asyncio.Future[None] | None = None
        self.on_complete: asyncio.TimerHandle | None = None  # set while draining to the pool
        self._reset()

    def _reset(self) -> None:
        self.got_bytes = False
        self.headers_done = False
        self.complete = False
        self.informational = False
        self.bad = False
        self.framed = False
        self.streaming = False  # read piece by piece: pause reading past HIGH_WATER
        self.paused = False
        self.keep_alive = False
        self.status = 0
        self.headers: list[tuple[bytes, bytes]] = []
        self.chunks: list[bytes] = []
        self.buffered = 0

    # -- asyncio.Protocol -------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.got_bytes = True
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            # not HTTP (or bad framing): this connection is done for
            self.bad = True
            self.closed = True
            self.transport.abort()  # type: ignore[union-attr]
            self._wake()

    def eof_received(self) -> bool:
        return False  # close our side too; connection_lost follows

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.on_complete is not None:
            self.on_complete.cancel()
            self.on_complete = None
        if self.headers_done and not self.complete and not self.bad and not self.framed:
            self.complete = True  # an answer without length or chunking ends with the connection
            self.keep_alive = False
        self._wake()

    # -- httptools callbacks ------------------------------------------------------------------
    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name.lower(), value))

    def on_headers_complete(self) -> None:
        status = self.parser.get_status_code()
        if 100 <= status < 200:
            self.informational = True  # 100 Continue & co.: skip, the real answer follows
            self.headers = []
            return
        self.status = status
        self.headers_done = True
        for name, value in self.headers:
            if name == b"content-length" or (name == b"transfer-encoding" and b"chunked" in value.lower()):
                self.framed = True
                break
        self._wake()

    def on_body(self, body: bytes) -> None:
        self.chunks.append(body)
        self.buffered += len(body)
        if (self.streaming and self.buffered > HIGH_WATER and not self.paused
                and self.transport is not None):
            self.paused = True
            self.transport.pause_reading()
        self._wake()

    def on_message_complete(self) -> None:
        if self.informational:
            self.informational = False
            return
        self.complete = True
        self.keep_alive = self.parser.should_keep_alive()
        draining = self.on_complete
        if draining is not None:
            self.on_complete = None
            draining.cancel()
            self.origin.release(self)
        self._wake()

    # -- helpers ------------------------------------------------------------------------------
    def _wake(self) -> None:
        w = self.waiter
        if w is not None and not w.done():
            w.set_result(None)

    def on_timeout(self) -> None:
        w = self.waiter
        if w is not None and not w.done():
            w.set_exception(TimeoutError())

    def abort(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.abort()

    def take_body(self) -> bytes:
        chunks = self.chunks
        self.chunks = []
        self.buffered = 0
        if self.paused and not self.closed:
            self.paused = False
            self.transport.resume_reading()  # type: ignore[union-attr]
        if len(chunks) == 1:
            return chunks[0]
        return b"".join(chunks)

    async def wait(self, deadline: float) -> None:
        """Wait for the next parser event (or the connection's end). Raises TimeoutError."""
        loop = self.loop
        waiter = self.waiter = loop.create_future()
        timer = loop.call_at(deadline, self.on_timeout)
        try:
            await waiter
        finally:
            timer.cancel()
            self.waiter = None


class _Origin:
    """One upstream origin: where to connect, the request line prefix, and the idle pool."""

    __slots__ = ("host", "port", "ssl", "server_hostname", "path", "prefix", "idle", "release")

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {url!r}")
        self.host = parts.hostname
        tls = parts.scheme == "https"
        self.port = parts.port or (443 if tls else 80)
        self.ssl: ssl_mod.SSLContext | None = ssl_mod.create_default_context() if tls else None
        self.server_hostname = self.host if tls else None
        self.path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        default_port = 443 if tls else 80
        host_h = f"[{self.host}]" if ":" in self.host else self.host
        if self.port != default_port:
            host_h = f"{host_h}:{self.port}"
        self.prefix = f"POST {self.path} HTTP/1.1\r\nHost: {host_h}\r\n".encode("latin-1")
        self.idle: deque[_Conn] = deque()
        self.release = _Conn.abort  # replaced by the owning client's pool release

    def build(self, body: bytes, headers: dict[str, str]) -> bytes:
        parts = [self.prefix]
        for name, value in headers.items():
            if "\r" in value or "\n" in value or "\r" in name or "\n" in name:
                raise ValueError(f"header {name!r} contains a line break")
            parts.append(f"{name}: {value}\r\n".encode("latin-1"))
        parts.append(b"Content-Length: %d\r\n\r\n" % len(body))
        parts.append(body)
        return b"".join(parts)


class Http1Client:
    """Keep-alive HTTP/1.1 POSTs to upstream origins (one idle pool per origin)."""

    def __init__(self, *, keepalive_s: float = KEEPALIVE_S,
                 max_idle_per_origin: int = MAX_IDLE_PER_ORIGIN) -> None:
        self.keepalive_s = keepalive_s
        self.max_idle = max_idle_per_origin
        self._origins: dict[str, _Origin] = {}
        self._closed = False

    def _origin(self, url: str) -> _Origin:
        origin = self._origins.get(url)
        if origin is None:
            origin = self._origins[url] = _Origin(url)
            origin.release = self._release
        return origin

    async def _connect(self, origin: _Origin, loop: asyncio.AbstractEventLoop,
                       deadline: float) -> _Conn:
        try:
            async with asyncio.timeout_at(deadline):
                _, conn = await loop.create_connection(
                    lambda: _Conn(loop, origin), origin.host, origin.port, ssl=origin.ssl,
                    server_hostname=origin.server_hostname)
        except TimeoutError:
            raise
        except OSError as exc:
            raise ConnectFailed(f"cannot connect to {origin.host}:{origin.port}: {exc}") from exc
        return conn

    def _idle(self, origin: _Origin, now: float) -> _Conn | None:
        idle = origin.idle
        while idle:
            conn = idle.pop()  # most recently used first: least likely to have been closed
            if conn.closed or conn.transport is None or conn.transport.is_closing():
                continue
            if now - conn.idle_since > self.keepalive_s:
                conn.abort()
                continue
            conn.reused = True
            return conn
        return None

    def _release(self, conn: _Conn) -> None:
        if (not conn.keep_alive or conn.closed or self._closed
                or len(conn.origin.idle) >= self.max_idle):
            conn.abort()
            return
        conn._reset()
        conn.idle_since = conn.loop.time()
        conn.origin.idle.append(conn)

    async def _start(self, url: str, body: bytes, headers: dict[str, str], timeout_s: float,
                     *, need_complete: bool) -> tuple[_Conn, float]:
        """Send the request and wait for the answer's headers (or all of it)."""
        if self._closed:
            raise ConnectFailed("the upstream client is closed")
        loop = asyncio.get_running_loop()
        origin = self._origin(url)
        payload = origin.build(body, headers)
        deadline = loop.time() + timeout_s
        for attempt in (0, 1):
            conn = self._idle(origin, loop.time())
            if conn is None:
                conn = await self._connect(origin, loop, deadline)
            conn.streaming = not need_complete
            conn.transport.write(payload)  # type: ignore[union-attr]
            try:
                while not (conn.complete if need_complete else conn.headers_done) and not conn.closed:
                    await conn.wait(deadline)
            except BaseException:
                conn.abort()  # timed out or cancelled mid-answer: the connection is unusable
                raise
            if conn.complete or (conn.headers_done and not need_complete):
                return conn, deadline
            if conn.headers_done or conn.bad:
                conn.abort()
                if conn.headers_done:
                    raise TruncatedBody("the connection ended in the middle of the body")
                raise ConnectFailed("the upstream's answer is not valid HTTP")
            if attempt == 0 and conn.reused and not conn.got_bytes:
                continue  # a stale keep-alive connection: once more on a fresh one
            raise ConnectFailed("the upstream closed the connection without answering")
        raise AssertionError("unreachable")  # pragma: no cover

    async def post(self, url: str, body: bytes, headers: dict[str, str],
                   timeout_s: float) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        """POST and read the whole answer within ``timeout_s``: (status, headers, body).

        Header names are lower-case bytes. Raises TimeoutError, ConnectFailed, TruncatedBody,
        ValueError (bad URL or a header value with a line break)."""
        conn, _ = await self._start(url, body, headers, timeout_s, need_complete=True)
        status, hdrs, raw = conn.status, conn.headers, conn.take_body()
        self._release(conn)
        return status, hdrs, raw

    async def open(self, url: str, body: bytes, headers: dict[str, str],
                   timeout_s: float) -> "Http1Response":
        """POST and return once the answer's headers are in (the body is read from the result).

        Raises as :meth:`post`."""
        conn, _ = await self._start(url, body, headers, timeout_s, need_complete=False)
        return Http1Response(self, conn)

    async def close(self) -> None:
        self._closed = True
        for origin in self._origins.values():
            while origin.idle:
                origin.idle.pop().abort()


class Http1Response:
    """An answer whose body is read piece by piece (streams); :meth:`close` when done."""

    __slots__ = ("_client", "_conn", "status", "headers")

    def __init__(self, client: Http1Client, conn: _Conn) -> None:
        self._client = client
        self._conn = conn
        self.status = conn.status
        self.headers = conn.headers

    def header(self, name: bytes) -> str | None:
        for k, v in self.headers:
            if k == name:
                return v.decode("latin-1")
        return None

    async def read_chunk(self, timeout_s: float) -> bytes:
        """The next body bytes (whatever has arrived); ``b""`` once the body is complete.

        Raises TimeoutError (nothing new within ``timeout_s``), TruncatedBody."""
        conn = self._conn
        if conn is None:
            return b""
        deadline = conn.loop.time() + timeout_s
        while not conn.chunks:
            if conn.complete:
                return b""
            if conn.closed:
                raise TruncatedBody("the connection ended in the middle of the body")
            await conn.wait(deadline)
        return conn.take_body()

    async def read_all(self, timeout_s: float) -> bytes:
        parts = []
        while True:
            chunk = await self.read_chunk(timeout_s)
            if not chunk:
                return b"".join(parts)
            parts.append(chunk)

    def close(self, *, drain_s: float = 0.0) -> None:
        """Back to the pool if the body was read to its end; otherwise drop the connection.

        With ``drain_s``, a body whose content is over (an SSE stream after ``[DONE]``) but whose
        framing has not ended yet (the final empty chunk) gets that long to end before the
        connection goes back to the pool; after it, or on any further failure, it is dropped."""
        conn, self._conn = self._conn, None
        if conn is None:
            return
        if conn.complete:
            self._client._release(conn)
        elif drain_s > 0 and not conn.closed and conn.waiter is None:
            conn.streaming = False  # nobody reads any more: never pause
            if conn.paused:
                conn.take_body()
            conn.on_complete = conn.loop.call_later(drain_s, conn.abort)
        else:
            conn.abort()
