"""Factories for simulated upstreams and an aiohttp client session (all bound to 127.0.0.1)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest

from chaos.providers import SimulatedUpstream, MockUpstreamSpec

MakeUpstream = Callable[..., Awaitable[SimulatedUpstream]]


@pytest.fixture
async def make_upstream() -> AsyncIterator[MakeUpstream]:
    started: list[SimulatedUpstream] = []

    async def factory(**overrides: Any) -> SimulatedUpstream:
        fields: dict[str, Any] = {"name": "private-eu", "model": "llama-3.1-70b-private-eu"}
        fields.update(overrides)
        upstream = SimulatedUpstream(MockUpstreamSpec(**fields))
        await upstream.start()
        started.append(upstream)
        return upstream

    yield factory
    for upstream in started:
        await upstream.stop()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as client:
        yield client
