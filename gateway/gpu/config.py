"""Telemetry configuration and the explicit registry of telemetry sources.

>>> tel = build_telemetry(GpuTelemetryConfig(source="simulated"))
>>> type(tel).__name__
'SimulatedTelemetry'
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from governance.registry import suggestion

from gateway.gpu.errors import GpuConfigError, GpuTelemetryError
from gateway.gpu.health import GpuTelemetry
from gateway.gpu.injectable import InjectableTelemetry
from gateway.gpu.nvml import NvmlTelemetry
from gateway.gpu.simulated import SimulatedTelemetry

log = logging.getLogger(__name__)

InnerSource = Literal["auto", "nvml", "simulated"]


class GpuTelemetryConfig(BaseModel):
    """How the gateway reads GPU health.

    ``source``: ``simulated`` | ``nvml`` | ``injectable`` | ``auto`` (NVML when it initialises,
    else simulated with a warning). ``inner`` is the source under ``injectable``. ``control_file``
    is required for ``injectable``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    source: str = "auto"
    control_file: Path | None = None
    poll_ms: int = Field(default=50, ge=1, le=60_000)
    inner: InnerSource = "auto"
    xid_hold_s: float = Field(default=60.0, gt=0)

    @field_validator("source")
    @classmethod
    def _known_source(cls, value: str) -> str:
        if value not in TELEMETRY_SOURCES:
            raise ValueError(unknown_source_message(value))
        return value

    @model_validator(mode="after")
    def _control_file_for_injectable(self) -> GpuTelemetryConfig:
        if self.source == "injectable" and self.control_file is None:
            raise ValueError("source 'injectable' needs control_file (the JSON file the harness writes)")
        return self


def unknown_source_message(name: str) -> str:
    return f"unknown GPU telemetry source {name!r}{suggestion(name, TELEMETRY_SOURCES, n=2, cutoff=0.4)}"


def _nvml(config: GpuTelemetryConfig) -> GpuTelemetry:
    return NvmlTelemetry(xid_hold_s=config.xid_hold_s)


def _simulated(config: GpuTelemetryConfig) -> GpuTelemetry:
    return SimulatedTelemetry()


def _auto(config: GpuTelemetryConfig) -> GpuTelemetry:
    try:
        return _nvml(config)
    except GpuTelemetryError as exc:
        log.warning("GPU telemetry: NVML unavailable (%s); using simulated GPUs (all healthy)", exc.message)
        return SimulatedTelemetry()


def _injectable(config: GpuTelemetryConfig) -> GpuTelemetry:
    assert config.control_file is not None  # enforced by the config model
    inner = {"auto": _auto, "nvml": _nvml, "simulated": _simulated}[config.inner](config)
    return InjectableTelemetry(inner, config.control_file)


# The registry: filled here, in one place. Names are part of the gateway config format.
TELEMETRY_SOURCES: dict[str, Callable[[GpuTelemetryConfig], GpuTelemetry]] = {
    "auto": _auto,
    "injectable": _injectable,
    "nvml": _nvml,
    "simulated": _simulated,
}


def build_telemetry(config: GpuTelemetryConfig) -> GpuTelemetry:
    """Build the configured source.

    Raises:
        GpuConfigError: unknown source name (with the closest known names).
        GpuTelemetryError: ``nvml`` requested (as source, or as ``inner``) and NVML does not
            initialise — an explicit request never silently falls back to simulated GPUs.
    """
    factory = TELEMETRY_SOURCES.get(config.source)
    if factory is None:  # only reachable with model_construct(); keep the error specific
        raise GpuConfigError(unknown_source_message(config.source))
    return factory(config)
