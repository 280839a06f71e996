"""The open-loop generator against real simulated upstreams on 127.0.0.1 (short, bounded)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from chaos.load import LoadGenerator, LoadSpec, RouteMix
from chaos.providers import LatencyProfile, SimulatedUpstream, MockUpstreamSpec

MIX = (
    RouteMix(
        route="customer-chat", tenant="globex-retail", api_key="secret-key", region="eu"
    ),
)


def _spec(**overrides) -> LoadSpec:
    fields = {"rate_rps": 100, "duration_s": 0.5, "seed": 1, "mix": MIX, "request_timeout_s": 5}
    fields.update(overrides)
    return LoadSpec(**fields)


@pytest.fixture
async def upstream() -> AsyncIterator[SimulatedUpstream]:
    up = SimulatedUpstream(MockUpstreamSpec(name="fast", model="gpt-4o-cloud-eu"))
    await up.start()
    yield up
    await up.stop()


async def test_rate_accuracy_and_request_shape(upstream: SimulatedUpstream) -> None:
    generator = LoadGenerator(_spec(rate_rps=200, duration_s=1.0), upstream.url, run_id="t")
    result = await asyncio.wait_for(generator.run(), 15)
    assert len(result.records) == 200 and result.ok == 200
    assert result.achieved_rps() == pytest.approx(200)
    # Loose bounds: the upstream shares this event loop and CI shares its 2 cores; the strict
    # numbers (p99 <= 5 ms at 1,000 req/s, upstream in its own process) are bench/harness.py's.
    assert 0 <= result.arrival_error_ms(0.5) < 10
    assert result.arrival_error_ms(0.99) < 100
    assert min(r.arrival_error_ms for r in result.records) >= 0  # never early
    sent = [r.sent_at for r in result.records]
    assert sent == sorted(sent) and sent[-1] - sent[0] == pytest.approx(0.995, abs=0.1)
    logged = {e.request_id: e for e in upstream.request_log}
    assert set(logged) == {r.request_id for r in result.records}
    assert logged["t-0"].user == "govchaos:t-0"


async def test_headers_sent(unused_tcp_port: int) -> None:
    seen: list[dict[str, str]] = []

    async def handler(request: web.Request) -> web.Response:
        seen.append(dict(request.headers))
        return web.json_response(
            {"choices": []},
            headers={
                "X-Govchaos-Served-By": "gpt-4o-cloud-eu",
                "X-Govchaos-Upstream": "cloud-eu",
                "X-Govchaos-Attempts": "2",
                "X-Govchaos-Failovers": "private-eu:timeout",
            },
        )

    app = web.Application()
    app.router.add_post("/v1/chat/completions", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", unused_tcp_port).start()
    try:
        spec = _spec(rate_rps=10, duration_s=0.1)
        result = await LoadGenerator(spec, f"http://127.0.0.1:{unused_tcp_port}", run_id="h").run()
    finally:
        await runner.cleanup()
    headers = seen[0]
    assert headers["Authorization"] == "Bearer secret-key"
    assert headers["X-Govchaos-Request-Id"] == "h-0"
    assert headers["X-Govchaos-Route"] == "customer-chat"
    assert headers["X-Govchaos-Data-Classes"] == "public"
    assert headers["X-Govchaos-Region"] == "eu"
    record = result.records[0]
    assert record.ok and record.served_by == "gpt-4o-cloud-eu" and record.upstream == "cloud-eu"
    assert record.attempts == 2 and record.failovers == ("private-eu:timeout",)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_transport_errors_are_recorded() -> None:
    spec = _spec(rate_rps=20, duration_s=0.25)
    result = await LoadGenerator(spec, f"http://127.0.0.1:{_closed_port()}").run()
    assert len(result.records) == 5
    assert {(r.status, r.error_kind, r.ok) for r in result.records} == {
        (0, "connect_error", False)
    }


@pytest.mark.parametrize(
    ("kind", "params", "stream", "expected"),
    [
        ("error_500", {}, False, (500, "http_500")),
        ("rate_limit_429", {}, True, (429, "http_429")),
        ("malformed_json", {}, False, (200, "invalid_response")),
        ("malformed_json", {}, True, (200, "invalid_chunk")),
        ("truncated_json", {}, True, (200, "invalid_chunk")),
        ("truncated_json", {}, False, (200, "invalid_response")),
        ("stream_cut", {"after_chunks": 1}, True, (200, "connection_reset")),
    ],
)
async def test_faults_become_error_kinds(
    upstream: SimulatedUpstream, kind: str, params: dict, stream: bool, expected: tuple
) -> None:
    upstream.set_fault(kind, **params)
    spec = _spec(rate_rps=20, duration_s=0.1, stream_share=1.0 if stream else 0.0)
    result = await asyncio.wait_for(LoadGenerator(spec, upstream.url).run(), 10)
    assert {(r.status, r.error_kind) for r in result.records} == {expected}
    assert not any(r.ok for r in result.records)
    if kind == "rate_limit_429":
        assert {r.retry_after_s for r in result.records} == {1.0}


async def test_stream_error_event_is_a_failure(unused_tcp_port: int) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        await response.write(b'data: {"choices": []}\n\n')
        await response.write(b'event: error\ndata: {"error": {"message": "upstream died"}}\n\n')
        await response.write(b"data: [DONE]\n\n")
        return response

    app = web.Application()
    app.router.add_post("/v1/chat/completions", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", unused_tcp_port).start()
    try:
        spec = _spec(rate_rps=10, duration_s=0.1, stream_share=1.0)
        result = await LoadGenerator(spec, f"http://127.0.0.1:{unused_tcp_port}").run()
    finally:
        await runner.cleanup()
    assert [(r.ok, r.error_kind) for r in result.records] == [(False, "stream_error")]


async def test_slow_responses_do_not_delay_sends(upstream: SimulatedUpstream) -> None:
    slow = SimulatedUpstream(
        MockUpstreamSpec(name="slow", model="m", latency=LatencyProfile(base_ms=300))
    )
    await slow.start()
    try:
        result = await LoadGenerator(_spec(rate_rps=100, duration_s=0.3), slow.url).run()
    finally:
        await slow.stop()
    assert len(result.records) == 30 and result.ok == 30
    # Open loop: every request went out before the first (300 ms) answer came back.
    assert max(r.sent_at for r in result.records) < min(r.completed_at for r in result.records)


async def test_stream_records_time_to_first_event() -> None:
    slow = SimulatedUpstream(
        MockUpstreamSpec(
            name="slow", model="m", content="a b c d",
            latency=LatencyProfile(base_ms=20, per_token_ms=50),
        )
    )
    await slow.start()
    try:
        spec = _spec(rate_rps=10, duration_s=0.1, stream_share=1.0)
        (record,) = (await LoadGenerator(spec, slow.url).run()).records
    finally:
        await slow.stop()
    assert record.ok and record.first_event_ms is not None
    assert 15 <= record.first_event_ms < record.latency_ms - 100  # 3 token gaps after the first


async def test_client_overload_is_recorded_not_dropped(upstream: SimulatedUpstream) -> None:
    upstream.set_fault("hang")
    generator = LoadGenerator(_spec(rate_rps=50, duration_s=0.2, max_in_flight=3), upstream.url)
    task = asyncio.create_task(generator.run())
    for _ in range(500):  # bounded: until all 10 arrivals were due and handled
        if generator.stats().scheduled == 10:
            break
        await asyncio.sleep(0.01)
    generator.stop()
    result = await asyncio.wait_for(task, 5)
    kinds = [r.error_kind for r in result.records]
    assert len(kinds) == 10
    assert kinds.count("cancelled") == 3 and kinds.count("client_overload") == 7
    assert result.stopped_early
    assert all(r.sent_at is None for r in result.records if r.error_kind == "client_overload")


async def test_stop_cancels_in_flight_and_loses_nothing(upstream: SimulatedUpstream) -> None:
    upstream.set_fault("hang")
    generator = LoadGenerator(_spec(rate_rps=50, duration_s=5), upstream.url)
    task = asyncio.create_task(generator.run())
    for _ in range(500):  # bounded
        if generator.stats().sent >= 5:
            break
        await asyncio.sleep(0.01)
    stats = generator.stats()
    assert stats.sent >= 5 and stats.in_flight == stats.sent and stats.completed == 0
    generator.stop()
    result = await asyncio.wait_for(task, 5)
    assert len(result.records) >= stats.sent
    assert {r.error_kind for r in result.records} == {"cancelled"}
    # Every request the upstream saw is in the records (nothing lost).
    assert {e.request_id for e in upstream.request_log} <= {r.request_id for r in result.records}


async def test_finish_ends_the_schedule_and_awaits_the_answers_due() -> None:
    slow = SimulatedUpstream(MockUpstreamSpec(name="slow", model="gpt-4o-cloud-eu",
                                              latency=LatencyProfile(base_ms=300)))
    await slow.start()
    try:
        generator = LoadGenerator(_spec(rate_rps=50, duration_s=60), slow.url)
        task = asyncio.create_task(generator.run())
        for _ in range(500):  # bounded
            if generator.stats().sent >= 10:
                break
            await asyncio.sleep(0.01)
        generator.finish()
        in_flight = generator.stats().in_flight
        result = await asyncio.wait_for(task, 10)
    finally:
        await slow.stop()
    assert in_flight > 0  # answers were still due when the schedule ended
    assert not result.stopped_early
    assert result.records and all(r.ok for r in result.records)  # drained, none cancelled
    assert result.sent == len(result.records) < 60 * 50
    assert 0 < result.duration_s < 5  # the schedule's real length, not the planned 60 s
    assert result.achieved_rps() == pytest.approx(result.sent / result.duration_s)


async def test_cancelling_run_keeps_records(upstream: SimulatedUpstream) -> None:
    upstream.set_fault("hang")
    generator = LoadGenerator(_spec(rate_rps=50, duration_s=5), upstream.url)
    task = asyncio.create_task(generator.run())
    await asyncio.sleep(0.2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 5)
    result = generator.result()
    assert result.stopped_early and result.records
    assert {r.error_kind for r in result.records} == {"cancelled"}


async def test_progress_callback_and_single_use(upstream: SimulatedUpstream) -> None:
    seen = []
    generator = LoadGenerator(
        _spec(rate_rps=50, duration_s=0.5), upstream.url, on_progress=seen.append,
        progress_interval_s=0.1,
    )
    await generator.run()
    assert seen and seen[-1].sent > 0
    with pytest.raises(RuntimeError):
        await generator.run()


async def test_request_timeout_is_recorded(upstream: SimulatedUpstream) -> None:
    upstream.set_fault("hang")
    spec = _spec(rate_rps=10, duration_s=0.2, request_timeout_s=0.2)
    result = await asyncio.wait_for(LoadGenerator(spec, upstream.url).run(), 10)
    assert {(r.status, r.error_kind) for r in result.records} == {(0, "timeout")}
    assert all(150 <= r.latency_ms < 2000 for r in result.records)
