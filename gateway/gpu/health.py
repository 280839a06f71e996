"""One GPU's health as a typed, frozen value, and the one-method telemetry protocol.

>>> h = GpuHealth.healthy(0, source="simulated")
>>> (h.device, h.state, h.xid)
(0, 'healthy', None)
"""

from __future__ import annotations

import time
from typing import Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

GpuState = Literal["healthy", "degraded", "lost"]
GPU_STATES: tuple[str, ...] = ("healthy", "degraded", "lost")


class GpuHealth(BaseModel):
    """What a telemetry source says about one device at one moment.

    ``observed_at`` is ``time.monotonic()`` (CLOCK_MONOTONIC is system-wide on Linux, so a
    harness in another process can compare it with its own clock to measure detection latency).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    device: int = Field(ge=0)
    state: GpuState
    xid: int | None = None
    reason: str = ""
    source: str
    observed_at: float
    temperature_c: float | None = None
    power_w: float | None = None
    throttle_reasons: tuple[str, ...] = ()
    ecc_errors: int | None = None

    @classmethod
    def healthy(cls, device: int, *, source: str, **fields: object) -> GpuHealth:
        return cls(device=device, state="healthy", source=source, observed_at=time.monotonic(), **fields)

    def transition_key(self) -> tuple[str, int | None, str]:
        """What must change for a reading to count as a transition.

        Fluctuating figures (temperature, power) stay out of it so transitions are logged once.
        """
        return (self.state, self.xid, self.reason)


@runtime_checkable
class GpuTelemetry(Protocol):
    """A source of GPU health. One required method.

    Optional attributes a source may carry: ``reads_block`` (bool; when true the monitor calls
    :meth:`read` in a worker thread) and ``close()`` (release handles).
    """

    def read(self, device: int) -> GpuHealth:
        """Current health of ``device``.

        Raises:
            GpuTelemetryError: the source could not be read (the monitor reports the device as
                degraded and keeps polling).
        """
        ...


def reads_block(telemetry: GpuTelemetry) -> bool:
    return bool(getattr(telemetry, "reads_block", False))


def close_telemetry(telemetry: GpuTelemetry) -> None:
    close = getattr(telemetry, "close", None)
    if callable(close):
        close()
