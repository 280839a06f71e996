import asyncio

from chaos.proxy.control import ToxicSpec

from ..helpers import proxied_client


async def _greet_and_close(reader, writer):
    writer.write(b"bye")
    await writer.drain()
    writer.close()


async def test_slow_close_delays_the_close_not_the_data(control, upstream_factory):
    upstream = await upstream_factory(_greet_and_close)
    client = await proxied_client(
        control, upstream, "svc", ToxicSpec(type="slow_close", attributes={"delay": 300})
    )
    loop = asyncio.get_running_loop()
    start = loop.time()
    assert await client.recv_exactly(3) == b"bye"
    assert loop.time() - start < 0.25
    assert await client.recv_all() == b""
    assert loop.time() - start >= 0.28
    client.close()
