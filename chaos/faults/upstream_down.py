"""``upstream_down``: disable the upstream's proxy (listener and live connections closed)."""

from __future__ import annotations

from typing import ClassVar

from chaos.faults.base import FaultContext, FaultParams, Revert
from chaos.scenario.model import FaultSpec


class UpstreamDownParams(FaultParams):
    pass


class UpstreamDown:
    name: ClassVar[str] = "upstream_down"
    params: ClassVar[type[FaultParams]] = UpstreamDownParams
    layer: ClassVar[str] = "network"
    summary: ClassVar[str] = "proxy disabled: connections refused, live ones closed"

    async def apply(self, ctx: FaultContext, fault: FaultSpec, params: FaultParams) -> Revert:
        await ctx.proxy.set_enabled(fault.target, False)

        async def revert() -> None:
            await ctx.proxy.set_enabled(fault.target, True)

        return revert
