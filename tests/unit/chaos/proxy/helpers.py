"""Helpers for the fault proxy tests: bounded client connections through a proxy."""

from __future__ import annotations

import asyncio

from chaos.proxy.control import ProxyControl, ToxicSpec


class Upstream:
    """A loopback TCP server the proxy forwards to."""

    def __init__(self, server: asyncio.Server) -> None:
        self.server = server
        self.port: int = server.sockets[0].getsockname()[1]
        self.address = f"127.0.0.1:{self.port}"


class Client:
    """A client connection through a proxy with bounded reads."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def recv_exactly(self, n: int, timeout_s: float = 5.0) -> bytes:
        return await asyncio.wait_for(self.reader.readexactly(n), timeout_s)

    async def recv_all(self, timeout_s: float = 5.0) -> bytes:
        """Everything until EOF."""
        return await asyncio.wait_for(self.reader.read(), timeout_s)

    async def round_trip(self, data: bytes, timeout_s: float = 5.0) -> float:
        loop = asyncio.get_running_loop()
        start = loop.time()
        await self.send(data)
        got = await self.recv_exactly(len(data), timeout_s)
        assert got == data
        return loop.time() - start

    def close(self) -> None:
        self.writer.close()


async def connect(port: int) -> Client:
    reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 5)
    return Client(reader, writer)


async def proxied_client(
    control: ProxyControl, upstream: Upstream, name: str = "svc", *toxics: ToxicSpec
) -> Client:
    """Create proxy ``name`` in front of ``upstream`` with ``toxics`` and connect through it."""
    info = await control.create_proxy(name, upstream=upstream.address)
    for spec in toxics:
        await control.add_toxic(name, spec)
    return await connect(info.listen_port)
