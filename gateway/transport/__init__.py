"""Transports: how the gateway talks HTTP to upstreams (config ``upstream_client``).

    base.py     :class:`Transport` (``post``, ``open``, ``close``) and :class:`StreamedResponse`
    http1.py    :class:`Http1Transport` — ``fast``, the default (asyncio Protocols + httptools)
    aiohttp.py  :class:`AiohttpTransport` — ``aiohttp`` (a shared ``ClientSession``)
    mock.py     :class:`MockTransport` — answers from a handler function (tests, no sockets)
"""

from __future__ import annotations

from gateway.transport.aiohttp import AiohttpTransport
from gateway.transport.base import StreamedResponse, Transport
from gateway.transport.http1 import Http1Transport
from gateway.transport.mock import MockResponse, MockTransport, TransportRequest

__all__ = [
    "TRANSPORTS", "AiohttpTransport", "Http1Transport", "MockResponse", "MockTransport",
    "StreamedResponse", "Transport", "TransportRequest", "new_transport",
]

# The values of config ``upstream_client``.
TRANSPORTS: dict[str, type[Transport]] = {"fast": Http1Transport, "aiohttp": AiohttpTransport}


def new_transport(kind: str = "fast") -> Transport:
    """The configured transport. Raises KeyError for an unknown kind (config validates it)."""
    return TRANSPORTS[kind]()
