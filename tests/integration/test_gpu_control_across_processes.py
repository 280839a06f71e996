"""The harness writes the GPU control file from another process; the gateway-side monitor sees
it on its next poll of that device. CLOCK_MONOTONIC is system-wide, so the writer's timestamps
and the monitor's reads are comparable: the first read that starts after the write must see it.
Checked in reads, not wall time (the detection latency is then at most one poll interval, 50 ms
here; a busy CI machine stretches wall time, not the count)."""

from __future__ import annotations

import asyncio
import random
import subprocess
import sys
import time
from pathlib import Path

from gateway.gpu import GpuHealthMonitor, InjectableTelemetry, SimulatedTelemetry

WRITER = r"""
import sys, time
from gateway.gpu import GpuControlFile
ctl = GpuControlFile(sys.argv[1])
for line in sys.stdin:
    cmd, device = line.split()
    if cmd == "lose":
        ctl.set(int(device), "lost", xid=79, reason="harness: Xid 79 injected")
    else:
        ctl.clear(int(device))
    print(time.monotonic(), flush=True)
"""


class _Recording(InjectableTelemetry):
    """Records when each read of each device started (CLOCK_MONOTONIC)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.starts: dict[int, list[float]] = {0: [], 1: []}

    def read(self, device: int):
        self.starts[device].append(time.monotonic())
        return super().read(device)


async def test_loss_written_by_another_process_is_seen_by_the_next_poll(tmp_path: Path) -> None:
    path = tmp_path / "gpu-control.json"
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    telemetry = _Recording(SimulatedTelemetry(), path)
    detected: dict[tuple[int, str], int] = {}  # (device, state) -> reads of it so far, when seen
    monitor = GpuHealthMonitor(telemetry, [0, 1], poll_ms=50)
    monitor.subscribe(lambda old, new: detected.setdefault(
        (new.device, new.state), len(telemetry.starts[new.device])))

    async def command(cmd: str, device: int) -> float:
        assert writer.stdin is not None and writer.stdout is not None
        writer.stdin.write(f"{cmd} {device}\n")
        writer.stdin.flush()
        line = await asyncio.wait_for(asyncio.to_thread(writer.stdout.readline), 10)
        return float(line)

    late_reads: list[int] = []  # per trial: reads that started after the write and missed it
    rng = random.Random(4321)  # random phase against the poll cadence
    try:
        async with monitor:
            for trial in range(8):
                device = trial % 2
                detected.clear()
                await asyncio.sleep(rng.uniform(0, 0.05))
                written = await command("lose", device)
                await monitor.wait_for(device, "lost", timeout_s=2)
                seen_at = detected[(device, "lost")]  # the read that saw it is number seen_at
                after_write = [t for t in telemetry.starts[device][:seen_at] if t > written]
                late_reads.append(max(0, len(after_write) - 1))
                await command("clear", device)
                await monitor.wait_for(device, "healthy", timeout_s=2)
    finally:
        if writer.stdin:
            writer.stdin.close()
        try:
            writer.wait(timeout=10)
        except subprocess.TimeoutExpired:
            writer.kill()
            writer.wait(timeout=10)
    assert len(late_reads) == 8 and late_reads == [0] * 8, late_reads
