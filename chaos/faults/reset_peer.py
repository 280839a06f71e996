"""``reset_peer``: Toxiproxy ``reset_peer`` toxic (TCP RST after ``after_ms``)."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field

from chaos.faults._toxic import ToxicFault
from chaos.faults.base import FaultParams, ToxicParams
from chaos.faults.effects import Effect, WitnessCut

from chaos.scenario.model import UpstreamSpec


class ResetPeerParams(ToxicParams):
    after_ms: int = Field(0, ge=0, le=600_000, description="reset this long after connecting")


class ResetPeer(ToxicFault):
    name: ClassVar[str] = "reset_peer"
    params: ClassVar[type[FaultParams]] = ResetPeerParams
    summary: ClassVar[str] = "connections reset by peer (RST) after after_ms"
    toxic_type: ClassVar[str] = "reset_peer"

    def effect(self, fault: Any, params: Any, target: UpstreamSpec) -> Effect:
        return WitnessCut(params.probability, within_ms=params.after_ms)

    def attributes(self, params: Any) -> dict[str, Any]:
        return {"timeout": params.after_ms}
