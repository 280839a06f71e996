import asyncio

from chaos.proxy.control import ToxicSpec

from ..helpers import connect, proxied_client


async def test_timeout_swallows_data_then_closes(control, echo):
    client = await proxied_client(
        control, echo, "svc", ToxicSpec(type="timeout", attributes={"timeout": 200})
    )
    loop = asyncio.get_running_loop()
    start = loop.time()
    await client.send(b"lost")
    assert await client.recv_all() == b""
    assert 0.18 <= loop.time() - start < 2.0
    client.close()


async def test_timeout_zero_hangs_until_removed_then_closes(control, echo):
    client = await proxied_client(
        control, echo, "svc", ToxicSpec(type="timeout", attributes={"timeout": 0})
    )
    await client.send(b"held")
    read = asyncio.ensure_future(client.reader.read(100))
    await asyncio.sleep(0.3)
    assert not read.done()  # hanging: no data, no close
    await control.remove_toxic("svc", "timeout_downstream")
    # As in Toxiproxy, removing the timeout closes the held connection...
    assert await asyncio.wait_for(read, 2) == b""
    client.close()
    # ...and new connections flow normally.
    fresh = await connect((await control.get_proxy("svc")).listen_port)
    await fresh.round_trip(b"ok")
    fresh.close()
