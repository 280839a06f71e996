"""A GPU-backed upstream leaves rotation on the first GPU poll after its GPU is reported lost
(within one poll interval; counted in reads, not wall time), is ranked last while degraded, and
returns when healthy again."""

from __future__ import annotations

import asyncio
import time

import httpx
from conftest import API_KEY, RulePolicy, make_config, run_gateway

from gateway.gpu import SimulatedTelemetry

M1, M2 = "llama-3.1-70b-private-eu", "llama-3.1-8b-private-eu"
AUTH = {"Authorization": f"Bearer {API_KEY}"}
BODY = {"messages": [{"role": "user", "content": "hi"}]}


async def served_by(h: httpx.AsyncClient) -> str:
    r = await h.post("/v1/chat/completions", json=BODY, headers=AUTH)
    assert r.status_code == 200, r.text
    return r.headers["x-govchaos-upstream"]


class _Recording(SimulatedTelemetry):
    """Records when each read of each device started."""

    def __init__(self) -> None:
        super().__init__()
        self.starts: dict[int, list[float]] = {}

    def read(self, device: int):
        self.starts.setdefault(device, []).append(time.monotonic())
        return super().read(device)


async def test_gpu_lost_degraded_healthy(mocks) -> None:
    a, b = await mocks("a"), await mocks("b")
    sim = _Recording()
    cfg = make_config([("a", a, M1), ("b", b, M2)], _gpu=True)
    cfg = cfg.model_copy(update={"gpu": cfg.gpu.model_copy(update={"poll_ms": 20})})
    async with run_gateway(cfg, RulePolicy({M1, M2}), telemetry=sim) as gw:
        router = gw.runtime.router
        applied: list[tuple[str, int]] = []  # (state, reads of device 0 when the router got it)
        set_gpu_state = router.set_gpu_state

        def recording(device: int, state: str) -> list[str]:
            applied.append((state, len(sim.starts.get(device, []))))
            return set_gpu_state(device, state)

        router.set_gpu_state = recording
        async with httpx.AsyncClient(base_url=gw.url) as h:
            assert await served_by(h) == "a"
            t_set = time.monotonic()
            sim.set(0, "lost", xid=79, reason="Xid 79: GPU has fallen off the bus")
            for _ in range(2000):  # bounded: 10 s
                if router.upstreams["a"].gpu_state == "lost":
                    break
                await asyncio.sleep(0.005)
            assert router.upstreams["a"].gpu_state == "lost", "never out of rotation"
            seen_at = next(n for state, n in applied if state == "lost")
            after_set = [t for t in sim.starts[0][:seen_at] if t > t_set]
            assert len(after_set) <= 1, "the first poll after the loss missed it"
            calls = len(a.log)
            for _ in range(3):
                assert await served_by(h) == "b"
            assert len(a.log) == calls
            sim.set(0, "degraded", reason="thermal throttling")
            await asyncio.sleep(0.1)
            assert await served_by(h) == "b"  # degraded: ranked last
            sim.set(0, "healthy")
            await asyncio.sleep(0.1)
            assert await served_by(h) == "a"
            assert "govchaos_gateway_gpu_health" in (await h.get("/metrics")).text
        gpu_events = [e["state"] for e in gw.audit.kinds("gpu")]
        assert "lost" in gpu_events and gpu_events[-1] == "healthy"
