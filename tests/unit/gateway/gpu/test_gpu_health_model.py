from __future__ import annotations

import pydantic
import pytest

from gateway.errors import GatewayError
from gateway.gpu import GpuHealth, GpuTelemetry, GpuTelemetryError, SimulatedTelemetry


def test_health_is_frozen_and_validated() -> None:
    h = GpuHealth.healthy(0, source="simulated")
    with pytest.raises(pydantic.ValidationError):
        h.state = "lost"  # type: ignore[misc]
    with pytest.raises(pydantic.ValidationError):
        GpuHealth(device=0, state="on-fire", source="x", observed_at=0.0)  # type: ignore[arg-type]
    with pytest.raises(pydantic.ValidationError):
        GpuHealth(device=-1, state="healthy", source="x", observed_at=0.0)


def test_transition_key_ignores_fluctuating_figures() -> None:
    a = GpuHealth(device=0, state="healthy", source="nvml", observed_at=1.0, temperature_c=50, power_w=100)
    b = GpuHealth(device=0, state="healthy", source="nvml", observed_at=2.0, temperature_c=51, power_w=120)
    assert a.transition_key() == b.transition_key()
    c = b.model_copy(update={"state": "degraded", "reason": "clocks slowed"})
    assert c.transition_key() != b.transition_key()


def test_sources_satisfy_the_protocol_and_errors_are_gateway_errors() -> None:
    assert isinstance(SimulatedTelemetry(), GpuTelemetry)
    assert issubclass(GpuTelemetryError, GatewayError)
