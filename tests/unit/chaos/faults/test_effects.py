"""The effect contract: every kind declares an effect, and each check fails without evidence."""

from __future__ import annotations

import asyncio

import pytest

from chaos.faults import default_registry
from chaos.faults.effects import (
    AllOf,
    AnswersOfKind,
    EffectEvidence,
    GpuReading,
    GpuShown,
    NoRequests,
    UpstreamHit,
    WitnessCut,
    WitnessDelayed,
    WitnessRefused,
    WitnessStalled,
    WitnessThroughput,
    gpu_devices,
    witness_plan,
)
from chaos.faults.witness import WitnessPlan, WitnessProbe, WitnessReport, observe, probe
from chaos.scenario.model import FaultSpec, UpstreamSpec

CHAT = "/v1/chat/completions"
GPU = UpstreamSpec(name="gpu", model="m", hosting="private", region="eu", gpu_device=3)


def ev(hits=(), witness=None, gpu=(), applied=10.0, end=16.0) -> EffectEvidence:
    return EffectEvidence(target="gpu", applied_at_s=applied, end_s=end, hits=tuple(hits),
                          witness=witness, gpu=tuple(gpu))


def test_every_kind_declares_an_effect_with_words() -> None:
    registry = default_registry()
    for name in registry.names():
        spec = FaultSpec(name="f", kind=name, target="gpu", at_s=0, duration_s=1)
        effect = registry.get(name).effect(spec, registry.parse_params(spec), GPU)
        assert effect.expected, name
        # With no evidence at all, no kind's effect is verified: no vacuous pass.
        result = effect.check(ev())
        if name in ("upstream_down", "process_kill", "gpu_lost"):
            assert not result.verified, name  # NoRequests alone would pass: the witness must not
        else:
            assert not result.verified, (name, result.observed)


def test_no_requests_counts_every_entry_after_the_grace() -> None:
    effect = NoRequests()
    assert effect.check(ev([UpstreamHit(10.1, CHAT), UpstreamHit(16.0, CHAT)])).verified
    result = effect.check(ev([UpstreamHit(12.0, CHAT, client=True), UpstreamHit(13.0, "/health",
                                                                                 client=False)]))
    assert not result.verified and "2 requests received" in result.observed
    assert "1 client requests" in result.observed


def test_answers_of_kind_at_probability_one_needs_every_answer() -> None:
    effect = AnswersOfKind("error_500")
    hits = [UpstreamHit(11 + i * 0.1, CHAT, "error_500") for i in range(10)]
    assert effect.check(ev(hits)).verified
    result = effect.check(ev(hits + [UpstreamHit(12.5, CHAT, "ok")]))
    assert not result.verified and "10/11" in result.observed and "others: ok" in result.observed
    assert effect.check(ev([UpstreamHit(11, "/health", "ok")])).observed.startswith("no data")


def test_answers_of_kind_below_one_checks_the_rate() -> None:
    effect = AnswersOfKind("error_500", 0.5)
    half = [UpstreamHit(11 + i * 0.01, CHAT, "error_500" if i % 2 else "ok") for i in range(100)]
    assert effect.check(ev(half)).verified
    none = [UpstreamHit(11 + i * 0.01, CHAT, "ok") for i in range(100)]
    assert not effect.check(ev(none)).verified
    few = [UpstreamHit(11, CHAT, "ok")]
    assert "inconclusive" in effect.check(ev(few)).observed


def _w(*probes: WitnessProbe, base: float = 2.0) -> WitnessReport:
    return WitnessReport(baseline=(WitnessProbe("ok", base), WitnessProbe("ok", base)),
                         during=probes)


def test_witness_checks() -> None:
    assert WitnessRefused().check(ev(witness=_w(WitnessProbe("refused", 1)))).verified
    assert not WitnessRefused().check(ev(witness=_w(WitnessProbe("ok", 1)))).verified
    delayed = WitnessDelayed(500)
    assert delayed.check(ev(witness=_w(WitnessProbe("ok", 480)))).verified  # >= 250 over 2 ms
    assert not delayed.check(ev(witness=_w(WitnessProbe("ok", 30)))).verified
    assert delayed.check(ev(witness=_w(WitnessProbe("stalled", 400)))).verified
    assert WitnessCut().check(ev(witness=_w(WitnessProbe("reset", 1)))).verified
    assert not WitnessCut().check(ev(witness=_w(WitnessProbe("ok", 1)))).verified
    assert WitnessStalled().check(ev(witness=_w(WitnessProbe("stalled", 1000)))).verified
    slow = WitnessThroughput(10, upstream=False)  # 3,000 bytes at 10 KB/s: ~300 ms
    assert slow.check(ev(witness=_w(WitnessProbe("ok", 302, 3000)))).verified
    assert not slow.check(ev(witness=_w(WitnessProbe("ok", 5, 3000)))).verified
    # No probe completed: no data, not verified.
    assert WitnessDelayed(500).check(ev(witness=_w())).observed.startswith("no data")


def test_witness_below_probability_one_stops_at_the_first_affected_probe() -> None:
    check = WitnessCut(0.3)
    plan = check.plan
    assert plan.probes >= 10 and plan.enough is not None
    assert not plan.enough([WitnessProbe("ok", 1)])
    assert plan.enough([WitnessProbe("ok", 1), WitnessProbe("reset", 1)])
    assert check.check(ev(witness=_w(WitnessProbe("ok", 1), WitnessProbe("reset", 1)))).verified
    few = check.check(ev(witness=_w(WitnessProbe("ok", 1))))
    assert not few.verified and "inconclusive" in few.observed


def test_gpu_shown_needs_both_read_backs() -> None:
    effect = GpuShown(3, "lost", 79)
    both = [GpuReading("applied", "lost", 79), GpuReading("before_revert", "lost", 79)]
    assert effect.check(ev(gpu=both)).verified
    assert not effect.check(ev(gpu=both[:1])).verified
    cleared = [both[0], GpuReading("before_revert", None)]
    result = effect.check(ev(gpu=cleared))
    assert not result.verified and "not injected" in result.observed
    assert effect.check(ev()).observed.startswith("no data")


def test_all_of_and_the_plans_it_exposes() -> None:
    effect = AllOf((GpuShown(3, "degraded"), WitnessDelayed(200)))
    assert gpu_devices(effect) == (3,)
    assert witness_plan(effect) is not None
    assert witness_plan(NoRequests()) is None
    result = effect.check(ev(gpu=[GpuReading("applied", "degraded"),
                                  GpuReading("before_revert", "degraded")],
                             witness=_w(WitnessProbe("ok", 3))))
    assert not result.verified and "GPU 3" in result.observed and "witness" in result.observed


async def _server(handler):
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


async def test_probe_outcomes_over_real_sockets() -> None:
    plan = WitnessPlan(probes=1, timeout_ms=300, response_bytes=5)

    async def good(reader, writer):
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n.....")
        await writer.drain()
        writer.close()

    async def silent(reader, writer):
        await reader.read()  # until the probe gives up and aborts

    async def rude(reader, writer):
        writer.close()

    for handler, outcomes in ((good, {"ok"}), (silent, {"stalled"}), (rude, {"closed", "reset"})):
        server, port = await _server(handler)
        async with server:
            result = await probe("127.0.0.1", port, plan)
        assert result.outcome in outcomes, (handler.__name__, result)
    server, port = await _server(good)
    server.close()
    await server.wait_closed()
    assert (await probe("127.0.0.1", port, plan)).outcome == "refused"


async def test_observe_never_runs_past_its_deadline() -> None:
    async def silent(reader, writer):
        await reader.read()

    server, port = await _server(silent)
    async with server:
        loop = asyncio.get_running_loop()
        sink: list[WitnessProbe] = []
        started = loop.time()
        await observe("127.0.0.1", port, WitnessPlan(probes=5, timeout_ms=2000),
                      until=__import__("time").monotonic() + 0.3, sink=sink)
        assert loop.time() - started < 1.0
        assert sink and all(p.outcome == "stalled" for p in sink)


@pytest.mark.parametrize("kind", ["latency", "bandwidth", "reset_peer", "timeout"])
def test_toxic_kinds_probe_fresh_connections(kind: str) -> None:
    registry = default_registry()
    spec = FaultSpec(name="f", kind=kind, target="gpu", at_s=0, duration_s=1)
    plan = witness_plan(registry.get(kind).effect(spec, registry.parse_params(spec), GPU))
    assert plan is not None and b"Connection: close" in plan.request_bytes()
