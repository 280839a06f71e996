"""NVML mapping paths, driven through a fake ``pynvml`` module (no GPU needed), plus one real
NVML smoke test marked ``gpu``."""

from __future__ import annotations

import sys

import pytest

import gpu_fake_pynvml as fake
from gateway.gpu import GpuTelemetryConfig, GpuTelemetryError, NvmlTelemetry, build_telemetry, xid_state


@pytest.fixture
def nvml(monkeypatch: pytest.MonkeyPatch):
    module = fake.build(gpus=2)
    monkeypatch.setitem(sys.modules, "pynvml", module)
    return module


def test_healthy_reading_carries_telemetry(nvml) -> None:
    tel = NvmlTelemetry()
    h = tel.read(0)
    assert (h.state, h.source, h.xid, h.reason) == ("healthy", "nvml", None, "")
    assert (h.temperature_c, h.power_w, h.ecc_errors, h.throttle_reasons) == (45.0, 250.0, 0, ())
    assert tel.reads_block is True


def test_gpu_is_lost_on_any_query_is_lost_xid_79_and_sticky(nvml) -> None:
    tel = NvmlTelemetry()
    assert tel.read(1).state == "healthy"
    nvml.gpus[1].lost = True
    h = tel.read(1)
    assert (h.state, h.xid) == ("lost", 79)
    assert "NVML_ERROR_GPU_IS_LOST" in h.reason
    nvml.gpus[1].lost = False  # a lost GPU needs a reset; NVML answering again is not trusted
    assert tel.read(1).state == "lost"
    assert tel.read(0).state == "healthy"


def test_gpu_lost_before_first_handle(nvml, monkeypatch: pytest.MonkeyPatch) -> None:
    def lost(index: int) -> int:
        raise fake.NVMLError_GpuIsLost()

    monkeypatch.setattr(nvml, "nvmlDeviceGetHandleByIndex", lost)
    assert NvmlTelemetry().read(0).state == "lost"


def test_xid_79_event_is_lost(nvml) -> None:
    tel = NvmlTelemetry()
    tel.read(0)  # registers the event set
    nvml.gpus[0].events.append(fake.FakeEvent(eventType=0x8, eventData=79))
    h = tel.read(0)
    assert (h.state, h.xid) == ("lost", 79)
    assert "fallen off the bus" in h.reason


@pytest.mark.parametrize("xid", [48, 94, 95])
def test_ecc_xids_degrade_for_the_hold_time(nvml, xid: int, monkeypatch: pytest.MonkeyPatch) -> None:
    tel = NvmlTelemetry(xid_hold_s=30)
    tel.read(0)
    nvml.gpus[0].events.append(fake.FakeEvent(eventType=0x8, eventData=xid))
    h = tel.read(0)
    assert (h.state, h.xid) == ("degraded", xid)
    assert "ECC" in h.reason
    assert tel.read(0).state == "degraded"  # still held
    clock = __import__("time").monotonic() + 31
    monkeypatch.setattr("gateway.gpu.nvml.time.monotonic", lambda: clock)
    assert tel.read(0).state == "healthy"


def test_other_xids_degrade_and_non_xid_events_are_ignored(nvml) -> None:
    tel = NvmlTelemetry()
    tel.read(0)
    nvml.gpus[0].events.extend([fake.FakeEvent(eventType=0x1, eventData=0), fake.FakeEvent(eventType=0x8, eventData=31)])
    h = tel.read(0)
    assert (h.state, h.xid) == ("degraded", 31)
    assert xid_state(12345) == ("degraded", "Xid 12345: critical error")


def test_event_drain_is_bounded(nvml) -> None:
    tel = NvmlTelemetry()
    tel.read(0)
    nvml.gpus[0].events.extend(fake.FakeEvent(eventType=0x8, eventData=13) for _ in range(500))
    tel.read(0)
    assert 0 < len(nvml.gpus[0].events) < 500


@pytest.mark.parametrize(
    ("mask", "state", "names"),
    [
        (0x20, "degraded", ("sw_thermal_slowdown",)),
        (0x40, "degraded", ("hw_thermal_slowdown",)),
        (0x08 | 0x80, "degraded", ("hw_slowdown", "hw_power_brake_slowdown")),
        (0x04, "healthy", ("sw_power_cap",)),  # normal under full load
        (0x01, "healthy", ("gpu_idle",)),
    ],
)
def test_throttle_reasons(nvml, mask: int, state: str, names: tuple[str, ...]) -> None:
    nvml.gpus[0].throttle_mask = mask
    h = NvmlTelemetry().read(0)
    assert (h.state, h.throttle_reasons) == (state, names)
    if state == "degraded":
        assert "clocks slowed" in h.reason


def test_legacy_throttle_api_is_used_when_the_new_one_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    module = fake.build(legacy_throttle_api=True)
    module.gpus[0].throttle_mask = 0x40
    monkeypatch.setitem(sys.modules, "pynvml", module)
    assert NvmlTelemetry().read(0).state == "degraded"


def test_volatile_uncorrected_ecc_degrades_and_unsupported_is_none(nvml) -> None:
    nvml.gpus[0].ecc = 2
    nvml.gpus[1].ecc = None  # consumer GPUs: NVML_ERROR_NOT_SUPPORTED
    tel = NvmlTelemetry()
    h0, h1 = tel.read(0), tel.read(1)
    assert h0.state == "degraded" and h0.ecc_errors == 2 and "ECC" in h0.reason
    assert h1.state == "healthy" and h1.ecc_errors is None


def test_events_unsupported_still_polls(monkeypatch: pytest.MonkeyPatch) -> None:
    module = fake.build(events_supported=False)
    monkeypatch.setitem(sys.modules, "pynvml", module)
    tel = NvmlTelemetry()
    assert tel.read(0).state == "healthy"
    module.gpus[0].lost = True
    assert tel.read(0).state == "lost"


def test_other_nvml_errors_are_translated_at_the_boundary(nvml, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(handle: int) -> int:
        raise fake.NVMLError(999)

    monkeypatch.setattr(nvml, "nvmlDeviceGetPowerUsage", broken)
    with pytest.raises(GpuTelemetryError, match="nvmlDeviceGetPowerUsage failed for GPU 0") as info:
        NvmlTelemetry().read(0)
    assert isinstance(info.value.__cause__, fake.NVMLError)


def test_unknown_device_is_a_specific_error(nvml) -> None:
    with pytest.raises(GpuTelemetryError, match=r"GPU 2 does not exist \(NVML sees 2"):
        NvmlTelemetry().read(2)


def test_init_failure_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", fake.build(init_error=fake.NVMLError(9)))
    with pytest.raises(GpuTelemetryError, match="NVML could not be initialised.*driver") as info:
        NvmlTelemetry()
    assert isinstance(info.value.__cause__, fake.NVMLError)


def test_no_gpu_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    module = fake.build(gpus=0)
    monkeypatch.setitem(sys.modules, "pynvml", module)
    with pytest.raises(GpuTelemetryError, match="no GPU"):
        NvmlTelemetry()
    assert module.calls[-1] == "shutdown"


def test_close_frees_event_sets_and_shuts_down(nvml) -> None:
    tel = NvmlTelemetry()
    tel.read(0)
    tel.close()
    tel.close()
    assert nvml.calls.count("free") == 1 and nvml.calls.count("shutdown") == 1
    with pytest.raises(GpuTelemetryError, match="closed"):
        tel.read(0)


@pytest.mark.gpu
def test_real_nvml_reads_every_gpu() -> None:
    tel = build_telemetry(GpuTelemetryConfig(source="nvml"))
    try:
        for device in range(tel.device_count):  # type: ignore[attr-defined]
            health = tel.read(device)
            assert health.state in ("healthy", "degraded")
            assert health.temperature_c is None or 0 < health.temperature_c < 120
    finally:
        tel.close()  # type: ignore[attr-defined]
