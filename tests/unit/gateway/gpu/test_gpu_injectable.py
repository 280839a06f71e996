from __future__ import annotations

from pathlib import Path

import pytest

from gateway.gpu import GpuControlFile, GpuTelemetryError, InjectableTelemetry, SimulatedTelemetry


def test_overlay_wins_and_absent_devices_read_through(tmp_path: Path) -> None:
    inner = SimulatedTelemetry()
    inner.set(1, "degraded", reason="inner says so")
    tel = InjectableTelemetry(inner, tmp_path / "gpu.json")
    assert tel.read(0).source == "simulated"  # no file yet: read-through
    ctl = GpuControlFile(tmp_path / "gpu.json")
    ctl.set(0, "lost", xid=79, reason="harness")
    lost = tel.read(0)
    assert (lost.state, lost.xid, lost.reason, lost.source) == ("lost", 79, "harness", "injectable")
    assert tel.read(1).reason == "inner says so"
    ctl.set(1, "healthy")  # the overlay can also mask an inner problem
    assert tel.read(1).state == "healthy" and tel.read(1).reason.startswith("injected")
    ctl.clear_all()
    assert tel.read(0).state == "healthy" and tel.read(0).source == "simulated"


def test_inner_errors_pass_through_for_unoverridden_devices(tmp_path: Path) -> None:
    tel = InjectableTelemetry(SimulatedTelemetry(device_count=1), tmp_path / "gpu.json")
    with pytest.raises(GpuTelemetryError):
        tel.read(5)
    GpuControlFile(tmp_path / "gpu.json").set(5, "lost")
    assert tel.read(5).state == "lost"


def test_blocking_follows_the_inner_source(tmp_path: Path) -> None:
    class Blocking(SimulatedTelemetry):
        reads_block = True

    assert InjectableTelemetry(Blocking(), tmp_path / "g.json").reads_block is True
    assert InjectableTelemetry(SimulatedTelemetry(), tmp_path / "g.json").reads_block is False
