"""``upstream_client: aiohttp``: one shared keep-alive ``aiohttp.ClientSession``."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp

from gateway.failures import CONNECT_ERROR, TIMEOUT, TIMEOUT_DETAIL, AttemptFailure
from gateway.transport.base import StreamedResponse
from gateway.validation import MALFORMED

_ERRORS = (asyncio.TimeoutError, aiohttp.ClientError, OSError)


def _failure(exc: BaseException) -> AttemptFailure:
    if isinstance(exc, (asyncio.TimeoutError, aiohttp.ServerTimeoutError)):
        return AttemptFailure(TIMEOUT, detail=TIMEOUT_DETAIL)
    if isinstance(exc, aiohttp.ClientPayloadError):
        return AttemptFailure(MALFORMED, detail="truncated body")
    return AttemptFailure(CONNECT_ERROR, detail=type(exc).__name__)


class _AiohttpBody:
    __slots__ = ("_resp", "status", "retry_after")

    def __init__(self, resp: aiohttp.ClientResponse) -> None:
        self._resp = resp
        self.status = resp.status
        self.retry_after = resp.headers.get("Retry-After")

    async def read_all(self) -> bytes:
        try:
            return await self._resp.read()
        except _ERRORS as exc:
            raise _failure(exc) from exc

    async def lines(self) -> AsyncIterator[bytes]:
        try:
            async for line in self._resp.content:
                yield line
        except _ERRORS as exc:
            raise _failure(exc) from exc

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


class AiohttpTransport:
    """The transport on one shared keep-alive ``aiohttp.ClientSession``."""

    def __init__(self, session: aiohttp.ClientSession | None = None) -> None:
        self.session = session or new_aiohttp_session()

    async def post(self, url: str, body: bytes, headers: dict[str, str],
                   timeout_s: float) -> tuple[int, str | None, bytes]:
        try:
            async with asyncio.timeout(timeout_s):
                async with self.session.post(url, data=body, headers=headers) as resp:
                    raw = await resp.read()
                    return resp.status, resp.headers.get("Retry-After"), raw
        except _ERRORS as exc:
            raise _failure(exc) from exc

    async def open(self, url: str, body: bytes, headers: dict[str, str],
                   timeout_s: float) -> StreamedResponse:
        try:
            async with asyncio.timeout(timeout_s):
                resp = await self.session.post(
                    url, data=body, headers=headers,
                    timeout=aiohttp.ClientTimeout(total=None, sock_read=timeout_s))
        except _ERRORS as exc:
            raise _failure(exc) from exc
        return _AiohttpBody(resp)

    async def close(self) -> None:
        await self.session.close()
