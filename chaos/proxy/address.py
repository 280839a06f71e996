"""``host:port`` addresses as the API receives them, and how a listen address is compared.

Toxiproxy decides whether ``populate`` or ``PATCH`` changes a proxy's ``listen`` by resolving
the new address first (``net.ResolveTCPAddr``) and comparing the result with the bound
address: ``localhost:7070`` is the same listen as a proxy bound on ``127.0.0.1:7070``, so the
proxy is kept with its toxics and live connections. :func:`resolve_listen` does the same with
the hosts this server binds (an empty host and ``localhost`` bind ``127.0.0.1``; other names are
resolved, IPv4 first, like Go's resolver for ``tcp``).

>>> split_address("127.0.0.1:8474", "listen")
('127.0.0.1', 8474)
>>> split_address("[::1]:80", "listen")
('::1', 80)
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket

from chaos.proxy.errors import BAD_REQUEST_BODY


def split_address(address: str, field: str) -> tuple[str, int]:
    """``"host:port"`` (or ``"[v6]:port"``) → ``(host, port)``.

    Raises:
        ApiError: 400 when the address has no valid port.
    """
    host, sep, port_text = address.rpartition(":")
    if not sep or not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise BAD_REQUEST_BODY.with_detail(f"{field} must be host:port, got {address!r}")
    host = host.strip("[]")
    return host, int(port_text)


def listen_host(host: str) -> str:
    """The host a listener binds for ``host``.

    Toxiproxy binds every interface for an empty host; this server stays on loopback (fail
    closed), and binds ``localhost`` as ``127.0.0.1`` (Go's resolver prefers IPv4 for tcp).
    """
    if host in ("", "localhost"):
        return "127.0.0.1"
    return host


def format_address(host: str, port: int) -> str:
    """``host:port``, with IPv6 hosts in brackets (Go's ``TCPAddr.String()``)."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


async def resolve_listen(address: str) -> str:
    """The address a listener for ``address`` would have, for comparing with a bound one.

    Raises:
        ApiError: 400 when the address has no valid port or its host does not resolve.
    """
    host, port = split_address(address, "listen")
    host = listen_host(host)
    try:
        return format_address(str(ipaddress.ip_address(host)), port)
    except ValueError:
        pass  # a host name: resolve it
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise BAD_REQUEST_BODY.with_detail(
            f"listen {address!r}: cannot resolve {host!r}: {exc.strerror or exc}"
        ) from exc
    infos.sort(key=lambda info: info[0] != socket.AF_INET)  # IPv4 first, stable otherwise
    return format_address(str(infos[0][4][0]), port)
