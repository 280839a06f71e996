"""Real GPU health from NVML (``import pynvml``, distributed as ``nvidia-ml-py``).

Mapping (docs/gpu.md has the full table):

- ``NVML_ERROR_GPU_IS_LOST`` from any query → ``lost``, xid 79 (sticky: a lost GPU needs a reset,
  which restarts the process that holds NVML anyway);
- Xid critical-error events (``nvmlDeviceRegisterEvents`` + ``nvmlEventSetWait`` with a zero
  timeout on every read): 79 → ``lost`` (sticky); 48/94/95 (ECC) and any other Xid → ``degraded``
  for ``xid_hold_s``;
- clock event (throttle) reasons: thermal slowdowns and hardware/power-brake slowdowns →
  ``degraded``; the software power cap is normal under full load and is only reported;
- volatile uncorrected ECC errors > 0 → ``degraded``.

NVML's exceptions are translated here, where they enter: nothing outside this module sees them.
"""

from __future__ import annotations

import logging
import threading
import time
from types import ModuleType
from typing import Any

from gateway.gpu.errors import GpuTelemetryError
from gateway.gpu.health import GpuHealth, GpuState

log = logging.getLogger(__name__)

# NVML return codes and constants (nvml.h); fixed by NVIDIA's ABI, so a fake module in tests
# needs to provide only the functions and exception classes.
NVML_ERROR_NOT_SUPPORTED = 3
NVML_ERROR_NO_PERMISSION = 4
NVML_ERROR_TIMEOUT = 10
NVML_ERROR_FUNCTION_NOT_FOUND = 13
NVML_ERROR_GPU_IS_LOST = 15
NVML_TEMPERATURE_GPU = 0
NVML_MEMORY_ERROR_TYPE_UNCORRECTED = 1
NVML_VOLATILE_ECC = 0
EVENT_TYPE_XID_CRITICAL_ERROR = 0x8

XID_GPU_LOST = 79
ECC_XIDS = frozenset({48, 94, 95})
XID_MEANINGS: dict[int, str] = {
    13: "graphics engine exception",
    31: "GPU memory page fault",
    43: "GPU stopped processing",
    48: "double-bit ECC error",
    63: "ECC page retirement or row remapping recorded",
    64: "ECC page retirement or row remapping failure",
    74: "NVLink error",
    79: "GPU has fallen off the bus",
    92: "high single-bit ECC error rate",
    94: "contained ECC error",
    95: "uncontained ECC error",
    119: "GSP RPC timeout",
    120: "GSP error",
}

# Clock event ("throttle") reason bits, nvml.h nvmlClocksEventReason*.
THROTTLE_REASON_BITS: tuple[tuple[int, str], ...] = (
    (0x001, "gpu_idle"),
    (0x002, "applications_clocks_setting"),
    (0x004, "sw_power_cap"),
    (0x008, "hw_slowdown"),
    (0x010, "sync_boost"),
    (0x020, "sw_thermal_slowdown"),
    (0x040, "hw_thermal_slowdown"),
    (0x080, "hw_power_brake_slowdown"),
    (0x100, "display_clock_setting"),
)
DEGRADING_THROTTLE_REASONS = frozenset(
    {"hw_slowdown", "sw_thermal_slowdown", "hw_thermal_slowdown", "hw_power_brake_slowdown"}
)
_UNAVAILABLE = frozenset({NVML_ERROR_NOT_SUPPORTED, NVML_ERROR_NO_PERMISSION, NVML_ERROR_FUNCTION_NOT_FOUND})
_MAX_EVENTS_PER_READ = 64


def xid_state(xid: int) -> tuple[GpuState, str]:
    """What one Xid means for routing: ``(state, reason)``."""
    meaning = XID_MEANINGS.get(xid, "critical error")
    return ("lost" if xid == XID_GPU_LOST else "degraded", f"Xid {xid}: {meaning}")


def throttle_reason_names(mask: int) -> tuple[str, ...]:
    return tuple(name for bit, name in THROTTLE_REASON_BITS if mask & bit)


class _GpuLost(Exception):
    """Internal: a query said NVML_ERROR_GPU_IS_LOST."""


class NvmlTelemetry:
    """GPU health read through NVML. Reads may block (a sick driver can stall), so the monitor
    runs them in a worker thread (``reads_block = True``).

    Raises (constructor):
        GpuTelemetryError: ``pynvml`` is missing, ``nvmlInit`` fails (no driver), or NVML sees
            no GPU.
    """

    source = "nvml"
    reads_block = True

    def __init__(self, *, xid_hold_s: float = 60.0, nvml: ModuleType | None = None) -> None:
        if nvml is None:
            try:
                import pynvml as nvml  # the nvidia-ml-py distribution
            except ImportError as exc:
                raise GpuTelemetryError("NVML bindings missing: install nvidia-ml-py") from exc
        self._nvml: Any = nvml
        self._xid_hold_s = xid_hold_s
        try:
            nvml.nvmlInit()
        except Exception as exc:  # NVMLError or OSError from loading libnvidia-ml
            raise GpuTelemetryError(
                f"NVML could not be initialised ({exc}); is the NVIDIA driver installed? "
                "Use the simulated source on machines without a GPU."
            ) from exc
        try:
            self.device_count = int(nvml.nvmlDeviceGetCount())
        except Exception as exc:
            self._shutdown()
            raise GpuTelemetryError(f"NVML could not count GPUs: {exc}") from exc
        if self.device_count < 1:
            self._shutdown()
            raise GpuTelemetryError("NVML is available but reports no GPU")
        self._lock = threading.Lock()
        self._handles: dict[int, Any] = {}
        self._event_sets: dict[int, Any] = {}
        self._lost: dict[int, str] = {}
        self._recent_xid: dict[int, tuple[int, float]] = {}
        self._closed = False

    # -- NVML boundary ---------------------------------------------------------------------

    def _code(self, exc: BaseException) -> int | None:
        value = getattr(exc, "value", None)
        return value if isinstance(value, int) else None

    def _is_nvml_error(self, exc: BaseException) -> bool:
        base = getattr(self._nvml, "NVMLError", None)
        return isinstance(base, type) and isinstance(exc, base)

    def _is_gpu_lost(self, exc: BaseException) -> bool:
        lost_cls = getattr(self._nvml, "NVMLError_GpuIsLost", None)
        if isinstance(lost_cls, type) and isinstance(exc, lost_cls):
            return True
        return self._is_nvml_error(exc) and self._code(exc) == NVML_ERROR_GPU_IS_LOST

    def _call(self, device: int, what: str, fn: Any, *args: Any, optional: bool = False) -> Any:
        """Call one NVML function; ``None`` when ``optional`` and NVML says unsupported.

        Raises:
            _GpuLost: NVML_ERROR_GPU_IS_LOST.
            GpuTelemetryError: any other NVML failure.
        """
        try:
            return fn(*args)
        except Exception as exc:
            if self._is_gpu_lost(exc):
                raise _GpuLost(what) from exc
            if optional and self._is_nvml_error(exc) and self._code(exc) in _UNAVAILABLE:
                return None
            raise GpuTelemetryError(f"NVML {what} failed for GPU {device}: {exc}") from exc

    def _handle(self, device: int) -> Any:
        handle = self._handles.get(device)
        if handle is not None:
            return handle
        with self._lock:
            if device not in self._handles:
                if not 0 <= device < self.device_count:
                    raise GpuTelemetryError(
                        f"GPU {device} does not exist (NVML sees {self.device_count}: 0..{self.device_count - 1})"
                    )
                nvml = self._nvml
                handle = self._call(device, "nvmlDeviceGetHandleByIndex", nvml.nvmlDeviceGetHandleByIndex, device)
                self._handles[device] = handle
                self._event_sets[device] = self._register_xid_events(device, handle)
            return self._handles[device]

    def _register_xid_events(self, device: int, handle: Any) -> Any:
        """One event set per device, so an event's device needs no handle lookup."""
        nvml = self._nvml
        try:
            event_set = nvml.nvmlEventSetCreate()
            event_type = getattr(nvml, "nvmlEventTypeXidCriticalError", EVENT_TYPE_XID_CRITICAL_ERROR)
            nvml.nvmlDeviceRegisterEvents(handle, event_type, event_set)
        except Exception as exc:
            if self._is_gpu_lost(exc):
                raise _GpuLost("nvmlDeviceRegisterEvents") from exc
            # Not supported on some platforms (e.g. some virtualised GPUs): poll-only health.
            log.info("GPU %d: Xid events unavailable (%s); relying on polled health", device, exc)
            return None
        return event_set

    def _drain_xid_events(self, device: int) -> None:
        event_set = self._event_sets.get(device)
        if event_set is None:
            return
        nvml = self._nvml
        for _ in range(_MAX_EVENTS_PER_READ):  # bounded: a storm cannot pin the reader
            try:
                data = nvml.nvmlEventSetWait(event_set, 0)
            except Exception as exc:
                if self._is_gpu_lost(exc):
                    raise _GpuLost("nvmlEventSetWait") from exc
                if self._is_nvml_error(exc) and self._code(exc) == NVML_ERROR_TIMEOUT:
                    return  # no pending event
                raise GpuTelemetryError(f"NVML nvmlEventSetWait failed for GPU {device}: {exc}") from exc
            event_type = int(getattr(data, "eventType", 0))
            if not event_type & EVENT_TYPE_XID_CRITICAL_ERROR:
                continue
            xid = int(getattr(data, "eventData", 0))
            state, reason = xid_state(xid)
            log.warning("GPU %d: %s", device, reason)
            if state == "lost":
                self._lost[device] = reason
            else:
                self._recent_xid[device] = (xid, time.monotonic())

    # -- the one required method -----------------------------------------------------------

    def read(self, device: int) -> GpuHealth:
        """Raises: GpuTelemetryError for an unknown device or an NVML failure other than
        GPU-is-lost (which is a reading, not an error)."""
        if self._closed:
            raise GpuTelemetryError("NVML telemetry is closed")
        now = time.monotonic()
        if device in self._lost:
            return self._lost_health(device, self._lost[device], now)
        try:
            handle = self._handle(device)
            self._drain_xid_events(device)
            if device in self._lost:
                return self._lost_health(device, self._lost[device], now)
            return self._poll(device, handle, now)
        except _GpuLost as lost:
            reason = f"NVML_ERROR_GPU_IS_LOST from {lost}"
            self._lost[device] = reason
            log.error("GPU %d: %s", device, reason)
            return self._lost_health(device, reason, now)

    def _lost_health(self, device: int, reason: str, now: float) -> GpuHealth:
        return GpuHealth(
            device=device, state="lost", xid=XID_GPU_LOST, reason=reason, source=self.source, observed_at=now
        )

    def _poll(self, device: int, handle: Any, now: float) -> GpuHealth:
        nvml = self._nvml
        temperature = self._call(
            device, "nvmlDeviceGetTemperature", nvml.nvmlDeviceGetTemperature, handle, NVML_TEMPERATURE_GPU,
            optional=True,
        )
        power_mw = self._call(device, "nvmlDeviceGetPowerUsage", nvml.nvmlDeviceGetPowerUsage, handle, optional=True)
        mask = self._throttle_mask(device, handle)
        ecc = self._call(
            device, "nvmlDeviceGetTotalEccErrors", nvml.nvmlDeviceGetTotalEccErrors, handle,
            NVML_MEMORY_ERROR_TYPE_UNCORRECTED, NVML_VOLATILE_ECC, optional=True,
        )
        reasons = throttle_reason_names(mask or 0)
        state: GpuState = "healthy"
        xid: int | None = None
        why: list[str] = []
        recent = self._recent_xid.get(device)
        if recent is not None:
            if now - recent[1] <= self._xid_hold_s:
                xid = recent[0]
                why.append(xid_state(xid)[1])
            else:
                del self._recent_xid[device]
        if ecc:
            why.append(f"{int(ecc)} volatile uncorrected ECC errors")
        slowdowns = [r for r in reasons if r in DEGRADING_THROTTLE_REASONS]
        if slowdowns:
            why.append("clocks slowed: " + ", ".join(slowdowns))
        if why:
            state = "degraded"
        return GpuHealth(
            device=device,
            state=state,
            xid=xid,
            reason="; ".join(why),
            source=self.source,
            observed_at=now,
            temperature_c=float(temperature) if temperature is not None else None,
            power_w=power_mw / 1000.0 if power_mw is not None else None,
            throttle_reasons=reasons,
            ecc_errors=int(ecc) if ecc is not None else None,
        )

    def _throttle_mask(self, device: int, handle: Any) -> int | None:
        # Newer drivers name it "clocks event reasons"; older ones only "throttle reasons".
        for name in ("nvmlDeviceGetCurrentClocksEventReasons", "nvmlDeviceGetCurrentClocksThrottleReasons"):
            fn = getattr(self._nvml, name, None)
            if fn is None:
                continue
            mask = self._call(device, name, fn, handle, optional=True)
            if mask is not None:
                return int(mask)
        return None

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for event_set in self._event_sets.values():
            if event_set is not None:
                try:
                    self._nvml.nvmlEventSetFree(event_set)
                except Exception:  # shutting down anyway
                    log.debug("nvmlEventSetFree failed", exc_info=True)
        self._shutdown()

    def _shutdown(self) -> None:
        try:
            self._nvml.nvmlShutdown()
        except Exception:
            log.debug("nvmlShutdown failed", exc_info=True)
