import asyncio

from chaos.proxy.control import ToxicSpec

from ..helpers import proxied_client


async def test_latency_delays_each_response(control, echo):
    client = await proxied_client(
        control, echo, "svc", ToxicSpec(type="latency", attributes={"latency": 120})
    )
    for _ in range(2):
        elapsed = await client.round_trip(b"ping")
        assert 0.11 <= elapsed < 1.0
    client.close()


async def test_latency_upstream_stream_and_jitter_stays_in_bounds(control, echo):
    client = await proxied_client(
        control,
        echo,
        "svc",
        ToxicSpec(type="latency", stream="upstream", attributes={"latency": 60, "jitter": 40}),
    )
    times = [await client.round_trip(b"x") for _ in range(4)]
    assert all(0.015 <= t < 0.6 for t in times)
    client.close()


async def test_latency_is_not_cumulative_for_pipelined_chunks(control, echo):
    client = await proxied_client(
        control, echo, "svc", ToxicSpec(type="latency", attributes={"latency": 150})
    )
    loop = asyncio.get_running_loop()
    start = loop.time()
    for i in range(5):
        await client.send(b"%d" % i)
        await asyncio.sleep(0.01)
    assert await client.recv_exactly(5) == b"01234"
    # Five chunks each delayed 150 ms from arrival: ~0.2 s in all, not 0.75 s.
    assert loop.time() - start < 0.6
    client.close()
