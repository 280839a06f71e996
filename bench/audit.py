"""Audit chain benchmark: durable group-committed appends and verification.

    python bench/audit.py [--json FILE] [--appenders 256] [--seconds 3] [--verify-records 100000]

Measures, in one run on this machine:
- ``audit_append_per_s``: durable appends per second (each ``await log.append`` returned only
  after its batch was fsynced), with many concurrent appenders and group commit;
- ``audit_append_p50_us`` / ``audit_append_p99_us``: latency of an acknowledged append under
  that load (bounded by Little's law: appenders / throughput); ``audit_append_16_*`` with 16
  appenders and ``audit_append_single_*`` with one (no batching partner) show the latency a
  request pays at moderate load;
- ``audit_verify_per_s``: records verified per second by ``verify_audit_log``.
Targets (DESIGN.md §6): ≥ 20,000 appends/s, ≥ 100,000 verified/s. Bounded well under 60 s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from governance.audit import AuditLog, MaskingRules, verify_audit_log

TARGET_APPEND_PER_S = 20_000
TARGET_VERIFY_PER_S = 100_000
MASK = MaskingRules(fields=("messages", "prompt", "authorization", "api_key"))


def _event(worker: int, n: int) -> dict:
    # Shaped like a gateway attempt record, with a field that gets masked.
    return {
        "kind": "attempt",
        "request_id": f"req-{worker:04d}-{n:08d}",
        "decision_id": f"dec-{worker:04d}-{n:08d}",
        "upstream": "private-eu-1",
        "model": "llama-3.1-70b-private-eu",
        "attempt": 1,
        "outcome": "ok",
        "status": 200,
        "latency_ms": 12.5,
        "failover_reason": None,
        "authorization": "Bearer sk-test",
    }


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _append_load(
    path: Path, appenders: int, seconds: float, group_commit_ms: float
) -> tuple[int, float, list[float]]:
    latencies: list[float] = []
    count = 0
    log = await AuditLog.open(path, mask=MASK, group_commit_ms=group_commit_ms)
    deadline = time.perf_counter() + seconds

    async def appender(worker: int) -> None:
        nonlocal count
        n = 0
        while time.perf_counter() < deadline and n < 10_000_000:
            start = time.perf_counter()
            await log.append(_event(worker, n))
            latencies.append(time.perf_counter() - start)
            n += 1
        count += n

    start = time.perf_counter()
    await asyncio.gather(*(appender(w) for w in range(appenders)))
    elapsed = time.perf_counter() - start
    await log.close()
    return count, elapsed, latencies


def run(appenders: int, seconds: float, verify_records: int, group_commit_ms: float) -> dict:
    with tempfile.TemporaryDirectory(prefix="govchaos-bench-audit-") as tmp:
        tmpdir = Path(tmp)
        # warm-up (imports, page cache, thread pool)
        asyncio.run(_append_load(tmpdir / "warm.jsonl", 8, 0.2, group_commit_ms))

        count, elapsed, latencies = asyncio.run(
            _append_load(tmpdir / "load.jsonl", appenders, seconds, group_commit_ms)
        )
        _, _, moderate = asyncio.run(
            _append_load(tmpdir / "moderate.jsonl", 16, min(1.0, seconds), group_commit_ms)
        )
        _, _, single = asyncio.run(
            _append_load(tmpdir / "single.jsonl", 1, min(1.0, seconds), group_commit_ms)
        )

        # verification: a log of verify_records records written quickly with append_nowait
        async def fill(path: Path) -> None:
            log = await AuditLog.open(path, mask=MASK, group_commit_ms=group_commit_ms)
            for n in range(verify_records):
                log.append_nowait(_event(n % 64, n))
                if n % 5_000 == 4_999:
                    await log.flush()
            await log.close()

        vpath = tmpdir / "verify.jsonl"
        asyncio.run(fill(vpath))
        size = vpath.stat().st_size
        best = float("inf")
        for _ in range(3):
            start = time.perf_counter()
            summary = verify_audit_log(vpath)
            best = min(best, time.perf_counter() - start)
        assert summary.count == verify_records

    return {
        "audit_append_per_s": round(count / elapsed),
        "audit_append_p50_us": round(_percentile(latencies, 0.50) * 1e6, 1),
        "audit_append_p99_us": round(_percentile(latencies, 0.99) * 1e6, 1),
        "audit_append_16_p50_us": round(_percentile(moderate, 0.50) * 1e6, 1),
        "audit_append_16_p99_us": round(_percentile(moderate, 0.99) * 1e6, 1),
        "audit_append_single_p50_us": round(statistics.median(single) * 1e6, 1),
        "audit_append_single_p99_us": round(_percentile(single, 0.99) * 1e6, 1),
        "audit_append_records": count,
        "audit_appenders": appenders,
        "audit_group_commit_ms": group_commit_ms,
        "audit_verify_per_s": round(verify_records / best),
        "audit_verify_records": verify_records,
        "audit_verify_mb_per_s": round(size / best / 1e6, 1),
        "targets": {
            "audit_append_per_s": TARGET_APPEND_PER_S,
            "audit_verify_per_s": TARGET_VERIFY_PER_S,
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    parser.add_argument("--appenders", type=int, default=256)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--verify-records", type=int, default=100_000)
    parser.add_argument("--group-commit-ms", type=float, default=2.0)
    args = parser.parse_args(argv)
    if not (0 < args.seconds <= 20) or args.appenders < 1 or not (0 < args.verify_records <= 2_000_000):
        parser.error("--seconds must be in (0, 20], --appenders >= 1, --verify-records in (0, 2e6]")
    results = run(args.appenders, args.seconds, args.verify_records, args.group_commit_ms)
    rows = [
        ("durable appends/s", results["audit_append_per_s"], f">= {TARGET_APPEND_PER_S:,}"),
        ("ack latency p50 (µs)", results["audit_append_p50_us"], ""),
        ("ack latency p99 (µs)", results["audit_append_p99_us"], ""),
        ("ack latency p50, 16 appenders (µs)", results["audit_append_16_p50_us"], ""),
        ("ack latency p99, 16 appenders (µs)", results["audit_append_16_p99_us"], ""),
        ("ack latency p50, 1 appender (µs)", results["audit_append_single_p50_us"], ""),
        ("ack latency p99, 1 appender (µs)", results["audit_append_single_p99_us"], ""),
        ("verified records/s", results["audit_verify_per_s"], f">= {TARGET_VERIFY_PER_S:,}"),
        ("verify MB/s", results["audit_verify_mb_per_s"], ""),
    ]
    print(f"audit chain ({args.appenders} appenders, group commit {args.group_commit_ms} ms)")
    print(f"{'metric':<34} {'value':>14}  target")
    for name, value, target in rows:
        shown = f"{value:,}" if isinstance(value, int) else f"{value:,.1f}"
        print(f"{name:<34} {shown:>14}  {target}")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
