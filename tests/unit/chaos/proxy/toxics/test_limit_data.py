from chaos.proxy.control import ToxicSpec

from ..helpers import connect, proxied_client


async def test_limit_data_passes_n_bytes_then_closes(control, echo):
    client = await proxied_client(
        control, echo, "svc", ToxicSpec(type="limit_data", attributes={"bytes": 10})
    )
    await client.send(b"0123456789abcdefghij")
    assert await client.recv_all() == b"0123456789"
    client.close()


async def test_limit_data_counts_across_chunks_and_updates(control, echo):
    client = await proxied_client(
        control, echo, "svc", ToxicSpec(type="limit_data", attributes={"bytes": 8})
    )
    assert await client.round_trip(b"abcd") >= 0
    await control.update_toxic("svc", "limit_data_downstream", {"bytes": 12})
    # 4 bytes already counted on this connection; 8 more are allowed after the update.
    await client.send(b"efghijklmnop")
    assert await client.recv_all() == b"efghijkl"
    client.close()
    fresh = await connect((await control.get_proxy("svc")).listen_port)
    await fresh.send(b"x" * 20)
    assert await fresh.recv_all() == b"x" * 12
    fresh.close()
