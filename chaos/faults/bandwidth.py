"""``bandwidth``: Toxiproxy ``bandwidth`` toxic (rate limit in KB/s)."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field

from chaos.faults._toxic import ToxicFault
from chaos.faults.base import FaultParams, ToxicParams
from chaos.faults.effects import Effect, WitnessThroughput

from chaos.scenario.model import UpstreamSpec


class BandwidthParams(ToxicParams):
    rate_kbps: int = Field(1, ge=0, le=10_000_000, description="kilobytes per second")


class Bandwidth(ToxicFault):
    name: ClassVar[str] = "bandwidth"
    params: ClassVar[type[FaultParams]] = BandwidthParams
    summary: ClassVar[str] = "throughput limited to rate_kbps KB/s"
    toxic_type: ClassVar[str] = "bandwidth"

    def effect(self, fault: Any, params: Any, target: UpstreamSpec) -> Effect:
        return WitnessThroughput(params.rate_kbps, upstream=params.stream == "upstream",
                                 probability=params.probability)

    def attributes(self, params: Any) -> dict[str, Any]:
        return {"rate": params.rate_kbps}
