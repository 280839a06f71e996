"""A telemetry source the chaos harness controls from another process, through the control file.

The overlay wins for every device the control file names; every other device reads through to
the wrapped (NVML or simulated) source. This is how ``govchaos chaos run`` injects "GPU lost"
into a reference gateway it only drives from outside.
"""

from __future__ import annotations

import os
import time

from gateway.gpu.control_file import GpuControlFile
from gateway.gpu.health import GpuHealth, GpuTelemetry, close_telemetry, reads_block


class InjectableTelemetry:
    """``inner`` overlaid with the control file at ``control_file``.

    >>> import tempfile, pathlib
    >>> from gateway.gpu.simulated import SimulatedTelemetry
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "gpu.json"
    >>> tel = InjectableTelemetry(SimulatedTelemetry(), path)
    >>> GpuControlFile(path).set(0, "lost", xid=79)
    >>> tel.read(0).state, tel.read(0).source, tel.read(1).source
    ('lost', 'injectable', 'simulated')
    """

    source = "injectable"

    def __init__(self, inner: GpuTelemetry, control_file: str | os.PathLike[str] | GpuControlFile) -> None:
        self.inner = inner
        self.control = control_file if isinstance(control_file, GpuControlFile) else GpuControlFile(control_file)

    @property
    def reads_block(self) -> bool:
        return reads_block(self.inner)

    def read(self, device: int) -> GpuHealth:
        """Raises: GpuTelemetryError when the device is not overridden and ``inner`` fails."""
        override = self.control.overrides().get(device)
        if override is None:
            return self.inner.read(device)
        return GpuHealth(
            device=device,
            state=override.state,
            xid=override.xid,
            reason=override.reason or f"injected via {self.control.path.name}",
            source=self.source,
            observed_at=time.monotonic(),
        )

    def close(self) -> None:
        close_telemetry(self.inner)
