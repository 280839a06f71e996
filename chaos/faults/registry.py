"""The explicit registry of fault kinds, filled in one place (:func:`default_registry`).

>>> default_registry().get("latency").name
'latency'
>>> default_registry().get("latncy")
Traceback (most recent call last):
...
chaos.faults.registry.FaultKindError: unknown fault kind 'latncy' (did you mean 'latency'?)
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from pydantic import ValidationError

from governance.registry import Registry

from chaos.errors import ScenarioError
from chaos.faults.base import FaultKind, FaultParams
from chaos.scenario.model import FaultSpec


class FaultKindError(ScenarioError):
    """An unknown kind or invalid params; ``field`` is the path inside the fault entry."""

    code = "invalid_fault"

    def __init__(self, message: str, *, field: tuple[str | int, ...] = ()) -> None:
        super().__init__(message)
        self.field = field


class FaultRegistry:
    """Fault kinds by name. Unknown names fail with the closest registered names."""

    def __init__(self) -> None:
        self._kinds: Registry[FaultKind] = Registry(
            "fault kind", lambda message: FaultKindError(message, field=("kind",))
        )

    def register(self, kind: FaultKind) -> None:
        """Add ``kind``. Raises ValueError if its name is taken (a programming error)."""
        self._kinds.register(kind.name, kind)

    def names(self) -> list[str]:
        return list(self._kinds.names())

    def get(self, name: str) -> FaultKind:
        """The kind called ``name``. Raises FaultKindError suggesting the closest names."""
        return self._kinds.get(name)

    def parse_params(self, fault: FaultSpec) -> FaultParams:
        """``fault.params`` validated by its kind's params model. Raises FaultKindError."""
        kind = self.get(fault.kind)
        try:
            return kind.params.model_validate(fault.params)
        except ValidationError as exc:
            error = exc.errors(include_url=False)[0]
            loc = tuple(error.get("loc", ()))
            message = str(error.get("msg", "invalid value"))
            if error.get("type") == "extra_forbidden":
                allowed = ", ".join(kind.params.model_fields) or "none"
                message = f"unknown parameter for {fault.kind} (allowed: {allowed})"
            raise FaultKindError(message, field=("params", *loc)) from exc

    def validate(self, fault: FaultSpec) -> None:
        """Check the kind exists and its params are valid. Raises FaultKindError."""
        self.parse_params(fault)

    def describe(self) -> list[dict[str, Any]]:
        """Name, layer, summary and params schema of every kind (for docs and the CLI)."""
        return [
            {
                "name": kind.name,
                "layer": kind.layer,
                "summary": kind.summary,
                "params": kind.params.model_json_schema(),
            }
            for kind in self._kinds
        ]


@lru_cache(maxsize=1)
def default_registry() -> FaultRegistry:
    """Every built-in fault kind. Add a new kind here (see docs/authoring-faults.md)."""
    from chaos.faults.bandwidth import Bandwidth
    from chaos.faults.empty_content import EmptyContent
    from chaos.faults.error_500 import Error500
    from chaos.faults.gpu_ecc import GpuEcc
    from chaos.faults.gpu_lost import GpuLost
    from chaos.faults.gpu_throttle import GpuThrottle
    from chaos.faults.hang import Hang
    from chaos.faults.latency import Latency
    from chaos.faults.malformed_output import MalformedOutput
    from chaos.faults.process_kill import ProcessKill
    from chaos.faults.rate_limit_429 import RateLimit429
    from chaos.faults.reset_peer import ResetPeer
    from chaos.faults.schema_violation import SchemaViolation
    from chaos.faults.slow_stream import SlowStream
    from chaos.faults.stream_cut import StreamCut
    from chaos.faults.timeout import Timeout
    from chaos.faults.upstream_down import UpstreamDown

    registry = FaultRegistry()
    for kind in (
        UpstreamDown(),
        Latency(),
        ResetPeer(),
        Bandwidth(),
        Timeout(),
        Error500(),
        RateLimit429(),
        MalformedOutput(),
        SchemaViolation(),
        EmptyContent(),
        StreamCut(),
        SlowStream(),
        Hang(),
        ProcessKill(),
        GpuLost(),
        GpuEcc(),
        GpuThrottle(),
    ):
        registry.register(kind)
    return registry
