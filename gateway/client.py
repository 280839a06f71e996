"""Calls one upstream over a shared keep-alive client and classifies what went wrong.

Two interchangeable HTTP clients sit behind :class:`UpstreamClient` (config
``upstream_client``): ``fast`` (default; :mod:`gateway.http1`, asyncio Protocols + httptools,
measured faster on this path) and ``aiohttp`` (a shared ``ClientSession``). Every failure becomes
an :class:`AttemptFailure` with a stable ``reason`` (the vocabulary of ``X-Govchaos-Failovers``
and of audit ``failover_reason``): ``connect_error``, ``timeout``, ``http_5xx``, ``http_429``,
``http_4xx``, ``malformed``, ``empty``, ``schema_invalid``, ``stream_error``. Each client's own
exceptions are translated here, at the boundary, to the same reasons.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any, Protocol

import aiohttp
import orjson
from jsonschema import Draft202012Validator

from gateway.http1 import ConnectFailed, Http1Client, Http1Response, TruncatedBody
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


def _status_failure(status: int, retry_after: str | None) -> AttemptFailure:
    if status == 429:
        return AttemptFailure("http_429", status=status, retry_after_s=parse_retry_after(retry_after))
    if status >= 500:
        return AttemptFailure("http_5xx", status=status, retry_after_s=parse_retry_after(retry_after))
    return AttemptFailure("http_4xx", status=status)


def _check_status(status: int, retry_after: str | None, raw: bytes) -> None:
    """Raises ClientFault (400/422) or AttemptFailure for any status but 200."""
    if status != 200:
        if status in CLIENT_STATUSES:
            raise ClientFault(status, raw)
        raise _status_failure(status, retry_after)


_TIMEOUT_FAILURE = "no answer within the attempt timeout"


# -- the two HTTP clients ------------------------------------------------------------------------
class UpstreamBody(Protocol):
    """An answer whose headers are in; its body is read as lines (SSE) or whole."""

    status: int
    retry_after: str | None

    async def read_all(self) -> bytes: ...
    def lines(self) -> AsyncIterator[bytes]: ...
    def close(self, *, complete: bool) -> None: ...


class UpstreamClient(Protocol):
    """POSTs to upstreams; every failure is an :class:`AttemptFailure` (its transport's own
    exceptions never escape)."""

    async def post(self, url: str, body: bytes, headers: dict[str, str],
                   timeout_s: float) -> tuple[int, str | None, bytes]:
        """(status, Retry-After header, body), all within ``timeout_s``."""
        ...

    async def open(self, url: str, body: bytes, headers: dict[str, str],
                   timeout_s: float) -> UpstreamBody:
        """Headers within ``timeout_s``; then each body read within ``timeout_s``."""
        ...

    async def close(self) -> None: ...


def _fast_failure(exc: BaseException) -> AttemptFailure:
    if isinstance(exc, TimeoutError):
        return AttemptFailure(TIMEOUT, detail=_TIMEOUT_FAILURE)
    if isinstance(exc, TruncatedBody):
        return AttemptFailure(MALFORMED, detail="truncated body")
    return AttemptFailure(CONNECT_ERROR, detail=type(exc).__name__)


_FAST_ERRORS = (TimeoutError, ConnectFailed, TruncatedBody, OSError, ValueError)


class _FastBody:
    __slots__ = ("_resp", "_timeout_s", "status", "retry_after")

    def __init__(self, resp: Http1Response, timeout_s: float) -> None:
        self._resp = resp
        self._timeout_s = timeout_s
        self.status = resp.status
        self.retry_after = resp.header(b"retry-after")

    async def read_all(self) -> bytes:
        try:
            return await self._resp.read_all(self._timeout_s)
        except _FAST_ERRORS as exc:
            raise _fast_failure(exc) from exc

    async def lines(self) -> AsyncIterator[bytes]:
        resp, timeout_s = self._resp, self._timeout_s
        buf = b""
        while True:
            try:
                chunk = await resp.read_chunk(timeout_s)
            except _FAST_ERRORS as exc:
                raise _fast_failure(exc) from exc
            if not chunk:
                if buf:
                    yield buf
                return
            buf += chunk
            if b"\n" in buf:
                *complete, buf = buf.split(b"\n")
                for line in complete:
                    yield line

    def close(self, *, complete: bool) -> None:
        # Back to the pool once the body has ended; after [DONE] (complete) its final chunk
        # may still be on the way: give it a moment instead of dropping the connection.
        self._resp.close(drain_s=1.0 if complete else 0.0)


class FastClient:
    """``upstream_client: fast`` — :class:`gateway.http1.Http1Client`."""

    def __init__(self, http: Http1Client | None = None) -> None:
        self.http = http or Http1Client()

    async def post(self, url: str, body: bytes, headers: dict[str, str],
                   timeout_s: float) -> tuple[int, str | None, bytes]:
        try:
            status, hdrs, raw = await self.http.post(url, body, headers, timeout_s)
        except _FAST_ERRORS as exc:
            raise _fast_failure(exc) from exc
        retry_after = None
        if status != 200:
            for k, v in hdrs:
                if k == b"retry-after":
                    retry_after = v.decode("latin-1")
        return status, retry_after, raw

    async def open(self, url: str, body: bytes, headers: dict[str, str],
                   timeout_s: float) -> UpstreamBody:
        try:
            resp = await self.http.open(url, body, headers, timeout_s)
        except _FAST_ERRORS as exc:
            raise _fast_failure(exc) from exc
        return _FastBody(resp, timeout_s)

    async def close(self) -> None:
        await self.http.close()


def _translate(exc: BaseException) -> AttemptFailure:
    if isinstance(exc, (asyncio.TimeoutError, aiohttp.ServerTimeoutError)):
        return AttemptFailure(TIMEOUT, detail=_TIMEOUT_FAILURE)
    if isinstance(exc, aiohttp.ClientPayloadError):
        return AttemptFailure(MALFORMED, detail="truncated body")
    return AttemptFailure(CONNECT_ERROR, detail=type(exc).__name__)


_AIOHTTP_ERRORS = (asyncio.TimeoutError, aiohttp.ClientError, OSError)


class _AiohttpBody:
    __slots__ = ("_resp", "status", "retry_after")

    def __init__(self, resp: aiohttp.ClientResponse) -> None:
        self._resp = resp
        self.status = resp.status
        self.retry_after = resp.headers.get("Retry-After")

    async def read_all(self) -> bytes:
        try:
            return await self._resp.read()
        except _AIOHTTP_ERRORS as exc:
            raise _translate(exc) from exc

    async def lines(self) -> AsyncIterator[bytes]:
        try:
            async for line in self._resp.content:
                yield line
        except _AIOHTTP_ERRORS as exc:
            raise _translate(exc) from exc

    def close(self, *, complete: bool) -> None:
        if complete:
            self._resp.release()  # fully read: the connection goes back to the pool
        else:
            self._resp.close()  # abandoned mid-body: drop the connection


def new_aiohttp_session() -> aiohttp.ClientSession:
    # One shared keep-alive pool; no per-host cap (the route's attempt timeout bounds waits).
    connector = aiohttp.TCPConnector(limit=0, keepalive_timeout=30, ttl_dns_cache=300)
    # The route's attempt timeout is applied per call; no session-wide timer on top of it.
    return aiohttp.ClientSession(connector=connector, auto_decompress=False,
                                 timeout=aiohttp.ClientTimeout(total=None),
                                 skip_auto_headers=("User-Agent",))


class AiohttpClient:
    """``upstream_client: aiohttp`` — one shared keep-alive ``aiohttp.ClientSession``."""

    def __init__(self, session: aiohttp.ClientSession | None = None) -> None:
        self.session = session or new_aiohttp_session()

    async def post(self, url: str, body: bytes, headers: dict[str, str],
                   timeout_s: float) -> tuple[int, str | None, bytes]:
        try:
            async with asyncio.timeout(timeout_s):
                async with self.session.post(url, data=body, headers=headers) as resp:
                    raw = await resp.read()
                    return resp.status, resp.headers.get("Retry-After"), raw
        except _AIOHTTP_ERRORS as exc:
            raise _translate(exc) from exc

    async def open(self, url: str, body: bytes, headers: dict[str, str],
                   timeout_s: float) -> UpstreamBody:
        try:
            async with asyncio.timeout(timeout_s):
                resp = await self.session.post(
                    url, data=body, headers=headers,
                    timeout=aiohttp.ClientTimeout(total=None, sock_read=timeout_s))
        except _AIOHTTP_ERRORS as exc:
            raise _translate(exc) from exc
        return _AiohttpBody(resp)

    async def close(self) -> None:
        await self.session.close()


UPSTREAM_CLIENTS = {"fast": FastClient, "aiohttp": AiohttpClient}


def new_upstream_client(kind: str = "fast") -> UpstreamClient:
    """The configured client. Raises KeyError for an unknown kind (config validates it)."""
    return UPSTREAM_CLIENTS[kind]()


# -- attempts ------------------------------------------------------------------------------------
async def complete(
    client: UpstreamClient,
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
    status, retry_after, raw = await client.post(up.url, body, headers, timeout_s)
    if status != 200:
        _check_status(status, retry_after, raw)
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

    def __init__(self, client: UpstreamClient, up: Upstream, body: bytes,
                 headers: dict[str, str], timeout_s: float,
                 validator: Draft202012Validator | None) -> None:
        self._client = client
        self._up = up
        self._body = body
        self._headers = headers
        self._timeout_s = timeout_s
        self._validator = validator
        self._resp: UpstreamBody | None = None
        self._lines: AsyncIterator[bytes] | None = None
        self._done = False

    async def open(self) -> list[bytes]:
        """Raises AttemptFailure / ClientFault like :func:`complete`."""
        try:
            async with asyncio.timeout(self._timeout_s):
                return await self._open()
        except (AttemptFailure, ClientFault):
            await self.close()
            raise
        except asyncio.TimeoutError as exc:
            await self.close()
            raise AttemptFailure(TIMEOUT, detail=_TIMEOUT_FAILURE) from exc
        except BaseException:
            await self.close()
            raise

    async def _open(self) -> list[bytes]:
        resp = self._resp = await self._client.open(
            self._up.url, self._body, self._headers, self._timeout_s)
        if resp.status != 200:
            raw = await resp.read_all()
            _check_status(resp.status, resp.retry_after, raw)
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
