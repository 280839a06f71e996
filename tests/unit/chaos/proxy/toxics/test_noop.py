from chaos.proxy.control import ToxicSpec

from ..helpers import proxied_client


async def test_noop_passes_every_byte_in_order(control, echo):
    client = await proxied_client(control, echo, "svc", ToxicSpec(type="noop"))
    payload = bytes(range(256)) * 400
    await client.send(payload)
    assert await client.recv_exactly(len(payload)) == payload
    toxics = await control.toxics("svc")
    assert [(t.type, t.attributes) for t in toxics] == [("noop", {})]
    client.close()
