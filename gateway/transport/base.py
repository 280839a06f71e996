"""The transport seam: how the gateway POSTs to an upstream, whatever HTTP client does it.

A transport has two calls and ``close``: :meth:`Transport.post` (a whole answer) and
:meth:`Transport.open` (headers now, the body read as lines or whole). Every failure a
transport meets becomes an :class:`~gateway.failures.AttemptFailure` with a stable reason
(``connect_error``, ``timeout``, ``malformed`` for a truncated body); its HTTP client's own
exceptions never escape. Statuses are not judged here: that is attempt semantics
(:mod:`gateway.attempt`, :mod:`gateway.sse`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol


class StreamedResponse(Protocol):
    """An answer whose headers are in; its body is read as lines (SSE) or whole."""

    status: int
    retry_after: str | None

    async def read_all(self) -> bytes: ...
    def lines(self) -> AsyncIterator[bytes]: ...
    def close(self, *, complete: bool) -> None: ...


class Transport(Protocol):
    """POSTs to upstreams; every failure is an :class:`~gateway.failures.AttemptFailure`."""

    async def post(self, url: str, body: bytes, headers: dict[str, str],
                   timeout_s: float) -> tuple[int, str | None, bytes]:
        """(status, Retry-After header, body), all within ``timeout_s``."""
        ...

    async def open(self, url: str, body: bytes, headers: dict[str, str],
                   timeout_s: float) -> StreamedResponse:
        """Headers within ``timeout_s``; then each body read within ``timeout_s``."""
        ...

    async def close(self) -> None: ...
