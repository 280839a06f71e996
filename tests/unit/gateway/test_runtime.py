"""GatewayRuntime: what it starts it also stops (GPU telemetry source included)."""

from __future__ import annotations

import asyncio
from typing import Any

import gateway.gpu as gpu
from gateway.config import GatewayConfig
from gateway.credentials import ResolvedSecrets
from gateway.gpu import SimulatedTelemetry
from gateway.runtime import GatewayRuntime
from governance.decision import Decision


class _Engine:
    async def decide(self, inp: Any) -> Decision:
        return Decision.deny("unused")


class _Audit:
    def append_nowait(self, event: dict[str, Any]) -> int:
        return 0


class _ClosingTelemetry(SimulatedTelemetry):
    closed = 0

    def close(self) -> None:
        type(self).closed += 1


def _cfg() -> GatewayConfig:
    return GatewayConfig.model_validate({
        "auth": {"keys_env": "UNUSED"},
        "upstreams": [{"name": "a", "base_url": "http://127.0.0.1:9/v1",
                       "model": "llama-3.1-70b-private-eu", "gpu": {"device": 0}}],
        "routes": {"r": {}},
    })


def test_runtime_closes_the_telemetry_source_it_built(monkeypatch) -> None:
    monkeypatch.setattr(gpu, "build_telemetry", lambda config: _ClosingTelemetry())
    _ClosingTelemetry.closed = 0

    async def main() -> None:
        async with GatewayRuntime.start(_cfg(), ResolvedSecrets(), engine=_Engine(),
                                        audit=_Audit()) as rt:
            assert rt.monitor is not None
            assert _ClosingTelemetry.closed == 0

    asyncio.run(main())
    assert _ClosingTelemetry.closed == 1


def test_runtime_leaves_a_passed_in_source_to_its_owner() -> None:
    src = _ClosingTelemetry()
    _ClosingTelemetry.closed = 0

    async def main() -> None:
        async with GatewayRuntime.start(_cfg(), ResolvedSecrets(), engine=_Engine(),
                                        audit=_Audit(), telemetry=src):
            pass

    asyncio.run(main())
    assert _ClosingTelemetry.closed == 0
