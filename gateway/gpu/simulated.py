"""Simulated GPUs for machines without one (CI): healthy unless told otherwise in-process."""

from __future__ import annotations

import threading
import time

from gateway.gpu.errors import GpuTelemetryError
from gateway.gpu.health import GPU_STATES, GpuHealth, GpuState


class SimulatedTelemetry:
    """Every device reads healthy until :meth:`set` says otherwise.

    >>> sim = SimulatedTelemetry()
    >>> sim.set(1, "lost", xid=79, reason="fell off the bus")
    >>> sim.read(1).state, sim.read(0).state
    ('lost', 'healthy')
    """

    source = "simulated"
    reads_block = False

    def __init__(self, device_count: int | None = None) -> None:
        # None: any non-negative index exists (the gateway config decides which ones matter).
        self._device_count = device_count
        self._lock = threading.Lock()  # read() may run in the monitor's worker thread
        self._overrides: dict[int, tuple[GpuState, int | None, str]] = {}

    def _check(self, device: int) -> None:
        if device < 0 or (self._device_count is not None and device >= self._device_count):
            raise GpuTelemetryError(
                f"simulated GPU {device} does not exist (devices: 0..{(self._device_count or 1) - 1})"
            )

    def set(self, device: int, state: GpuState, xid: int | None = None, reason: str = "") -> None:
        """Make ``device`` read as ``state`` from now on.

        Raises:
            GpuTelemetryError: unknown device or state.
        """
        self._check(device)
        if state not in GPU_STATES:
            raise GpuTelemetryError(f"unknown GPU state {state!r}; expected one of {GPU_STATES}")
        with self._lock:
            self._overrides[device] = (state, xid, reason)

    def clear(self, device: int) -> None:
        with self._lock:
            self._overrides.pop(device, None)

    def read(self, device: int) -> GpuHealth:
        """Raises: GpuTelemetryError for a device that does not exist."""
        self._check(device)
        with self._lock:
            override = self._overrides.get(device)
        if override is None:
            return GpuHealth(device=device, state="healthy", source=self.source, observed_at=time.monotonic())
        state, xid, reason = override
        return GpuHealth(
            device=device, state=state, xid=xid, reason=reason, source=self.source,
            observed_at=time.monotonic(),
        )

    def close(self) -> None:
        pass
