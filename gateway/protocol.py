"""The gateway's HTTP/1.1 server protocol: uvicorn's httptools protocol with read bounds.

uvicorn + httptools bound nothing on the read side of a connection: a fresh connection gets no
timer at all, the keep-alive timer is cancelled by the first byte of the next request (so a
client sending one byte at a time is never cut off), ``limit_concurrency`` acts only once a
request's headers are complete (a connection that never completes them is never counted as a
request), and neither llhttp nor uvicorn limits the size of the request head. So, per
connection and per process:

- ``header_timeout_ms``: from accept (or the first byte of a later request on a keep-alive
  connection) to the end of the headers → ``408`` and close;
- ``body_timeout_ms``: from the end of the headers to the end of the body, in total (a body
  trickled byte by byte is cut off too) → ``408`` and close;
- ``max_header_bytes``: request line + headers → ``431`` and close;
- ``max_connections`` per process: a connection accepted over the cap gets ``503`` +
  ``Retry-After`` and is closed at once (it never reaches the application);
- idle keep-alive connections close after ``keepalive_timeout_ms`` (uvicorn's own timer).

The answers are the gateway's usual OpenAI-style error JSON (so is uvicorn's own ``400`` for
bytes that are not HTTP: ``invalid_http``). Timers are armed only when a
request's head or body does not arrive in one read, so the common request (one packet) costs
no timer at all; a fresh connection costs one.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import orjson
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

# How long a connection we answered and half-closed may linger for the client to close it.
LINGER_S = 1.0

# Phases of the request being read on a connection.
_IDLE, _HEAD, _BODY = 0, 1, 2


@dataclass(frozen=True, slots=True)
class ReadLimits:
    """Read-side bounds of one server process (from ``limits`` in the gateway config)."""

    header_timeout_s: float = 10.0
    body_timeout_s: float = 30.0
    max_header_bytes: int = 65_536
    max_connections: int = 1024


def _answer(status: int, reason: bytes, code: str, message: str,
            extra: bytes = b"") -> bytes:
    body = orjson.dumps({"error": {"message": message, "type": "invalid_request_error"
                                   if status < 500 else "server_error",
                                   "code": code, "param": None}})
    return (b"HTTP/1.1 %d %s\r\ncontent-type: application/json\r\ncontent-length: %d\r\n"
            b"connection: close\r\n%s\r\n" % (status, reason, len(body), extra)) + body


def bounded_protocol(limits: ReadLimits) -> type[HttpToolsProtocol]:
    """A uvicorn ``http`` protocol class enforcing ``limits`` (pass it as ``Config(http=...)``)."""

    header_408 = _answer(408, b"Request Timeout", "request_timeout",
                         f"request headers not received within {limits.header_timeout_s:g} s "
                         "(limits.header_timeout_ms)")
    body_408 = _answer(408, b"Request Timeout", "request_timeout",
                       f"request body not received within {limits.body_timeout_s:g} s "
                       "(limits.body_timeout_ms)")
    too_big_431 = _answer(431, b"Request Header Fields Too Large", "headers_too_large",
                          f"request line and headers over {limits.max_header_bytes} bytes "
                          "(limits.max_header_bytes)")
    busy_503 = _answer(503, b"Service Unavailable", "too_many_connections",
                       f"the gateway holds its maximum of {limits.max_connections} connections "
                       "(limits.max_connections); retry", b"retry-after: 1\r\n")

    class BoundedHttpToolsProtocol(HttpToolsProtocol):
        __doc__ = HttpToolsProtocol.__doc__

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._phase = _IDLE
            self._head_bytes = 0
            self._read_timer: asyncio.TimerHandle | None = None
            self._done = False  # answered by us: what the client still sends is dropped

        # -- connection ---------------------------------------------------------------------
        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            if len(self.connections) > limits.max_connections:
                self._close_with(busy_503)
                return
            self._arm(limits.header_timeout_s)

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def data_received(self, data: bytes) -> None:
            if self._done:
                return
            super().data_received(data)
            phase = self._phase
            if phase == _HEAD:
                # every byte of a read that left the head incomplete belongs to the head
                self._head_bytes += len(data)
                if self._head_bytes > limits.max_header_bytes:
                    self._close_with(too_big_431)
                elif self._read_timer is None:
                    self._arm(limits.header_timeout_s)
            elif phase == _BODY and self._read_timer is None:
                self._arm(limits.body_timeout_s)

        def send_400_response(self, msg: str) -> None:
            # uvicorn's answer to bytes that are not HTTP, as the gateway's error JSON
            self._close_with(_answer(400, b"Bad Request", "invalid_http", msg))

        # -- parser callbacks ---------------------------------------------------------------
        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._phase = _HEAD
            self._head_bytes = 0

        def on_headers_complete(self) -> None:
            self._phase = _BODY
            self._disarm()
            super().on_headers_complete()

        def on_message_complete(self) -> None:
            self._phase = _IDLE
            self._disarm()
            super().on_message_complete()

        # -- timers -------------------------------------------------------------------------
        def _arm(self, seconds: float) -> None:
            self._read_timer = self.loop.call_later(seconds, self._read_timed_out)

        def _disarm(self) -> None:
            timer = self._read_timer
            if timer is not None:
                timer.cancel()
                self._read_timer = None

        def _read_timed_out(self) -> None:
            self._read_timer = None
            if self._done:  # the client did not close after our answer: drop it now
                self.transport.abort()
            elif self._phase == _BODY:
                self._close_with(body_408)
            elif self.cycle is not None and not self.cycle.response_complete:
                # the next request's head is pending while this one's answer is still being
                # sent (a long stream): it gets another period once that answer is done
                self._arm(limits.header_timeout_s)
            else:  # a fresh connection that sent nothing, or a head that never ended
                self._close_with(header_408)

        def _close_with(self, answer: bytes) -> None:
            """Answer (unless a response already started) and end the connection; the
            request's ASGI task, if any, sees ``http.disconnect`` at once.

            Half-close, then drop what the client still sends until it closes (at most
            :data:`LINGER_S`): closing a socket with unread input makes the kernel send a reset,
            which can destroy the answer before the client reads it."""
            self._disarm()
            self._phase = _IDLE
            self._done = True
            transport = self.transport
            if transport is None or transport.is_closing():
                return
            cycle = self.cycle
            if cycle is None or cycle.response_complete or not cycle.response_started:
                transport.write(answer)
            if cycle is not None and not cycle.response_complete:
                cycle.disconnected = True
                cycle.message_event.set()
            if transport.can_write_eof():
                transport.write_eof()  # the client's EOF then closes it (eof_received)
                self._arm(LINGER_S)
            else:  # pragma: no cover - TCP transports can always half-close
                transport.close()

    return BoundedHttpToolsProtocol
