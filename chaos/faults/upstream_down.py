"""``upstream_down``: disable the upstream's proxy (listener and live connections closed)."""

from __future__ import annotations

from typing import ClassVar

from chaos.faults.base import FaultContext, FaultParams, Revert
from chaos.faults.effects import AllOf, Effect, NoRequests, WitnessRefused
from chaos.scenario.model import FaultSpec, UpstreamSpec


class UpstreamDownParams(FaultParams):
    pass


class UpstreamDown:
    name: ClassVar[str] = "upstream_down"
    params: ClassVar[type[FaultParams]] = UpstreamDownParams
    layer: ClassVar[str] = "network"
    summary: ClassVar[str] = "proxy disabled: connections refused, live ones closed"

    def effect(self, fault: FaultSpec, params: FaultParams, target: UpstreamSpec) -> Effect:
        return AllOf((WitnessRefused(), NoRequests()))

    async def apply(self, ctx: FaultContext, fault: FaultSpec, params: FaultParams) -> Revert:
        await ctx.proxy.set_enabled(fault.target, False)

        async def revert() -> None:
            await ctx.proxy.set_enabled(fault.target, True)

        return revert
