"""``process_kill``: kill the upstream's server (connection refused), restart it on revert."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from chaos.faults.base import FaultContext, FaultParams, Revert
from chaos.scenario.model import FaultSpec


class ProcessKillParams(FaultParams):
    restart: bool = Field(True, description="restart the upstream when the fault ends")


class ProcessKill:
    name: ClassVar[str] = "process_kill"
    params: ClassVar[type[FaultParams]] = ProcessKillParams
    layer: ClassVar[str] = "process"
    summary: ClassVar[str] = "the upstream server process is killed (restarted at the end)"

    async def apply(self, ctx: FaultContext, fault: FaultSpec, params: ProcessKillParams) -> Revert:
        await ctx.providers.kill(fault.target)

        async def revert() -> None:
            if params.restart:
                await ctx.providers.restart(fault.target)

        return revert
