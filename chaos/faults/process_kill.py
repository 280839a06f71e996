"""``process_kill``: kill the upstream's server (connection refused), restart it on revert."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from chaos.faults.base import FaultContext, FaultParams, Revert
from chaos.faults.effects import AllOf, Effect, NoRequests, WitnessRefused
from chaos.scenario.model import FaultSpec, UpstreamSpec


class ProcessKillParams(FaultParams):
    restart: bool = Field(True, description="restart the upstream when the fault ends")


class ProcessKill:
    name: ClassVar[str] = "process_kill"
    params: ClassVar[type[FaultParams]] = ProcessKillParams
    layer: ClassVar[str] = "process"
    summary: ClassVar[str] = "the upstream server process is killed (restarted at the end)"

    def effect(self, fault: FaultSpec, params: ProcessKillParams, target: UpstreamSpec) -> Effect:
        # A SIGKILLed process receives nothing; through the proxy, connections die unanswered.
        return AllOf((NoRequests(), WitnessRefused()))

    def kills_process(self, params: ProcessKillParams) -> bool:
        return True

    async def apply(self, ctx: FaultContext, fault: FaultSpec, params: ProcessKillParams) -> Revert:
        await ctx.providers.kill(fault.target)

        async def revert() -> None:
            if params.restart:
                await ctx.providers.restart(fault.target)

        return revert
