"""GPU health for the gateway: telemetry sources (NVML, simulated, injectable) and a monitor.

    from gateway.gpu import GpuHealthMonitor, GpuTelemetryConfig, build_telemetry

    telemetry = build_telemetry(GpuTelemetryConfig(source="injectable", control_file="gpu.json"))
    monitor = GpuHealthMonitor(telemetry, devices=[0, 1], poll_ms=50)
    await monitor.start()
    monitor.subscribe(lambda old, new: ...)   # take an upstream out of rotation on "lost"
    monitor.state(0)                          # -> GpuHealth
    await monitor.stop()

See docs/gpu.md for the control file, the NVML mapping and the detection budget.
"""

from gateway.gpu.config import TELEMETRY_SOURCES, GpuTelemetryConfig, build_telemetry
from gateway.gpu.control_file import GpuControlFile, GpuOverride, parse_control_file
from gateway.gpu.errors import GpuConfigError, GpuControlFileError, GpuTelemetryError
from gateway.gpu.health import GPU_STATES, GpuHealth, GpuState, GpuTelemetry, close_telemetry
from gateway.gpu.injectable import InjectableTelemetry
from gateway.gpu.monitor import GpuHealthMonitor, HealthCallback
from gateway.gpu.nvml import NvmlTelemetry, xid_state
from gateway.gpu.simulated import SimulatedTelemetry

__all__ = [
    "GPU_STATES",
    "TELEMETRY_SOURCES",
    "GpuConfigError",
    "GpuControlFile",
    "GpuControlFileError",
    "GpuHealth",
    "GpuHealthMonitor",
    "GpuOverride",
    "GpuState",
    "GpuTelemetry",
    "GpuTelemetryConfig",
    "GpuTelemetryError",
    "HealthCallback",
    "InjectableTelemetry",
    "NvmlTelemetry",
    "SimulatedTelemetry",
    "build_telemetry",
    "close_telemetry",
    "parse_control_file",
    "xid_state",
]
