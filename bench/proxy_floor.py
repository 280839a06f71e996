"""The floor under bench/gateway.py: what a Python HTTP/1.1 proxy adds with no governance at all.

A bare uvloop proxy (request and answer framed by Content-Length, forwarded over one keep-alive
upstream connection per client connection; no JSON, no policy, no audit, no metrics) between the
same closed-loop clients and the same mock upstream as bench/gateway.py, measured the same way
(direct and through the proxy interleaved, repeated). Read bench/gateway.py's added latency
against it: what the gateway adds above this floor is the price of its governance and of its
HTTP layer; no Python gateway on this machine adds less than this.

    .venv/bin/python bench/proxy_floor.py [--json FILE] [--seconds 2.0] [--repeats 3]

JSON keys: as bench/gateway.py's (overhead_p50_ms_cN, overhead_p99_ms_cN, throughput_ratio_cN,
gateway_cpu_us_per_request_cN — here the proxy's — for N in 1, 8, 32).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import subprocess
import sys
import tempfile
from pathlib import Path

# bench/gateway.py (the mock, the clients, the figures), by path: not the `gateway` package
_spec = importlib.util.spec_from_file_location(
    "bench_gateway", Path(__file__).resolve().parent / "gateway.py")
assert _spec is not None and _spec.loader is not None
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)


def _frame_end(buf: bytearray) -> int | None:
    """Where the first HTTP/1.1 message in ``buf`` ends (None: not all of it is here)."""
    head_end = buf.find(b"\r\n\r\n")
    if head_end < 0:
        return None
    length = 0
    for line in bytes(buf[:head_end]).split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    end = head_end + 4 + length
    return end if len(buf) >= end else None


class _Framed(asyncio.Protocol):
    """Buffers a connection's bytes and hands each whole HTTP/1.1 message to :meth:`message`."""

    def __init__(self) -> None:
        self.buf = bytearray()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while (end := _frame_end(self.buf)) is not None:
            message = bytes(self.buf[:end])
            del self.buf[:end]
            self.message(message)

    def message(self, message: bytes) -> None:
        raise NotImplementedError


class _Upstream(_Framed):
    def __init__(self) -> None:
        super().__init__()
        self.answer: asyncio.Future[bytes] | None = None

    def message(self, message: bytes) -> None:
        if self.answer is not None and not self.answer.done():
            self.answer.set_result(message)


class _Client(_Framed):
    def __init__(self, upstream_port: int) -> None:
        super().__init__()
        self.upstream_port = upstream_port
        self.up: _Upstream | None = None

    def message(self, message: bytes) -> None:
        # closed-loop clients: one request at a time per connection
        asyncio.ensure_future(self._forward(message))

    async def _forward(self, request: bytes) -> None:
        loop = asyncio.get_running_loop()
        if self.up is None:
            _, self.up = await loop.create_connection(_Upstream, "127.0.0.1", self.upstream_port)
        self.up.answer = loop.create_future()
        self.up.transport.write(request)  # type: ignore[union-attr]
        answer = await self.up.answer
        self.transport.write(answer)  # type: ignore[union-attr]


def run_proxy(upstream_port: int, port_file: str) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(lambda: _Client(upstream_port), "127.0.0.1", 0)
        Path(port_file).write_text(str(server.sockets[0].getsockname()[1]))
        await asyncio.Event().wait()  # until SIGTERM

    try:
        import uvloop
        uvloop.run(main())
    except ImportError:
        asyncio.run(main())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--json", type=Path, help="write the figures here")
    ap.add_argument("--seconds", type=float, default=2.0, help="per measurement window")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--proxy", nargs=2, help=argparse.SUPPRESS)  # internal: UPSTREAM_PORT FILE
    args = ap.parse_args(argv)
    if args.proxy:
        run_proxy(int(args.proxy[0]), args.proxy[1])
        return 0
    with tempfile.TemporaryDirectory(prefix="govchaos-floor-") as tmp_s:
        tmp = Path(tmp_s)
        procs: list[subprocess.Popen] = []
        try:
            mock = subprocess.Popen([sys.executable, bench.__file__, "--mock", str(tmp / "port")])
            procs.append(mock)
            port = int(bench.wait_for_file(tmp / "port", mock, 20))
            proxy = subprocess.Popen([sys.executable, __file__, "--proxy", str(port),
                                      str(tmp / "proxy")])
            procs.append(proxy)
            proxy_port = int(bench.wait_for_file(tmp / "proxy", proxy, 20))
            try:
                import uvloop
                run = uvloop.run
            except ImportError:
                run = asyncio.run
            res = run(bench.measure(f"http://127.0.0.1:{port}/v1/chat/completions",
                                    f"http://127.0.0.1:{proxy_port}/v1/chat/completions",
                                    args.seconds, args.repeats, proxy.pid))
        finally:
            for p in reversed(procs):
                p.terminate()
            for p in procs:
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
    print(f"{'clients':>7} | {'+p50 ms':>7} {'+p99 ms':>7} {'ratio':>6} {'cpu µs/req':>10}")
    for c in bench.LEVELS:
        print(f"{c:>7} | {res[f'overhead_p50_ms_c{c}']:>7.3f} {res[f'overhead_p99_ms_c{c}']:>7.3f} "
              f"{res[f'throughput_ratio_c{c}']:>6.2f} "
              f"{res.get(f'gateway_cpu_us_per_request_c{c}', float('nan')):>10.0f}")
    print("a bare Python proxy with no governance: the floor under bench/gateway.py's figures")
    if args.json:
        bench.write_json(args.json, res)
    return 0


if __name__ == "__main__":
    sys.exit(main())
