"""Polls a telemetry source for a set of GPUs and tells subscribers when a GPU's health changes.

>>> import asyncio
>>> from gateway.gpu.simulated import SimulatedTelemetry
>>> async def demo():
...     sim = SimulatedTelemetry()
...     async with GpuHealthMonitor(sim, [0], poll_ms=10) as monitor:
...         sim.set(0, "lost", xid=79)
...         await monitor.wait_for(0, "lost", timeout_s=1)
...         return monitor.state(0).state
>>> asyncio.run(demo())
'lost'

Each device has its own polling task, so one stalled device cannot delay another. Sources whose
reads may block (NVML) are read in a dedicated thread pool; a read that takes longer than
``stall_after_s`` reports the device ``degraded`` until it returns. A failing read never stops
the monitor: the device reads ``degraded`` with the error as its reason.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from concurrent.futures import ThreadPoolExecutor

from gateway.gpu.errors import GpuTelemetryError
from gateway.gpu.health import GpuHealth, GpuState, GpuTelemetry, reads_block

log = logging.getLogger(__name__)

HealthCallback = Callable[[GpuHealth | None, GpuHealth], None | Awaitable[None]]


class GpuHealthMonitor:
    """Current health of ``devices`` read from ``telemetry`` every ``poll_ms``.

    Raises (constructor):
        GpuTelemetryError: no devices, a negative device index, or ``poll_ms`` out of 1..60000.
    """

    def __init__(
        self,
        telemetry: GpuTelemetry,
        devices: Iterable[int],
        poll_ms: int = 50,
        *,
        stall_after_s: float | None = None,
    ) -> None:
        self.devices = tuple(sorted(set(devices)))
        if not self.devices or any(d < 0 for d in self.devices):
            raise GpuTelemetryError(f"GPU monitor needs non-negative device indices, got {self.devices}")
        if not 1 <= poll_ms <= 60_000:
            raise GpuTelemetryError(f"poll_ms must be within 1..60000, got {poll_ms}")
        self.telemetry = telemetry
        self.poll_s = poll_ms / 1000.0
        self.stall_after_s = stall_after_s if stall_after_s is not None else max(1.0, 10 * self.poll_s)
        self._states: dict[int, GpuHealth] = {}
        self._subscribers: list[HealthCallback] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._callback_tasks: set[asyncio.Task[None]] = set()
        self._changed = asyncio.Event()
        self._executor: ThreadPoolExecutor | None = None

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        """Read every device once (so :meth:`state` answers at once), then poll in the background."""
        if self._tasks:
            return
        if reads_block(self.telemetry):
            # Own pool: a hung driver call must not starve the loop's default executor.
            self._executor = ThreadPoolExecutor(max_workers=len(self.devices), thread_name_prefix="gpu-telemetry")
        await asyncio.gather(*(self._poll_device_once(d) for d in self.devices))
        self._tasks = [asyncio.create_task(self._poll_forever(d), name=f"gpu-monitor-{d}") for d in self.devices]

    async def stop(self) -> None:
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for task in list(self._callback_tasks):
            task.cancel()
        await asyncio.gather(*self._callback_tasks, return_exceptions=True)
        if self._executor is not None:
            # Do not wait: a read stuck in the driver would hang shutdown.
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None

    async def __aenter__(self) -> GpuHealthMonitor:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- queries ---------------------------------------------------------------------------

    def state(self, device: int) -> GpuHealth:
        """Latest reading of ``device``.

        Raises:
            GpuTelemetryError: the device is not monitored or the monitor has not started.
        """
        try:
            return self._states[device]
        except KeyError:
            raise GpuTelemetryError(
                f"GPU {device} is not monitored (devices: {list(self.devices)}) or the monitor has not started"
            ) from None

    def states(self) -> dict[int, GpuHealth]:
        return dict(self._states)

    def subscribe(self, callback: HealthCallback) -> Callable[[], None]:
        """Call ``callback(old, new)`` on every transition (state, xid or reason change; ``old`` is
        ``None`` for a device's first reading). Sync callbacks run inline in the polling task, so
        a gateway can take an upstream out of rotation before the next request; a returned
        awaitable runs as its own task. Exceptions are logged, never propagated. Returns a
        function that unsubscribes."""
        self._subscribers.append(callback)
        return lambda: self._subscribers.remove(callback) if callback in self._subscribers else None

    async def wait_for(self, device: int, state: GpuState, *, timeout_s: float) -> GpuHealth:
        """Wait until ``device`` reads ``state``.

        Raises:
            TimeoutError: it did not within ``timeout_s``.
        """
        async with asyncio.timeout(timeout_s):
            while True:
                current = self._states.get(device)
                if current is not None and current.state == state:
                    return current
                self._changed.clear()
                await self._changed.wait()

    # -- polling ---------------------------------------------------------------------------

    async def _poll_forever(self, device: int) -> None:
        next_at = time.monotonic() + self.poll_s
        while True:
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
            # Fixed cadence, but never a burst of catch-up reads after a slow one.
            next_at = max(next_at + self.poll_s, time.monotonic())
            await self._poll_device_once(device)

    async def _poll_device_once(self, device: int) -> None:
        try:
            health = await self._read(device)
        except GpuTelemetryError as exc:
            health = self._error_health(device, f"telemetry error: {exc.message}")
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug in a source must not take the gateway down
            log.exception("GPU %d: telemetry source %r raised unexpectedly", device, self.telemetry)
            health = self._error_health(device, f"telemetry error: {type(exc).__name__}: {exc}")
        self._apply(health)

    async def _read(self, device: int) -> GpuHealth:
        if self._executor is None:
            return self.telemetry.read(device)
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(self._executor, self.telemetry.read, device)
        try:
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for swallows a cancellation that
            # arrives as the read completes, and the poll task then never stopped (stop() hung).
            async with asyncio.timeout(self.stall_after_s):
                return await asyncio.shield(future)
        except TimeoutError:
            self._apply(self._error_health(device, f"telemetry read stalled for over {self.stall_after_s:g} s"))
            return await future

    def _error_health(self, device: int, reason: str) -> GpuHealth:
        return GpuHealth(
            device=device, state="degraded", reason=reason, source=getattr(self.telemetry, "source", "unknown"),
            observed_at=time.monotonic(),
        )

    def _apply(self, new: GpuHealth) -> None:
        old = self._states.get(new.device)
        self._states[new.device] = new
        if old is not None and old.transition_key() == new.transition_key():
            return
        self._log_transition(old, new)
        self._changed.set()
        for callback in list(self._subscribers):
            try:
                result = callback(old, new)
                if inspect.isawaitable(result):
                    task = asyncio.ensure_future(result)
                    self._callback_tasks.add(task)
                    task.add_done_callback(self._callback_done)
            except Exception:
                log.exception("GPU health subscriber %r failed", callback)

    def _callback_done(self, task: asyncio.Future[None]) -> None:
        self._callback_tasks.discard(task)  # type: ignore[arg-type]
        if not task.cancelled() and task.exception() is not None:
            log.error("GPU health subscriber failed", exc_info=task.exception())

    def _log_transition(self, old: GpuHealth | None, new: GpuHealth) -> None:
        if old is None and new.state == "healthy":
            log.info("GPU %d healthy (%s)", new.device, new.source)
            return
        level = logging.INFO if new.state == "healthy" else logging.WARNING
        log.log(
            level, "GPU %d %s -> %s%s%s (%s)", new.device, old.state if old else "unknown", new.state,
            f" xid={new.xid}" if new.xid is not None else "", f": {new.reason}" if new.reason else "", new.source,
        )
