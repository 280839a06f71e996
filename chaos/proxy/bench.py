"""How much latency the fault proxy itself adds, with no toxics: a hook for bench/harness.py.

>>> import asyncio
>>> result = asyncio.run(measure_overhead(samples=200, warmup=20))
>>> result.samples, result.proxied_p50_us >= 0
(200, True)

Method: a TCP echo server and a proxy in front of it run on the caller's event loop; a client
thread with blocking sockets keeps one connection to each and times request/response round trips
of ``payload_bytes``, alternating direct and proxied (and which goes first) so that drift in the
machine's load hits both equally. The overhead is the difference of the two medians (and of the
two 99th percentiles); a proxied round trip crosses the proxy twice, so this is the cost of
both directions.
"""

from __future__ import annotations

import asyncio
import socket
import statistics
import time

from pydantic import BaseModel, ConfigDict

from chaos.proxy.server import FaultProxyServer


class OverheadResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    samples: int
    payload_bytes: int
    direct_p50_us: float
    proxied_p50_us: float
    direct_p99_us: float
    proxied_p99_us: float
    proxy_overhead_p50_us: float
    proxy_overhead_p99_us: float


class _Echo(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.transport.write(data)  # type: ignore[attr-defined]


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _round_trip(sock: socket.socket, payload: bytes) -> float:
    start = time.perf_counter_ns()
    sock.sendall(payload)
    got = 0
    while got < len(payload):
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("echo connection closed during the benchmark")
        got += len(chunk)
    return (time.perf_counter_ns() - start) / 1000.0


def _client(direct: int, proxied: int, samples: int, warmup: int, payload: bytes) -> tuple:
    socks = []
    for port in (direct, proxied):
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        socks.append(sock)
    direct_us: list[float] = []
    proxied_us: list[float] = []
    try:
        for i in range(warmup + samples):
            order = (0, 1) if i % 2 == 0 else (1, 0)
            for which in order:
                elapsed = _round_trip(socks[which], payload)
                if i >= warmup:
                    (direct_us if which == 0 else proxied_us).append(elapsed)
    finally:
        for sock in socks:
            sock.close()
    return direct_us, proxied_us


async def measure_overhead(
    samples: int = 2000, warmup: int = 200, payload_bytes: int = 256, seed: int = 0
) -> OverheadResult:
    """Measure the proxy's own added round-trip latency with no toxics.

    Bounded: ``samples + warmup`` round trips on each path, each with a 10 s socket timeout.

    Raises:
        ConnectionError / OSError: the loopback echo could not be reached.
    """
    if samples < 1:
        raise ValueError("samples must be >= 1")
    loop = asyncio.get_running_loop()
    echo = await loop.create_server(_Echo, "127.0.0.1", 0)
    echo_port = echo.sockets[0].getsockname()[1]
    server = FaultProxyServer(seed=seed)
    try:
        proxy = await server.collection.create(
            {"name": "bench-echo", "upstream": f"127.0.0.1:{echo_port}", "listen": "127.0.0.1:0"}
        )
        proxy_port = int(proxy.listen.rpartition(":")[2])
        payload = b"x" * payload_bytes
        direct_us, proxied_us = await asyncio.to_thread(
            _client, echo_port, proxy_port, samples, warmup, payload
        )
    finally:
        await server.stop()
        echo.close()
    d50, p50 = statistics.median(direct_us), statistics.median(proxied_us)
    d99, p99 = _quantile(direct_us, 0.99), _quantile(proxied_us, 0.99)
    return OverheadResult(
        samples=samples,
        payload_bytes=payload_bytes,
        direct_p50_us=round(d50, 1),
        proxied_p50_us=round(p50, 1),
        direct_p99_us=round(d99, 1),
        proxied_p99_us=round(p99, 1),
        proxy_overhead_p50_us=round(p50 - d50, 1),
        proxy_overhead_p99_us=round(p99 - d99, 1),
    )


if __name__ == "__main__":  # python -m chaos.proxy.bench
    print(asyncio.run(measure_overhead()).model_dump_json(indent=2))
