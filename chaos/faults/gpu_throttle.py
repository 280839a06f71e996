"""``gpu_throttle``: thermal or power throttling: the GPU is degraded, not dead, and slower."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from chaos.faults.base import FaultContext, FaultParams, Revert, gpu_device, gpu_device_of
from chaos.faults.effects import AllOf, Effect, GpuShown, WitnessDelayed
from chaos.scenario.model import FaultSpec, UpstreamSpec


class GpuThrottleParams(FaultParams):
    cause: Literal["thermal", "power"] = "thermal"
    extra_latency_ms: int = Field(200, ge=0, le=60_000, description="slowdown via the proxy")


class GpuThrottle:
    name: ClassVar[str] = "gpu_throttle"
    params: ClassVar[type[FaultParams]] = GpuThrottleParams
    layer: ClassVar[str] = "gpu"
    summary: ClassVar[str] = "GPU degraded (thermal/power throttling), upstream slower"

    def effect(self, fault: FaultSpec, params: GpuThrottleParams, target: UpstreamSpec) -> Effect:
        shown = GpuShown(gpu_device_of(target, fault), "degraded")
        if params.extra_latency_ms:
            return AllOf((shown, WitnessDelayed(params.extra_latency_ms)))
        return shown

    async def apply(
        self, ctx: FaultContext, fault: FaultSpec, params: GpuThrottleParams
    ) -> Revert:
        device = gpu_device(ctx, fault)
        ctx.gpu.set(device, "degraded", xid=None, reason=f"{params.cause} throttling")
        toxic = f"govchaos-{fault.name or fault.kind}"
        if params.extra_latency_ms:
            await ctx.proxy.add_toxic(
                fault.target,
                toxic,
                "latency",
                stream="downstream",
                toxicity=1.0,
                attributes={"latency": params.extra_latency_ms, "jitter": 0},
            )

        async def revert() -> None:
            if params.extra_latency_ms:
                await ctx.proxy.remove_toxic(fault.target, toxic)
            ctx.gpu.clear(device)

        return revert
