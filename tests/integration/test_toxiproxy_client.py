"""The real ``toxiproxy-python`` client (0.1.1) drives the embedded server.

The client is synchronous and keeps its API address in class attributes, so the server runs on
its own event loop in a background thread and the client's address is restored afterwards.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator

import pytest
from toxiproxy import Toxiproxy
from toxiproxy.api import APIConsumer
from toxiproxy.exceptions import InvalidToxic, NotFound, ProxyExists

from chaos.proxy.server import FaultProxyServer


class _Background:
    """An event loop thread running a FaultProxyServer and a TCP echo server."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.server = FaultProxyServer(seed=99)
        self.run(self.server.start())
        self.echo = self.run(asyncio.start_server(self._echo, "127.0.0.1", 0))
        self.echo_address = f"127.0.0.1:{self.echo.sockets[0].getsockname()[1]}"

    @staticmethod
    async def _echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    def run(self, coro):  # noqa: ANN001, ANN201
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=10)

    def close(self) -> None:
        self.echo.close()
        self.run(self.server.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)
        self.loop.close()


@pytest.fixture
def toxiproxy() -> Iterator[tuple[Toxiproxy, _Background]]:
    background = _Background()
    saved = (APIConsumer.host, APIConsumer.port)
    host, port = background.server.api_url.removeprefix("http://").rsplit(":", 1)
    client = Toxiproxy()
    client.update_api_consumer(host, int(port))
    try:
        yield client, background
    finally:
        APIConsumer.host, APIConsumer.port = saved
        background.close()


def _round_trip(listen: str, data: bytes = b"ping") -> tuple[bytes, float]:
    host, port = listen.rsplit(":", 1)
    start = time.monotonic()
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(data)
        got = b""
        while len(got) < len(data):
            chunk = sock.recv(1024)
            if not chunk:
                break
            got += chunk
    return got, time.monotonic() - start


def test_every_client_call_works(toxiproxy):
    client, background = toxiproxy
    assert client.running()
    assert b'"seed":99' in client.version()

    proxy = client.create(upstream=background.echo_address, name="echo")
    assert proxy.enabled is True
    assert proxy.listen.startswith("127.0.0.1:") and not proxy.listen.endswith(":0")
    assert _round_trip(proxy.listen)[0] == b"ping"
    with pytest.raises(ProxyExists):
        client.create(upstream=background.echo_address, name="echo")

    assert set(client.proxies()) == {"echo"}
    fetched = client.get_proxy("echo")
    assert fetched.listen == proxy.listen and fetched.upstream == background.echo_address
    assert client.get_proxy("missing") is None

    proxy.add_toxic(type="latency", attributes={"latency": 150})
    proxy.add_toxic(type="bandwidth", stream="upstream", name="bw", toxicity=1.0,
                    attributes={"rate": 1000})
    toxics = proxy.toxics()
    assert set(toxics) == {"latency_downstream", "bw"}
    assert toxics["bw"].stream == "upstream" and toxics["bw"].attributes == {"rate": 1000}
    assert proxy.get_toxic("latency_downstream").attributes["latency"] == 150
    data, elapsed = _round_trip(proxy.listen)
    assert data == b"ping" and elapsed >= 0.14
    with pytest.raises(ProxyExists):
        proxy.add_toxic(type="latency")
    with pytest.raises(InvalidToxic):
        proxy.add_toxic(type="no_such_toxic")
    with pytest.raises(InvalidToxic):
        proxy.add_toxic(type="latency", stream="sideways")

    assert proxy.destroy_toxic("latency_downstream") is True
    with pytest.raises(NotFound):
        proxy.destroy_toxic("latency_downstream")
    assert _round_trip(proxy.listen)[1] < 0.14

    proxy.disable()
    assert proxy.enabled is False and client.get_proxy("echo").enabled is False
    with pytest.raises(OSError):
        _round_trip(proxy.listen)
    proxy.enable()
    assert _round_trip(proxy.listen)[0] == b"ping"  # same port again

    with proxy.down():
        with pytest.raises(OSError):
            _round_trip(proxy.listen)
    assert _round_trip(proxy.listen)[0] == b"ping"

    proxy.disable()
    assert client.reset() is True
    reset = client.get_proxy("echo")
    assert reset.enabled is True and reset.toxics() == {}

    assert client.destroy(proxy) is True
    assert client.proxies() == {}
    with pytest.raises(NotFound):
        proxy.destroy()


def test_populate_and_destroy_all(toxiproxy):
    client, background = toxiproxy
    created = client.populate(
        [
            {"name": "one", "upstream": background.echo_address, "listen": "127.0.0.1:0"},
            {"name": "two", "upstream": background.echo_address, "listen": "127.0.0.1:0"},
        ]
    )
    assert [p.name for p in created] == ["one", "two"]
    listens = {name: p.listen for name, p in client.proxies().items()}
    # Same upstream and listen as the existing proxy: populate keeps it.
    again = client.populate(
        [{"name": "one", "upstream": background.echo_address, "listen": listens["one"]}]
    )
    assert again == [] and client.get_proxy("one").listen == listens["one"]
    for listen in listens.values():
        assert _round_trip(listen)[0] == b"ping"
    client.destroy_all()
    assert client.proxies() == {}
