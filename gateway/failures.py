"""How one attempt on one upstream can fail: the failover vocabulary and its two exceptions.

    AttemptFailure   the attempt failed; the router may fail over. ``reason`` is one of
                     ``connect_error``, ``timeout``, ``http_5xx``, ``http_429``, ``http_4xx``,
                     ``malformed``, ``empty``, ``schema_invalid``, ``stream_error`` — the
                     vocabulary of ``X-Govchaos-Failovers`` and of audit ``failover_reason``
    ClientFault      the upstream rejected the request itself (400/422): the same request would
                     fail everywhere, so its answer goes back to the client instead

Transports translate their own exceptions into these at the boundary (:mod:`gateway.transport`);
:mod:`gateway.attempt` and :mod:`gateway.sse` classify statuses and bodies.
"""

from __future__ import annotations

CONNECT_ERROR, TIMEOUT, STREAM_ERROR = "connect_error", "timeout", "stream_error"
# Upstream statuses that are the client's fault: the same request would fail everywhere, so
# they are returned to the client instead of failing over.
CLIENT_STATUSES = frozenset({400, 422})
TIMEOUT_DETAIL = "no answer within the attempt timeout"


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


def status_failure(status: int, retry_after: str | None) -> AttemptFailure:
    """The failure a non-200, non-client-fault status stands for."""
    if status == 429:
        return AttemptFailure("http_429", status=status, retry_after_s=parse_retry_after(retry_after))
    if status >= 500:
        return AttemptFailure("http_5xx", status=status, retry_after_s=parse_retry_after(retry_after))
    return AttemptFailure("http_4xx", status=status)


def check_status(status: int, retry_after: str | None, raw: bytes) -> None:
    """Raises ClientFault (400/422) or AttemptFailure for any status but 200."""
    if status != 200:
        if status in CLIENT_STATUSES:
            raise ClientFault(status, raw)
        raise status_failure(status, retry_after)
