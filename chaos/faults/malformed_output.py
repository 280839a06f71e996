"""``malformed_output``: the upstream returns malformed or truncated JSON."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field

from chaos.faults._provider import ProviderFault
from chaos.faults.base import FaultParams
from chaos.faults.effects import AnswersOfKind, Effect

from chaos.scenario.model import UpstreamSpec


class MalformedOutputParams(FaultParams):
    probability: float = Field(1.0, ge=0, le=1)
    variant: Literal["malformed_json", "truncated_json"] = "malformed_json"


class MalformedOutput(ProviderFault):
    name: ClassVar[str] = "malformed_output"
    params: ClassVar[type[FaultParams]] = MalformedOutputParams
    summary: ClassVar[str] = "the upstream returns malformed (or truncated) JSON bodies"
    provider_kind: ClassVar[str] = "malformed_json"

    async def apply(self, ctx, fault, params):  # type: ignore[no-untyped-def]
        # The variant picks the simulated upstream's fault kind.
        await ctx.providers.set_fault(
            fault.target, params.variant, {"rate": params.probability}
        )

        async def revert() -> None:
            await ctx.providers.clear_fault(fault.target)

        return revert

    def effect(self, fault: Any, params: Any, target: UpstreamSpec) -> Effect:
        return AnswersOfKind(params.variant, params.probability)

    def provider_params(self, params: Any) -> dict[str, Any]:
        return {"rate": params.probability}
