"""Slow and greedy clients are cut off (gateway.protocol), over real sockets: slowloris heads,
trickled bodies, oversized heads, idle connections and the per-process connection cap."""

from __future__ import annotations

import asyncio
import time

import httpx
import orjson
from conftest import API_KEY, RulePolicy, make_config, run_gateway

M1 = "llama-3.1-70b-private-eu"
HEAD = (b"POST /v1/chat/completions HTTP/1.1\r\nhost: gw\r\n"
        b"authorization: Bearer " + API_KEY.encode() + b"\r\ncontent-type: application/json\r\n")
BODY = orjson.dumps({"messages": [{"role": "user", "content": "hi"}]})


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


async def read_answer(reader: asyncio.StreamReader, timeout: float) -> tuple[int, dict, float]:
    """Read until the server closes: (status, error JSON, seconds until closed)."""
    t = time.monotonic()
    data = await asyncio.wait_for(reader.read(), timeout)  # read() returns at EOF
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1]) if head else 0
    return status, (orjson.loads(body) if body else {}), time.monotonic() - t


async def ok_request(url: str) -> int:
    async with httpx.AsyncClient(base_url=url) as h:
        r = await h.post("/v1/chat/completions", content=BODY,
                         headers={"Authorization": f"Bearer {API_KEY}"})
    return r.status_code


async def test_slowloris_connections_are_cut_off_and_others_are_served(mocks) -> None:
    a = await mocks("a")
    cfg = make_config([("a", a, M1)], limits={"header_timeout_ms": 800})
    async with run_gateway(cfg, RulePolicy({M1})) as gw:
        port = port_of(gw.url)
        conns = [await asyncio.open_connection("127.0.0.1", port) for _ in range(150)]
        stop = asyncio.Event()

        async def drip(writer: asyncio.StreamWriter) -> None:
            # one header byte every 50 ms: never completes, never idle long
            for b in (HEAD + b"x-padding: " + b"a" * 1000):
                if stop.is_set() or writer.is_closing():
                    return
                try:
                    writer.write(bytes([b]))
                    await writer.drain()
                except (ConnectionError, OSError):
                    return
                await asyncio.sleep(0.05)

        drips = [asyncio.create_task(drip(w)) for _, w in conns]
        t0 = time.monotonic()
        assert await ok_request(gw.url) == 200  # served while 150 connections drip
        answers = await asyncio.gather(*(read_answer(r, 5.0) for r, _ in conns))
        elapsed = time.monotonic() - t0
        stop.set()
        await asyncio.gather(*drips)
        for _, w in conns:
            w.close()
        assert elapsed < 3.0, f"slowloris connections held {elapsed:.1f} s"
        assert {s for s, _, _ in answers} == {408}
        assert {d["error"]["code"] for _, d, _ in answers} == {"request_timeout"}
        assert "limits.header_timeout_ms" in answers[0][1]["error"]["message"]
        assert len(a.log) == 1 and len(gw.audit.kinds("decision")) == 1


async def test_a_fresh_connection_that_sends_nothing_is_closed(mocks) -> None:
    a = await mocks("a")
    cfg = make_config([("a", a, M1)], limits={"header_timeout_ms": 300})
    async with run_gateway(cfg, RulePolicy({M1})) as gw:
        reader, writer = await asyncio.open_connection("127.0.0.1", port_of(gw.url))
        status, doc, seconds = await read_answer(reader, 3.0)
        writer.close()
        assert status == 408 and doc["error"]["code"] == "request_timeout" and seconds < 1.5


async def test_a_trickled_body_is_cut_off_before_any_decision(mocks) -> None:
    a = await mocks("a")
    cfg = make_config([("a", a, M1)], limits={"body_timeout_ms": 600})
    async with run_gateway(cfg, RulePolicy({M1})) as gw:
        reader, writer = await asyncio.open_connection("127.0.0.1", port_of(gw.url))
        writer.write(HEAD + b"content-length: %d\r\n\r\n" % len(BODY))
        reader_task = asyncio.create_task(read_answer(reader, 4.0))
        t0 = time.monotonic()
        for b in BODY[:-1]:  # never the last byte: a total deadline, not an idle one
            if reader_task.done():
                break
            writer.write(bytes([b]))
            await asyncio.sleep(0.05)
        status, doc, _ = await reader_task
        writer.close()
        assert status == 408 and doc["error"]["code"] == "request_timeout"
        assert "limits.body_timeout_ms" in doc["error"]["message"]
        assert time.monotonic() - t0 < 2.0
        assert a.log == [] and gw.audit.events == []


async def test_an_oversized_head_is_431(mocks) -> None:
    a = await mocks("a")
    cfg = make_config([("a", a, M1)], limits={"max_header_bytes": 4096})
    async with run_gateway(cfg, RulePolicy({M1})) as gw:
        reader, writer = await asyncio.open_connection("127.0.0.1", port_of(gw.url))
        writer.write(HEAD)
        for i in range(64):  # 64 headers of ~100 bytes in separate writes
            writer.write(b"x-h%d: %s\r\n" % (i, b"v" * 90))
            await writer.drain()
            await asyncio.sleep(0.002)
        status, doc, _ = await read_answer(reader, 3.0)
        writer.close()
        assert status == 431 and doc["error"]["code"] == "headers_too_large"
        assert a.log == []


async def test_connection_cap_refuses_with_503_and_recovers(mocks) -> None:
    a = await mocks("a")
    cfg = make_config([("a", a, M1)], limits={"max_connections": 20})
    async with run_gateway(cfg, RulePolicy({M1})) as gw:
        port = port_of(gw.url)
        held = [await asyncio.open_connection("127.0.0.1", port) for _ in range(20)]
        await asyncio.sleep(0.1)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        status, doc, _ = await read_answer(reader, 3.0)
        writer.close()
        assert status == 503 and doc["error"]["code"] == "too_many_connections"
        assert "limits.max_connections" in doc["error"]["message"]
        for _, w in held[:5]:
            w.close()
        await asyncio.sleep(0.2)
        assert await ok_request(gw.url) == 200
        for _, w in held[5:]:
            w.close()


async def test_keep_alive_requests_trickled_later_are_cut_off_too(mocks) -> None:
    a = await mocks("a")
    cfg = make_config([("a", a, M1)], limits={"header_timeout_ms": 500})
    async with run_gateway(cfg, RulePolicy({M1})) as gw:
        reader, writer = await asyncio.open_connection("127.0.0.1", port_of(gw.url))
        writer.write(HEAD + b"content-length: %d\r\n\r\n" % len(BODY) + BODY)
        first = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 3.0)
        assert first.startswith(b"HTTP/1.1 200")
        length = int(next(line.split(b":")[1] for line in first.split(b"\r\n")
                          if line.lower().startswith(b"content-length")))
        await reader.readexactly(length)
        t0 = time.monotonic()

        async def drip() -> None:
            for b in HEAD:
                if writer.is_closing():
                    return
                writer.write(bytes([b]))
                await asyncio.sleep(0.05)

        dripping = asyncio.create_task(drip())
        status, doc, _ = await read_answer(reader, 4.0)
        dripping.cancel()
        writer.close()
        assert status == 408 and time.monotonic() - t0 < 2.0


async def test_idle_keep_alive_connections_close(mocks) -> None:
    a = await mocks("a")
    cfg = make_config([("a", a, M1)], limits={"keepalive_timeout_ms": 300})
    async with run_gateway(cfg, RulePolicy({M1})) as gw:
        reader, writer = await asyncio.open_connection("127.0.0.1", port_of(gw.url))
        writer.write(HEAD + b"content-length: %d\r\n\r\n" % len(BODY) + BODY)
        t0 = time.monotonic()
        data = await asyncio.wait_for(reader.read(), 3.0)  # EOF once the idle timer fires
        writer.close()
        assert data.startswith(b"HTTP/1.1 200") and time.monotonic() - t0 < 2.0


async def test_bytes_that_are_not_http_get_the_error_json(mocks) -> None:
    a = await mocks("a")
    async with run_gateway(make_config([("a", a, M1)]), RulePolicy({M1})) as gw:
        reader, writer = await asyncio.open_connection("127.0.0.1", port_of(gw.url))
        writer.write(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 not http\r\n\r\n")
        status, doc, _ = await read_answer(reader, 3.0)
        writer.close()
        assert status == 400 and doc["error"]["code"] == "invalid_http"
