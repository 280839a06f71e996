"""Toxics and proxy state changes applied to connections that are already open."""

from __future__ import annotations

import asyncio

import pytest

from chaos.proxy.control import ToxicSpec

from .helpers import connect, proxied_client


async def test_adding_and_removing_a_toxic_affects_an_open_connection(control, echo):
    client = await proxied_client(control, echo)
    assert await client.round_trip(b"a") < 0.1
    await control.add_toxic("svc", ToxicSpec(type="latency", attributes={"latency": 150}))
    assert await client.round_trip(b"b") >= 0.14
    await control.remove_toxic("svc", "latency_downstream")
    assert await client.round_trip(b"c") < 0.1
    client.close()


async def test_removing_a_toxic_hands_on_the_chunk_it_was_holding(control, echo):
    client = await proxied_client(
        control, echo, "svc", ToxicSpec(type="latency", attributes={"latency": 5000})
    )
    loop = asyncio.get_running_loop()
    start = loop.time()
    await client.send(b"held")
    await asyncio.sleep(0.1)
    await control.remove_toxic("svc", "latency_downstream")
    assert await client.recv_exactly(4) == b"held"
    assert loop.time() - start < 1.0
    client.close()


async def test_updating_a_toxic_applies_new_attributes(control, echo):
    client = await proxied_client(
        control, echo, "svc", ToxicSpec(type="latency", attributes={"latency": 300})
    )
    await control.update_toxic("svc", "latency_downstream", {"latency": 10})
    assert await client.round_trip(b"u") < 0.25
    client.close()


async def test_two_toxics_chain_in_order(control, echo):
    client = await proxied_client(
        control,
        echo,
        "svc",
        ToxicSpec(type="latency", attributes={"latency": 100}),
        ToxicSpec(type="latency", name="more", stream="upstream", attributes={"latency": 100}),
    )
    assert await client.round_trip(b"2") >= 0.19
    client.close()


async def test_disable_closes_connections_and_listener_then_reenable(control, echo):
    client = await proxied_client(control, echo)
    port = (await control.get_proxy("svc")).listen_port
    await control.disable("svc")
    assert await client.recv_all(timeout_s=2) == b""
    with pytest.raises(OSError):
        await connect(port)
    info = await control.enable("svc")
    assert info.listen_port == port
    again = await connect(port)
    await again.round_trip(b"back")
    again.close()
    client.close()


async def test_delete_closes_connections(control, echo):
    client = await proxied_client(control, echo)
    await control.delete_proxy("svc")
    assert await client.recv_all(timeout_s=2) == b""
    client.close()


async def test_reset_removes_toxics_from_open_connections(control, echo):
    client = await proxied_client(
        control, echo, "svc", ToxicSpec(type="latency", attributes={"latency": 300})
    )
    await control.reset()
    assert await client.round_trip(b"r") < 0.2
    client.close()


async def test_upstream_refusing_closes_the_client(control, upstream_factory):
    dead = await upstream_factory()
    dead.server.close()
    await dead.server.wait_closed()
    client = await proxied_client(control, dead)
    assert await client.recv_all(timeout_s=2) == b""
    client.close()


@pytest.mark.parametrize("toxic", [None, ToxicSpec(type="latency", attributes={"latency": 1})])
async def test_large_transfer_is_intact_with_back_pressure(control, echo, toxic):
    specs = [toxic] if toxic else []
    client = await proxied_client(control, echo, "svc", *specs)
    payload = bytes(range(256)) * 16_384  # 4 MiB, larger than the link's buffer mark
    sender = asyncio.ensure_future(client.send(payload))
    assert await client.recv_exactly(len(payload), timeout_s=20) == payload
    await sender
    client.close()
