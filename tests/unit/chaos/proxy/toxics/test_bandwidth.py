import asyncio

from chaos.proxy.control import ToxicSpec

from ..helpers import proxied_client


async def test_bandwidth_limits_throughput(control, echo):
    client = await proxied_client(
        control, echo, "svc", ToxicSpec(type="bandwidth", attributes={"rate": 100})
    )
    payload = b"b" * 40_000  # 40 KB at 100 KB/s: about 0.4 s
    loop = asyncio.get_running_loop()
    start = loop.time()
    await client.send(payload)
    assert await client.recv_exactly(len(payload)) == payload
    assert 0.3 <= loop.time() - start < 2.0
    client.close()


async def test_bandwidth_zero_rate_is_unlimited(control, echo):
    client = await proxied_client(
        control, echo, "svc", ToxicSpec(type="bandwidth", attributes={"rate": 0})
    )
    assert await client.round_trip(b"z" * 100_000) < 0.5
    client.close()
