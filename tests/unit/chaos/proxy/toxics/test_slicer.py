import asyncio
import random

from hypothesis import given
from hypothesis import strategies as st

from chaos.proxy.control import ToxicSpec
from chaos.proxy.toxics.slicer import cut_points

from ..helpers import proxied_client


@given(
    size=st.integers(0, 5000),
    average=st.integers(0, 300),
    variation=st.integers(0, 100),
    seed=st.integers(0, 2**32),
)
def test_cut_points_cover_the_chunk_in_order(size, average, variation, seed):
    points = cut_points(size, average, variation, random.Random(seed))
    assert points[-1] == size
    assert points == sorted(points)
    pieces = [b - a for a, b in zip([0, *points], points, strict=False)]
    if size > 0:
        assert all(p > 0 for p in pieces)
    if average > 0 and variation < average:
        assert max(pieces) <= average + variation


def test_cut_points_are_seeded():
    first = cut_points(10_000, 100, 40, random.Random(9))
    assert first == cut_points(10_000, 100, 40, random.Random(9))
    assert first != cut_points(10_000, 100, 40, random.Random(10))


async def test_slicer_delivers_everything_in_order_with_delays(control, echo):
    client = await proxied_client(
        control,
        echo,
        "svc",
        ToxicSpec(
            type="slicer", attributes={"average_size": 100, "size_variation": 20, "delay": 5000}
        ),
    )
    payload = bytes(range(256)) * 8  # 2048 bytes: ~20 pieces, 5 ms apart
    loop = asyncio.get_running_loop()
    start = loop.time()
    await client.send(payload)
    assert await client.recv_exactly(len(payload)) == payload
    assert loop.time() - start >= 0.05
    client.close()
