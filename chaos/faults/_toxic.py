"""Shared shape of the kinds that add one Toxiproxy toxic to an upstream's proxy."""

from __future__ import annotations

from typing import Any, ClassVar

from chaos.faults.base import FaultContext, Revert, ToxicParams
from chaos.scenario.model import FaultSpec


class ToxicFault:
    """Adds ``toxic_type`` with ``attributes(params)`` on apply and removes it on revert."""

    toxic_type: ClassVar[str]
    layer: ClassVar[str] = "network"

    def attributes(self, params: Any) -> dict[str, Any]:
        raise NotImplementedError

    async def apply(self, ctx: FaultContext, fault: FaultSpec, params: ToxicParams) -> Revert:
        toxic_name = f"govchaos-{fault.name or fault.kind}"
        await ctx.proxy.add_toxic(
            fault.target,
            toxic_name,
            self.toxic_type,
            stream=params.stream,
            toxicity=params.probability,
            attributes=self.attributes(params),
        )

        async def revert() -> None:
            await ctx.proxy.remove_toxic(fault.target, toxic_name)

        return revert
