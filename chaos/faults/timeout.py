"""``timeout``: Toxiproxy ``timeout`` toxic; data stops, the connection closes after
``timeout_ms`` (0 = hang until the fault ends)."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field

from chaos.faults._toxic import ToxicFault
from chaos.faults.base import FaultParams, ToxicParams
from chaos.faults.effects import Effect, WitnessCut, WitnessStalled

from chaos.scenario.model import UpstreamSpec


class TimeoutParams(ToxicParams):
    timeout_ms: int = Field(0, ge=0, le=600_000, description="0 hangs the connection")


class Timeout(ToxicFault):
    name: ClassVar[str] = "timeout"
    params: ClassVar[type[FaultParams]] = TimeoutParams
    summary: ClassVar[str] = "connections stall (hang), closed after timeout_ms unless 0"
    toxic_type: ClassVar[str] = "timeout"

    def effect(self, fault: Any, params: Any, target: UpstreamSpec) -> Effect:
        if params.timeout_ms:
            return WitnessCut(params.probability, within_ms=params.timeout_ms)
        return WitnessStalled(params.probability)

    def attributes(self, params: Any) -> dict[str, Any]:
        return {"timeout": params.timeout_ms}
