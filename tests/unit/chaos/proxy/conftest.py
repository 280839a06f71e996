"""Fixtures for the fault proxy tests: an echo upstream, a started server, a control client."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from chaos.proxy.control import ProxyControl
from chaos.proxy.server import FaultProxyServer

from .helpers import Upstream

SEED = 1234


async def _echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        writer.close()


@pytest.fixture
async def upstream_factory() -> AsyncIterator[Callable[..., Awaitable[Upstream]]]:
    servers: list[asyncio.Server] = []

    async def make(handler: Callable[..., Awaitable[None]] = _echo) -> Upstream:
        server = await asyncio.start_server(handler, "127.0.0.1", 0)
        servers.append(server)
        return Upstream(server)

    yield make
    for server in servers:
        server.close()


@pytest.fixture
async def echo(upstream_factory: Callable[..., Awaitable[Upstream]]) -> Upstream:
    return await upstream_factory()


@pytest.fixture
async def server() -> AsyncIterator[FaultProxyServer]:
    async with FaultProxyServer(seed=SEED) as started:
        yield started


@pytest.fixture
async def control(server: FaultProxyServer) -> AsyncIterator[ProxyControl]:
    async with ProxyControl(server.api_url, seed=server.seed) as client:
        yield client


