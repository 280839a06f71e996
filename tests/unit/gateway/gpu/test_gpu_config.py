from __future__ import annotations

import logging
import sys
from pathlib import Path

import pydantic
import pytest

import gpu_fake_pynvml as fake
from gateway.gpu import (
    GpuTelemetryConfig,
    GpuTelemetryError,
    InjectableTelemetry,
    NvmlTelemetry,
    SimulatedTelemetry,
    build_telemetry,
)


@pytest.fixture
def no_nvml(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", fake.build(init_error=OSError("libnvidia-ml.so.1: not found")))


@pytest.fixture
def nvml(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", fake.build())


def test_defaults() -> None:
    config = GpuTelemetryConfig()
    assert (config.source, config.poll_ms, config.inner, config.control_file) == ("auto", 50, "auto", None)


def test_unknown_source_suggests_the_closest_names() -> None:
    with pytest.raises(pydantic.ValidationError, match="unknown GPU telemetry source 'nvlm'.*did you mean 'nvml'"):
        GpuTelemetryConfig(source="nvlm")


def test_injectable_needs_a_control_file_and_extra_fields_are_rejected() -> None:
    with pytest.raises(pydantic.ValidationError, match="needs control_file"):
        GpuTelemetryConfig(source="injectable")
    with pytest.raises(pydantic.ValidationError):
        GpuTelemetryConfig(source="simulated", poll_msec=10)  # type: ignore[call-arg]
    with pytest.raises(pydantic.ValidationError):
        GpuTelemetryConfig(poll_ms=0)


def test_simulated(no_nvml) -> None:
    assert isinstance(build_telemetry(GpuTelemetryConfig(source="simulated")), SimulatedTelemetry)


def test_explicit_nvml_without_a_driver_is_a_clear_error(no_nvml) -> None:
    with pytest.raises(GpuTelemetryError, match="NVML could not be initialised"):
        build_telemetry(GpuTelemetryConfig(source="nvml"))
    with pytest.raises(GpuTelemetryError, match="NVML could not be initialised"):
        build_telemetry(GpuTelemetryConfig(source="injectable", control_file=Path("x.json"), inner="nvml"))


def test_auto_falls_back_to_simulated_with_a_warning(no_nvml, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="gateway.gpu.config"):
        tel = build_telemetry(GpuTelemetryConfig(source="auto"))
    assert isinstance(tel, SimulatedTelemetry)
    assert "NVML unavailable" in caplog.text and "simulated" in caplog.text


def test_auto_uses_nvml_when_it_initialises(nvml) -> None:
    assert isinstance(build_telemetry(GpuTelemetryConfig()), NvmlTelemetry)


def test_injectable_wraps_the_chosen_inner_source(no_nvml, tmp_path: Path) -> None:
    tel = build_telemetry(GpuTelemetryConfig(source="injectable", control_file=tmp_path / "g.json"))
    assert isinstance(tel, InjectableTelemetry) and isinstance(tel.inner, SimulatedTelemetry)
    assert tel.control.path == tmp_path / "g.json"
