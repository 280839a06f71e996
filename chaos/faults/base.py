"""What a fault kind is, and what it may touch.

A fault kind is a small object with two methods: :meth:`FaultKind.apply` breaks something and
returns the coroutine function that repairs it; :meth:`FaultKind.effect` declares what the
broken thing must then observably do (:mod:`chaos.faults.effects`), which the runner checks
from ground truth, so a fault that did not bite ends the run ``broken``. It reaches the world only through
:class:`FaultContext`: the fault proxy in front of each upstream (network faults), the simulated
upstream fleet (provider faults) and the GPU telemetry control file (GPU faults). The runner
builds the context from whichever proxy, fleet and control file the run uses, so a kind never
knows whether it drives the embedded proxy or a real Toxiproxy.

Errors: a kind raises :class:`FaultApplyError` when the world refuses (the runner records the
fault as not applied and the run as broken).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, ClassVar, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from chaos.errors import ChaosError
from chaos.faults.effects import Effect
from chaos.scenario.model import FaultSpec, UpstreamSpec

Revert = Callable[[], Awaitable[None]]

from chaos.scenario.model import UpstreamSpec


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

    def overrides(self) -> Mapping[int, Any]:
        """What the file says now: device -> entry with ``state`` and ``xid`` (read back)."""
        ...


class FaultContext(Protocol):
    """Everything a fault kind may touch during a run."""

    proxy: ProxyControl
    providers: ProviderControl
    gpu: GpuControl

    def upstream(self, name: str) -> UpstreamSpec: ...

    def proxy_address(self, name: str) -> tuple[str, int]:
        """Host and port of the fault proxy in front of upstream ``name`` (the witness's way
        in, :mod:`chaos.faults.witness`)."""
        ...


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

    def effect(self, fault: FaultSpec, params: Any, target: UpstreamSpec) -> Effect:
        """The effect this fault must produce on ``target`` (the scenario's declaration of
        ``fault.target``), checked from ground truth after the run (:mod:`chaos.faults.effects`).
        Pure: no I/O.

        Raises:
            FaultApplyError: the fault cannot have an effect on this target (no GPU).
        """
        ...


def kills_target(kind: FaultKind, params: FaultParams) -> bool:
    """Whether ``kind`` with ``params`` kills its target's process (``kills_process(params)``
    on the kind; absent means no). The runner hosts such an upstream in a process of its own,
    so the kill is a SIGKILL that takes every connection down with it."""
    check = getattr(kind, "kills_process", None)
    return bool(check(params)) if callable(check) else False


def gpu_device(ctx: FaultContext, fault: FaultSpec) -> int:
    """The GPU index backing ``fault.target``. Raises FaultApplyError when it has none."""
    return gpu_device_of(ctx.upstream(fault.target), fault)


def gpu_device_of(spec: UpstreamSpec, fault: FaultSpec) -> int:
    """The GPU index ``spec`` declares. Raises FaultApplyError when it has none."""
    if spec.gpu_device is None:
        raise FaultApplyError(f"{fault.kind}: upstream {fault.target!r} declares no gpu_device")
    return spec.gpu_device
