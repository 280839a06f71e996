"""Invariant 3: a record acknowledged by ``append`` survives ``kill -9`` of the writer."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson

from governance.audit import AuditLog, verify_audit_log

WRITER = r"""
import asyncio, sys
from governance.audit import AuditLog

async def main(path):
    log = await AuditLog.open(path, group_commit_ms=0.5)

    async def appender(worker):
        for n in range(100_000):  # bounded; the parent kills us long before
            seq = await log.append({"kind": "attempt", "worker": worker, "n": n, "pad": "x" * 200})
            sys.stdout.write(f"{seq} {worker} {n}\n")
            sys.stdout.flush()

    await asyncio.gather(*(appender(w) for w in range(16)))

asyncio.run(main(sys.argv[1]))
"""


def test_acknowledged_records_survive_sigkill(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    acked: list[tuple[int, int, int]] = []
    deadline = time.monotonic() + 30
    try:
        assert proc.stdout is not None
        while len(acked) < 2_000 and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            acked.append(tuple(int(x) for x in line.split()))  # type: ignore[misc]
        os.kill(proc.pid, signal.SIGKILL)
        rest, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
    for line in rest.splitlines():
        parts = line.split()
        if len(parts) == 3:  # the final printed line may itself be torn by the kill
            acked.append(tuple(int(x) for x in parts))  # type: ignore[misc]
    diagnostics = f"acks={len(acked)} rc={proc.returncode} stderr={err.decode()[-2000:]!r}"
    assert len(acked) >= 500, diagnostics
    assert proc.returncode == -signal.SIGKILL, diagnostics

    # Reopening recovers a torn tail (if any) and must keep every acknowledged record.
    async def reopen() -> int:
        async with await AuditLog.open(path) as log:
            return log.head.seq

    try:
        head_seq = asyncio.run(reopen())
    except Exception as exc:  # pragma: no cover - diagnostics for a failure
        tail = path.read_bytes()[-600:]
        raise AssertionError(f"reopen failed: {exc!r}; {diagnostics}; file tail={tail!r}") from exc
    summary = verify_audit_log(path)
    assert summary.head.seq == head_seq
    records = [orjson.loads(line) for line in path.read_bytes().splitlines()]
    for seq, worker, n in acked:
        assert seq <= head_seq, f"acknowledged seq {seq} lost (head {head_seq})"
        assert (records[seq]["worker"], records[seq]["n"]) == (worker, n)
