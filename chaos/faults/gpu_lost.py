"""``gpu_lost``: the GPU backing an upstream falls off the bus (Xid 79) and its worker dies.

Order matters: telemetry first (what NVML would report), then the worker, because on real
hardware the driver notices before the inference server does. Repair in reverse.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from chaos.faults.base import FaultContext, FaultParams, Revert, gpu_device, gpu_device_of
from chaos.faults.effects import AllOf, Effect, GpuShown, NoRequests, WitnessRefused
from chaos.scenario.model import FaultSpec, UpstreamSpec


class GpuLostParams(FaultParams):
    xid: int = Field(79, description="NVIDIA Xid reported (79: GPU has fallen off the bus)")
    kill_upstream: bool = Field(True, description="also kill the GPU-backed upstream")


class GpuLost:
    name: ClassVar[str] = "gpu_lost"
    params: ClassVar[type[FaultParams]] = GpuLostParams
    layer: ClassVar[str] = "gpu"
    summary: ClassVar[str] = "GPU lost (Xid 79) in telemetry and its upstream killed"

    def effect(self, fault: FaultSpec, params: GpuLostParams, target: UpstreamSpec) -> Effect:
        shown = GpuShown(gpu_device_of(target, fault), "lost", params.xid)
        if params.kill_upstream:
            return AllOf((shown, NoRequests(), WitnessRefused()))
        return shown

    def kills_process(self, params: GpuLostParams) -> bool:
        return params.kill_upstream

    async def apply(self, ctx: FaultContext, fault: FaultSpec, params: GpuLostParams) -> Revert:
        device = gpu_device(ctx, fault)
        ctx.gpu.set(device, "lost", xid=params.xid, reason="GPU has fallen off the bus")
        if params.kill_upstream:
            await ctx.providers.kill(fault.target)

        async def revert() -> None:
            if params.kill_upstream:
                await ctx.providers.restart(fault.target)
            ctx.gpu.clear(device)

        return revert
