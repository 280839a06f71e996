import asyncio

import pytest

from chaos.proxy.control import ToxicSpec

from ..helpers import proxied_client


async def test_reset_peer_sends_rst_after_timeout(control, echo):
    client = await proxied_client(
        control, echo, "svc", ToxicSpec(type="reset_peer", attributes={"timeout": 100})
    )
    loop = asyncio.get_running_loop()
    start = loop.time()
    await client.send(b"hello")
    with pytest.raises(ConnectionResetError):
        await asyncio.wait_for(client.reader.read(100), 2)
    assert loop.time() - start >= 0.09
    client.close()


async def test_reset_peer_upstream_stream_resets_immediately(control, echo):
    client = await proxied_client(
        control, echo, "svc", ToxicSpec(type="reset_peer", stream="upstream")
    )
    await client.send(b"hello")
    with pytest.raises(ConnectionResetError):
        await asyncio.wait_for(client.reader.read(100), 2)
    client.close()
