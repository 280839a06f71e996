"""``upstream_client: fast`` (the default): :class:`gateway.http1.Http1Client`, asyncio Protocols
and httptools over a keep-alive pool, measured faster than aiohttp on this path."""

from __future__ import annotations

from collections.abc import AsyncIterator

from gateway.failures import CONNECT_ERROR, TIMEOUT, TIMEOUT_DETAIL, AttemptFailure
from gateway.http1 import ConnectFailed, Http1Client, Http1Response, TruncatedBody
from gateway.transport.base import StreamedResponse
from gateway.validation import MALFORMED

_ERRORS = (TimeoutError, ConnectFailed, TruncatedBody, OSError, ValueError)


def _failure(exc: BaseException) -> AttemptFailure:
    if isinstance(exc, TimeoutError):
        return AttemptFailure(TIMEOUT, detail=TIMEOUT_DETAIL)
    if isinstance(exc, TruncatedBody):
        return AttemptFailure(MALFORMED, detail="truncated body")
    return AttemptFailure(CONNECT_ERROR, detail=type(exc).__name__)


class _Http1Body:
    __slots__ = ("_resp", "_timeout_s", "status", "retry_after")

    def __init__(self, resp: Http1Response, timeout_s: float) -> None:
        self._resp = resp
        self._timeout_s = timeout_s
        self.status = resp.status
        self.retry_after = resp.header(b"retry-after")

    async def read_all(self) -> bytes:
        try:
            return await self._resp.read_all(self._timeout_s)
        except _ERRORS as exc:
            raise _failure(exc) from exc

    async def lines(self) -> AsyncIterator[bytes]:
        resp, timeout_s = self._resp, self._timeout_s
        buf = b""
        while True:
            try:
                chunk = await resp.read_chunk(timeout_s)
            except _ERRORS as exc:
                raise _failure(exc) from exc
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


class Http1Transport:
    """The HTTP/1.1 transport on :class:`gateway.http1.Http1Client`."""

    def __init__(self, http: Http1Client | None = None) -> None:
        self.http = http or Http1Client()

    async def post(self, url: str, body: bytes, headers: dict[str, str],
                   timeout_s: float) -> tuple[int, str | None, bytes]:
        try:
            status, hdrs, raw = await self.http.post(url, body, headers, timeout_s)
        except _ERRORS as exc:
            raise _failure(exc) from exc
        retry_after = None
        if status != 200:
            for k, v in hdrs:
                if k == b"retry-after":
                    retry_after = v.decode("latin-1")
        return status, retry_after, raw

    async def open(self, url: str, body: bytes, headers: dict[str, str],
                   timeout_s: float) -> StreamedResponse:
        try:
            resp = await self.http.open(url, body, headers, timeout_s)
        except _ERRORS as exc:
            raise _failure(exc) from exc
        return _Http1Body(resp, timeout_s)

    async def close(self) -> None:
        await self.http.close()
