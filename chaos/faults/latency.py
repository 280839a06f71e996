"""``latency``: Toxiproxy ``latency`` toxic (added delay with jitter)."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field

from chaos.faults._toxic import ToxicFault
from chaos.faults.base import FaultParams, ToxicParams
from chaos.faults.effects import Effect, WitnessDelayed

from chaos.scenario.model import UpstreamSpec


class LatencyParams(ToxicParams):
    latency_ms: int = Field(500, ge=0, le=600_000)
    jitter_ms: int = Field(0, ge=0, le=600_000)


class Latency(ToxicFault):
    name: ClassVar[str] = "latency"
    params: ClassVar[type[FaultParams]] = LatencyParams
    summary: ClassVar[str] = "adds latency_ms ± jitter_ms to data through the proxy"
    toxic_type: ClassVar[str] = "latency"

    def effect(self, fault: Any, params: Any, target: UpstreamSpec) -> Effect:
        # Toxiproxy draws latency ± jitter; the least it adds is latency - jitter.
        return WitnessDelayed(max(params.latency_ms - params.jitter_ms, 1), params.probability)

    def attributes(self, params: Any) -> dict[str, Any]:
        return {"latency": params.latency_ms, "jitter": params.jitter_ms}
