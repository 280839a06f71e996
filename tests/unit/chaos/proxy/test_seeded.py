"""Randomness comes from the server's seed: same seed, same faults."""

from __future__ import annotations

import asyncio

from chaos.proxy.control import ProxyControl, ToxicSpec
from chaos.proxy.server import FaultProxyServer

from .helpers import connect


async def _which_connections_are_delayed(seed: int, echo_address: str) -> list[bool]:
    async with FaultProxyServer(seed=seed) as server, ProxyControl(server.api_url) as control:
        info = await control.create_proxy("svc", upstream=echo_address)
        await control.add_toxic(
            "svc", ToxicSpec(type="latency", toxicity=0.5, attributes={"latency": 150})
        )
        clients = [await connect(info.listen_port) for _ in range(10)]
        times = await asyncio.gather(*(c.round_trip(b"s") for c in clients))
        for c in clients:
            c.close()
        return [t >= 0.14 for t in times]


async def test_toxicity_rolls_repeat_with_the_seed(echo):
    first = await _which_connections_are_delayed(7, echo.address)
    assert first == await _which_connections_are_delayed(7, echo.address)
    assert 0 < sum(first) < len(first)  # toxicity 0.5 really is a mix
    others = [await _which_connections_are_delayed(s, echo.address) for s in (8, 9)]
    assert any(o != first for o in others)


async def test_server_draws_and_exposes_a_seed_when_none_is_given():
    async with FaultProxyServer() as server, ProxyControl(server.api_url) as control:
        assert isinstance(server.seed, int)
        assert (await control.version())["seed"] == server.seed
