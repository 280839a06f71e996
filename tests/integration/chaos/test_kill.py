"""A kill is a kill: once ``kill()`` returns, the upstream answers and logs nothing until it is
restarted, including on connections opened an instant before the kill (issue: a connection the
event loop had accepted but not yet registered kept serving through a whole fault)."""

from __future__ import annotations

import asyncio
import socket
import time
from pathlib import Path

import orjson

from chaos.providers import FleetProcess, FleetSpec, MockUpstreamSpec, read_request_log
from chaos.providers.upstream import SimulatedUpstream

BODY = orjson.dumps({"model": "m", "messages": [{"role": "user",
                                                  "content": "[govchaos-request-id:k1] hi"}]})
REQUEST = (b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
           b"Content-Length: " + str(len(BODY)).encode() + b"\r\n\r\n" + BODY)


async def _answered(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                    wait_s: float = 2.0) -> bool:
    """Send a chat request on an open connection; True if any answer byte came back."""
    try:
        writer.write(REQUEST)
        await writer.drain()
        data = await asyncio.wait_for(reader.read(1), wait_s)
    except (ConnectionError, OSError, TimeoutError):
        return False
    finally:
        writer.transport.abort()
    return bool(data)


async def test_in_process_kill_resets_connections_opened_right_before_it(tmp_path: Path) -> None:
    upstream = SimulatedUpstream(MockUpstreamSpec(name="u", model="m",
                                              log_file=str(tmp_path / "u.jsonl")))
    await upstream.start()
    try:
        for round_ in range(32):
            # Connected in the kernel before the server's loop runs again; then a few loop
            # turns (0..3) so the kill lands while some are accepted but not yet registered.
            socks = []
            for _ in range(4):
                sock = socket.create_connection(("127.0.0.1", upstream.port))
                sock.setblocking(False)
                socks.append(sock)
            for _ in range(round_ % 4):
                await asyncio.sleep(0)
            before = len(upstream.request_log)
            await upstream.kill()
            conns = [await asyncio.open_connection(sock=sock) for sock in socks]
            answers = await asyncio.gather(*(_answered(r, w, 0.3) for r, w in conns))
            assert not any(answers), f"round {round_}: a killed upstream answered"
            assert len(upstream.request_log) == before, f"round {round_}: a killed upstream logged"
            await upstream.restart()
        # And it still serves after all that.
        reader, writer = await asyncio.open_connection("127.0.0.1", upstream.port)
        assert await _answered(reader, writer)
    finally:
        await upstream.stop()


async def _hammer(port: int, stop: asyncio.Event, sent: list[float]) -> None:
    """Fresh connections, one request each, as fast as possible until ``stop``."""
    while not stop.is_set():
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.005)
            continue
        sent.append(time.monotonic())
        await _answered(reader, writer)


async def test_sigkilled_fleet_process_receives_nothing_until_restarted(tmp_path: Path) -> None:
    spec = FleetSpec(upstreams=(MockUpstreamSpec(name="u", model="m"),),
                     log_dir=str(tmp_path / "logs"))
    fleet = FleetProcess(spec, workdir=tmp_path / "fleet")
    ready = await fleet.start()
    port = ready.upstreams["u"].port
    windows: list[tuple[float, float]] = []
    stop = asyncio.Event()
    sent: list[float] = []
    workers = [asyncio.create_task(_hammer(port, stop, sent)) for _ in range(6)]
    try:
        for _ in range(4):
            await asyncio.sleep(0.25)  # traffic flowing, connections opening all the time
            # Connections opened right before the kill, left idle: they must die with it.
            idle = [await asyncio.open_connection("127.0.0.1", port) for _ in range(4)]
            first_pid = fleet.pid
            await fleet.kill()
            killed_at = time.monotonic()
            answers = await asyncio.gather(*(_answered(r, w) for r, w in idle))
            assert not any(answers)
            await asyncio.sleep(0.3)
            restarting_at = time.monotonic()
            again = await fleet.restart()
            assert again.upstreams["u"].port == port and fleet.pid != first_pid
            windows.append((killed_at, restarting_at))
        await asyncio.sleep(0.2)
    finally:
        stop.set()
        await asyncio.gather(*workers, return_exceptions=True)
        await fleet.stop()
    entries = read_request_log(tmp_path / "logs" / "u.jsonl")
    assert len(entries) > 20 and len(sent) > 20  # traffic really flowed around the kills
    for killed_at, restarting_at in windows:
        inside = [e for e in entries if killed_at <= e.received_mono < restarting_at]
        assert not inside, f"{len(inside)} requests reached a SIGKILLed upstream"
    # One log across restarts: every life's entries are there, in order.
    assert [e.received_mono for e in entries] == sorted(e.received_mono for e in entries)
    assert entries[0].received_mono < windows[0][0] < windows[-1][1] < entries[-1].received_mono
