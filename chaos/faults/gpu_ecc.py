"""``gpu_ecc``: an ECC error on the GPU backing an upstream (Xid 48, 94 or 95).

Xid 94 (contained) leaves the device usable but degraded; 48 (double-bit) and 95 (uncontained)
need a reset, so the device reads as lost. The worker answers 500s while the fault lasts.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from chaos.faults.base import FaultContext, FaultParams, Revert, gpu_device, gpu_device_of
from chaos.faults.effects import AllOf, AnswersOfKind, Effect, GpuShown
from chaos.scenario.model import FaultSpec, UpstreamSpec


class GpuEccParams(FaultParams):
    xid: Literal[48, 94, 95] = 48
    break_upstream: bool = Field(True, description="the upstream answers 500 during the fault")


class GpuEcc:
    name: ClassVar[str] = "gpu_ecc"
    params: ClassVar[type[FaultParams]] = GpuEccParams
    layer: ClassVar[str] = "gpu"
    summary: ClassVar[str] = "ECC error (Xid 48/94/95) in telemetry, upstream errors"

    def effect(self, fault: FaultSpec, params: GpuEccParams, target: UpstreamSpec) -> Effect:
        state = "degraded" if params.xid == 94 else "lost"
        shown = GpuShown(gpu_device_of(target, fault), state, params.xid)
        if params.break_upstream:
            return AllOf((shown, AnswersOfKind("error_500")))
        return shown

    async def apply(self, ctx: FaultContext, fault: FaultSpec, params: GpuEccParams) -> Revert:
        device = gpu_device(ctx, fault)
        state = "degraded" if params.xid == 94 else "lost"
        ctx.gpu.set(device, state, xid=params.xid, reason=f"ECC error (Xid {params.xid})")
        if params.break_upstream:
            await ctx.providers.set_fault(fault.target, "error_500", {"rate": 1.0})

        async def revert() -> None:
            if params.break_upstream:
                await ctx.providers.clear_fault(fault.target)
            ctx.gpu.clear(device)

        return revert
