"""A stand-in for the ``pynvml`` module: enough of its surface to drive every mapping path."""

from __future__ import annotations

import types
from collections import deque
from dataclasses import dataclass, field


class NVMLError(Exception):
    def __init__(self, value: int) -> None:
        super().__init__(f"NVML error {value}")
        self.value = value


class NVMLError_GpuIsLost(NVMLError):  # noqa: N801 - pynvml's name
    def __init__(self) -> None:
        super().__init__(15)


def not_supported() -> NVMLError:
    return NVMLError(3)


@dataclass
class FakeEvent:
    eventType: int  # noqa: N815 - NVML's field name
    eventData: int  # noqa: N815


@dataclass
class FakeGpu:
    temperature: int = 45
    power_mw: int = 250_000
    throttle_mask: int = 0
    ecc: int | None = 0
    lost: bool = False
    events: deque[FakeEvent] = field(default_factory=deque)


def build(gpus: int = 1, *, init_error: Exception | None = None, events_supported: bool = True,
          legacy_throttle_api: bool = False) -> types.ModuleType:
    """A fresh fake module; ``module.gpus[i]`` is mutable state the test changes."""
    m = types.ModuleType("pynvml")
    m.NVMLError = NVMLError
    m.NVMLError_GpuIsLost = NVMLError_GpuIsLost
    m.gpus = [FakeGpu() for _ in range(gpus)]
    m.calls = []
    m.nvmlEventTypeXidCriticalError = 0x8

    def gpu(handle: int) -> FakeGpu:
        g = m.gpus[handle]
        if g.lost:
            raise NVMLError_GpuIsLost()
        return g

    def nvmlInit() -> None:
        m.calls.append("init")
        if init_error is not None:
            raise init_error

    def nvmlShutdown() -> None:
        m.calls.append("shutdown")

    def nvmlDeviceGetHandleByIndex(index: int) -> int:
        if not 0 <= index < len(m.gpus):
            raise NVMLError(2)
        return index

    def nvmlEventSetCreate() -> list[int]:
        return []

    def nvmlDeviceRegisterEvents(handle: int, types_: int, event_set: list[int]) -> None:
        if not events_supported:
            raise not_supported()
        event_set.append(handle)

    def nvmlEventSetWait(event_set: list[int], timeout_ms: int) -> FakeEvent:
        assert timeout_ms == 0, "the telemetry source must never block on events"
        for handle in event_set:
            g = gpu(handle)
            if g.events:
                return g.events.popleft()
        raise NVMLError(10)  # NVML_ERROR_TIMEOUT: nothing pending

    def nvmlEventSetFree(event_set: list[int]) -> None:
        m.calls.append("free")

    def nvmlDeviceGetTemperature(handle: int, sensor: int) -> int:
        return gpu(handle).temperature

    def nvmlDeviceGetPowerUsage(handle: int) -> int:
        return gpu(handle).power_mw

    def throttle(handle: int) -> int:
        return gpu(handle).throttle_mask

    def nvmlDeviceGetTotalEccErrors(handle: int, error_type: int, counter_type: int) -> int:
        g = gpu(handle)
        if g.ecc is None:
            raise not_supported()
        return g.ecc

    for fn in (nvmlInit, nvmlShutdown, nvmlDeviceGetHandleByIndex, nvmlEventSetCreate,
               nvmlDeviceRegisterEvents, nvmlEventSetWait, nvmlEventSetFree, nvmlDeviceGetTemperature,
               nvmlDeviceGetPowerUsage, nvmlDeviceGetTotalEccErrors):
        setattr(m, fn.__name__, fn)
    m.nvmlDeviceGetCount = lambda: len(m.gpus)
    if legacy_throttle_api:
        m.nvmlDeviceGetCurrentClocksThrottleReasons = throttle
    else:
        m.nvmlDeviceGetCurrentClocksEventReasons = throttle
    return m
