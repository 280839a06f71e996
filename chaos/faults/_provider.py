"""Shared shape of the kinds that tell a simulated upstream to misbehave."""

from __future__ import annotations

from typing import Any, ClassVar

from chaos.faults.base import FaultContext, FaultParams, Revert
from chaos.faults.effects import AnswersOfKind, Effect
from chaos.scenario.model import FaultSpec, UpstreamSpec


class ProviderFault:
    """``set_fault(provider_kind, **params)`` on apply, ``clear_fault()`` on revert."""

    provider_kind: ClassVar[str]
    layer: ClassVar[str] = "provider"

    def provider_params(self, params: FaultParams) -> dict[str, Any]:
        # The simulated upstreams call the share of affected requests ``rate``.
        values = params.model_dump()
        if "probability" in values:
            values["rate"] = values.pop("probability")
        return values

    def effect(self, fault: FaultSpec, params: Any, target: UpstreamSpec) -> Effect:
        # The upstream logs each answer's outcome: its own record of what it sent back.
        return AnswersOfKind(self.provider_kind, params.probability)

    async def apply(self, ctx: FaultContext, fault: FaultSpec, params: FaultParams) -> Revert:
        await ctx.providers.set_fault(
            fault.target, self.provider_kind, self.provider_params(params)
        )

        async def revert() -> None:
            await ctx.providers.clear_fault(fault.target)

        return revert
