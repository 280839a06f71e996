from __future__ import annotations

import pytest

from gateway.gpu import GpuTelemetryError, SimulatedTelemetry


def test_all_healthy_by_default() -> None:
    sim = SimulatedTelemetry()
    for device in (0, 1, 7):
        health = sim.read(device)
        assert (health.device, health.state, health.source, health.xid) == (device, "healthy", "simulated", None)


def test_set_and_clear() -> None:
    sim = SimulatedTelemetry(device_count=2)
    sim.set(1, "degraded", xid=48, reason="double-bit ECC error")
    assert sim.read(1).state == "degraded" and sim.read(1).xid == 48
    assert sim.read(0).state == "healthy"
    sim.clear(1)
    assert sim.read(1).state == "healthy"


def test_unknown_device_or_state_is_a_specific_error() -> None:
    sim = SimulatedTelemetry(device_count=2)
    with pytest.raises(GpuTelemetryError, match="GPU 2 does not exist"):
        sim.read(2)
    with pytest.raises(GpuTelemetryError, match="unknown GPU state"):
        sim.set(0, "exploded")  # type: ignore[arg-type]
