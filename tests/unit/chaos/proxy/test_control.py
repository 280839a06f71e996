"""ProxyControl: typed answers and errors from any Toxiproxy-compatible API."""

from __future__ import annotations

import socket

import pytest

from chaos.proxy.control import ProxyControl, ProxySpec, ToxicSpec, fault_proxy
from chaos.proxy.errors import (
    ProxyBadRequestError,
    ProxyConflictError,
    ProxyNotFoundError,
    ProxyUnreachableError,
)


async def test_round_trip_of_every_call(control, echo):
    created = await control.create_proxy("svc", upstream=echo.address)
    assert created.listen_host == "127.0.0.1" and created.listen_port > 0
    toxic = await control.add_toxic("svc", ToxicSpec(type="latency", attributes={"latency": 5}))
    assert toxic.name == "latency_downstream"
    assert (await control.update_toxic("svc", toxic.name, {"jitter": 1})).attributes["jitter"] == 1
    assert [t.name for t in await control.toxics("svc")] == [toxic.name]
    assert (await control.get_proxy("svc")).toxics[0].type == "latency"
    assert (await control.disable("svc")).enabled is False
    assert (await control.enable("svc")).listen_port == created.listen_port
    await control.remove_toxic("svc", toxic.name)
    populated = await control.populate([ProxySpec(name="p2", upstream=echo.address)])
    assert populated[0].name == "p2"
    assert set(await control.proxies()) == {"svc", "p2"}
    await control.reset()
    await control.delete_proxy("p2")
    assert set(await control.proxies()) == {"svc"}


async def test_errors_are_typed(control, echo):
    await control.create_proxy("svc", upstream=echo.address)
    with pytest.raises(ProxyConflictError, match="proxy already exists"):
        await control.create_proxy("svc", upstream=echo.address)
    with pytest.raises(ProxyNotFoundError, match="proxy not found"):
        await control.get_proxy("missing")
    with pytest.raises(ProxyBadRequestError, match="invalid toxic type") as info:
        await control.add_toxic("svc", ToxicSpec(type="nope"))
    assert info.value.status == 400 and info.value.exit_code == 2


async def test_unreachable_api():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with ProxyControl(f"http://127.0.0.1:{port}", timeout_s=2) as control:
        with pytest.raises(ProxyUnreachableError, match="unreachable"):
            await control.version()


async def test_fault_proxy_embedded_and_by_url(server):
    async with fault_proxy(seed=5) as embedded:
        assert embedded.seed == 5
        assert (await embedded.version())["seed"] == 5
    async with fault_proxy(server.api_url) as remote:
        assert remote.seed is None  # a real Toxiproxy has no seed to record
        assert (await remote.version())["server"] == "govchaos"
