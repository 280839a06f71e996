"""Errors of the GPU telemetry layer.

    GatewayError
     └── GpuTelemetryError          a telemetry source failed (NVML init, an NVML query, a bad device)
          ├── GpuConfigError        the telemetry config is invalid (unknown source, missing file)
          └── GpuControlFileError   the control file does not parse (the reader keeps its last
                                    good state; the error only reaches callers of the parser)

NVML's own exceptions never escape this package: they are translated where they enter
(``raise GpuTelemetryError(...) from exc``).
"""

from __future__ import annotations

from gateway.errors import GatewayError


class GpuTelemetryError(GatewayError):
    code = "gpu_telemetry_error"
    status = 503


class GpuConfigError(GpuTelemetryError):
    code = "invalid_gpu_config"
    exit_code = 2


class GpuControlFileError(GpuTelemetryError):
    code = "invalid_gpu_control_file"
    exit_code = 2
