"""What a fault kind is, and what it may touch.

A fault kind is a small object behind one method, :meth:`FaultKind.apply`, which breaks
something and returns the coroutine function that repairs it. It reaches the world only through
:class:`FaultContext`: the fault proxy in front of each upstream (network faults), the simulated
upstream fleet (provider faults) and the GPU telemetry control file (GPU faults). The runner
builds the context from whichever proxy, fleet and control file the run uses, so a kind never
knows whether it drives the embedded proxy or a real Toxiproxy.

Errors: a kind raises :class:`FaultApplyError` when the world refuses (the runner records the
fault as not applied and the run as broken).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, ClassVar, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from chaos.errors import ChaosError
from chaos.scenario.model import FaultSpec, UpstreamSpec

Revert = Callable[[], Awaitable[None]]


class FaultApplyError(ChaosError):
    """Applying or reverting a fault failed (the run is broken, not the hypothesis)."""

    code = "fault_apply_failed"
    exit_code = 2


class FaultParams(BaseModel):
    """Base of every kind's params model: frozen, unknown fields rejected."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class ToxicParams(FaultParams):
    """Shared by the proxy-toxic kinds (Toxiproxy's ``stream`` and ``toxicity``)."""

    stream: Literal["upstream", "downstream"] = "downstream"
    probability: float = Field(1.0, ge=0, le=1, description="Toxiproxy toxicity")


class ProxyControl(Protocol):
    """The fault proxy in front of one upstream (Toxiproxy model)."""

    async def set_enabled(self, upstream: str, enabled: bool) -> None: ...

    async def add_toxic(
        self,
        upstream: str,
        name: str,
        toxic_type: str,
        *,
        stream: str,
        toxicity: float,
        attributes: dict[str, Any],
    ) -> None: ...

    async def remove_toxic(self, upstream: str, name: str) -> None: ...


class ProviderControl(Protocol):
    """The simulated upstream fleet (provider faults, process kill/restart)."""

    async def set_fault(self, upstream: str, kind: str, params: dict[str, Any]) -> None: ...

    async def clear_fault(self, upstream: str) -> None: ...

    async def kill(self, upstream: str) -> None: ...

    async def restart(self, upstream: str) -> None: ...


class GpuControl(Protocol):
    """The GPU telemetry control file the gateway's injectable source overlays."""

    def set(self, device: int, state: str, *, xid: int | None, reason: str) -> None: ...

    def clear(self, device: int) -> None: ...


class FaultContext(Protocol):
    """Everything a fault kind may touch during a run."""

    proxy: ProxyControl
    providers: ProviderControl
    gpu: GpuControl

    def upstream(self, name: str) -> UpstreamSpec: ...


@runtime_checkable
class FaultKind(Protocol):
    """One kind of fault. ``name`` and ``params`` describe it; ``apply`` is its only method."""

    name: ClassVar[str]
    params: ClassVar[type[FaultParams]]
    layer: ClassVar[Literal["network", "provider", "process", "gpu"]]
    summary: ClassVar[str]

    async def apply(self, ctx: FaultContext, fault: FaultSpec, params: Any) -> Revert:
        """Break ``fault.target``; return the coroutine function that repairs it.

        Raises:
            FaultApplyError: the proxy, fleet or control file refused.
        """
        ...


def gpu_device(ctx: FaultContext, fault: FaultSpec) -> int:
    """The GPU index backing ``fault.target``. Raises FaultApplyError when it has none."""
    spec = ctx.upstream(fault.target)
    if spec.gpu_device is None:
        raise FaultApplyError(f"{fault.kind}: upstream {fault.target!r} declares no gpu_device")
    return spec.gpu_device
