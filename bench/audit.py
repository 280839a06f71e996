"""Audit chain benchmark: durable group-committed appends, compact segments, verification.

    python bench/audit.py [--json FILE] [--appenders 256] [--seconds 3] [--verify-records 100000]
                          [--requests 20000] [--rotate-bytes 262144]

Measures, in one run on this machine:
- ``audit_append_per_s``: durable appends per second (each ``await log.append`` returned only
  after its batch was fsynced), with many concurrent appenders and group commit;
- ``audit_append_p50_us`` / ``audit_append_p99_us``: latency of an acknowledged append under
  that load (bounded by Little's law: appenders / throughput); ``audit_append_16_*`` with 16
  appenders and ``audit_append_single_*`` with one (no batching partner) show the latency a
  request pays at moderate load;
- ``audit_verify_per_s``: records verified per second by ``verify_audit_log``.

Production volume (issue 16), on a workload shaped like the reference gateway's records
(gateway/router.py): per request one ``decision`` record (the route's candidate list with every
catalog attribute, the shipped policy's real decision for it, the bundle digest, the masked
messages where the policy lets prompts be logged) and one ``attempt`` record (two on a failover,
5 % of requests), over the standard scenarios' four routes:
- ``audit_bytes_per_request_legacy``: bytes on disk per request in the previous format (one
  plain JSON Lines file, nothing compacted: ``audit.path``);
- ``audit_bytes_per_request_compact``: the same requests in the gateway's default segmented
  format (``audit.directory``: compacted records, sealed gzip segments of 64 MiB; manifests
  counted); ``audit_bytes_ratio`` = legacy / compact (target >= 4);
  ``audit_bytes_per_request_compact_plain`` is compaction alone (before compression),
  ``audit_bytes_per_request_compact_1mib`` the chaos template's 1 MiB segments (each repeats
  its blobs once);
- ``audit_append_rotating_per_s``: durable appends/s of those records with rotation on
  (``max_segment_bytes`` = ``--rotate-bytes``, compaction, gzip sealing in the background);
  ``audit_rotating_segments`` the segments that run left, all verified;
  ``audit_append_gateway_plain_per_s`` is the same records into one plain uncompacted file
  (what rotation and compaction cost, apart from the records' size);
- ``audit_verify_dir_per_s``: records/s verified over the multi-segment (1 MiB) directory,
  ``audit_verify_dir_segments`` its segment count; ``audit_verify_legacy_per_s`` the same
  requests in one plain file (these records are larger than the attempt-only ones above).
Targets (DESIGN.md §6): >= 20,000 appends/s, >= 100,000 verified/s, >= 4x fewer bytes per
request. Bounded well under 60 s.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from governance.audit import (  # noqa: E402
    AuditLog,
    ChainSummary,
    MaskingRules,
    SegmentPolicy,
    iter_events,
    verify_audit_log,
)

TARGET_APPEND_PER_S = 20_000
TARGET_VERIFY_PER_S = 100_000
TARGET_BYTES_RATIO = 4.0
MASK = MaskingRules(fields=("messages", "prompt", "authorization", "api_key"))
# The gateway's defaults (gateway/config.py AuditConfig, gateway/runtime.py COMPACT_PATHS).
GATEWAY_MASK = MaskingRules(fields=("messages", "authorization", "api_key"))
COMPACT_PATHS = ("input.candidates", "result", "policy")
GATEWAY_SEGMENT_BYTES = 64 * 1024 * 1024
TEMPLATE_SEGMENT_BYTES = 1024 * 1024  # scenarios/gateway.template.yaml
CHAIN_FIELDS = ("seq", "ts", "prev_hash", "hash")


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


# -- the gateway-shaped workload --------------------------------------------------------------
# The upstreams and routes of scenarios/gateway.template.yaml with examples/gateway.yaml's
# catalog attributes: (model, provider, hosting, region, version, cost_per_1k_tokens).
UPSTREAMS = {
    "private-eu-70b": ("llama-3.1-70b-private-eu", "govchaos-private", "private", "eu-central-1",
                       "3.1-70b-instruct-2024-07", 0.003),
    "private-eu-8b": ("llama-3.1-8b-private-eu", "govchaos-private", "private", "eu-central-1",
                      "3.1-8b-instruct-2024-07", 0.0004),
    "cloud-eu": ("gpt-4o-cloud-eu", "openai", "cloud", "eu-west-1", "gpt-4o-2024-08-06", 0.00625),
    "cloud-us": ("gpt-4o-cloud-us", "openai", "cloud", "us-east-1", "gpt-4o-2024-08-06", 0.00625),
}
ROUTES = {
    "claims-triage": ("private-eu-70b", "private-eu-8b", "cloud-eu", "cloud-us"),
    "customer-chat": ("cloud-eu", "cloud-us", "private-eu-70b", "private-eu-8b"),
    "analytics-summary": ("private-eu-8b", "private-eu-70b", "cloud-eu"),
    "code-assistant": ("cloud-us", "cloud-eu", "private-eu-70b"),
}
# (route, tenant, data classes, residency): the standard scenarios' traffic mix
MIX = (
    ("claims-triage", "acme-health", ("pii",), "eu"),
    ("customer-chat", "globex-retail", ("public",), None),
    ("analytics-summary", "acme-health", ("internal",), "eu"),
    ("code-assistant", "globex-retail", ("internal",), None),
)


def _candidates(route: str) -> list[dict]:
    out = []
    for name in ROUTES[route]:
        model, provider, hosting, region, version, cost = UPSTREAMS[name]
        out.append({"id": model, "provider": provider, "hosting": hosting, "region": region,
                    "version": version, "cost_per_1k_tokens": cost, "tags": [],
                    "healthy": True})
    return out


async def _decide_mix() -> tuple[list[tuple], dict]:
    """The shipped policy's real decisions for the mix (regorus on ``policies/``)."""
    from governance.decision import Candidate, DecisionInput
    from governance.engine import create_engine, load_bundle

    bundle = load_bundle(REPO / "policies")
    engine = create_engine("regorus", bundle)
    try:
        shapes = []
        for route, tenant, classes, region in MIX:
            cands = _candidates(route)
            decision = await engine.decide(DecisionInput(
                route=route, tenant=tenant, data_classes=classes, region=region,
                candidates=tuple(Candidate(**c) for c in cands), max_tokens=256))
            shapes.append((route, tenant, classes, region, cands,
                           decision.model_dump(mode="json")))
    finally:
        close = getattr(engine, "close", None)
        if close is not None:
            await close()
    return shapes, {"engine": "regorus", "bundle_digest": bundle.digest}


class GatewayWorkload:
    """Per request, the records the reference gateway writes: a decision and its attempts.
    Seeded; the dicts of one shape are shared between requests, as the router's caches do."""

    def __init__(self, shapes: list[tuple], policy: dict, seed: int = 16) -> None:
        self.shapes = shapes
        self.policy = policy
        self.rng = random.Random(seed)
        self.ids = itertools.count(1)
        self.t0 = 1_780_000_000.0

    def request(self) -> list[dict]:
        rng = self.rng
        n = next(self.ids)
        route, tenant, classes, region, cands, result = self.shapes[n % len(self.shapes)]
        request_id = f"req-{n:016x}"
        decision_id = f"9f3c2a1b7e4d{n:012x}"
        t = self.t0 + n / 400.0
        ts = (time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t))
              + f".{int(t * 1e6) % 1_000_000:06d}Z")
        decision = {
            "kind": "decision", "decision_id": decision_id, "path": "govchaos/gateway/decision",
            "request_id": request_id, "timestamp": ts,
            "input": {"route": route, "tenant": tenant, "data_classes": list(classes),
                      "region": region, "requested_model": None, "candidates": cands,
                      "max_tokens": 256, "stream": rng.random() < 0.1},
            "result": result, "policy": self.policy,
            "decision_latency_ms": round(rng.uniform(0.05, 0.4), 4),
        }
        if result["obligations"]["log_prompts"]:
            decision["request"] = {"messages": [{"role": "user", "content":
                                                 f"[govchaos-request-id:{request_id}] hello"}]}
        events = [decision]
        allowed = result["allowed"] or [cands[0]["id"]]
        names = {UPSTREAMS[u][0]: u for u in ROUTES[route]}
        attempts = 2 if rng.random() < 0.05 and len(allowed) > 1 else 1
        for k in range(attempts):
            model = allowed[k]
            failed = k < attempts - 1
            events.append({
                "kind": "attempt", "request_id": request_id, "decision_id": decision_id,
                "upstream": names[model], "model": model, "attempt": k + 1,
                "outcome": "failure" if failed else "ok", "status": 503 if failed else 200,
                "latency_ms": round(rng.uniform(5.0, 40.0), 3),
                "failover_reason": "http_503" if failed else None,
            })
        return events


async def _write_requests(target: Path, workload: GatewayWorkload, requests: int,
                          segments: SegmentPolicy | None, compact: tuple[str, ...]) -> None:
    log = await AuditLog.open(target, mask=GATEWAY_MASK, segments=segments, compact=compact)
    for n in range(requests):
        for event in workload.request():
            log.append_nowait(event)
        if n % 2_000 == 1_999:
            await log.flush()
    await log.close()


def disk_bytes(target: Path) -> int:
    """Bytes of a log file, or of every file of a segment directory (manifests, receipts)."""
    if target.is_file():
        return target.stat().st_size
    return sum(p.stat().st_size for p in target.iterdir() if p.is_file())


def _events(source: Path) -> list[dict]:
    """The events of a log as a reader sees them, without the chain's own fields."""
    return [{k: v for k, v in e.items() if k not in CHAIN_FIELDS} for e in iter_events(source)]


async def _gateway_load(target: Path, workload: GatewayWorkload, appenders: int,
                        seconds: float, rotate_bytes: int | None,
                        group_commit_ms: float) -> tuple[int, float]:
    """Durable appends of gateway-shaped records: rotating compact segments, or (without
    ``rotate_bytes``) one plain uncompacted file."""
    policy = (SegmentPolicy(max_segment_bytes=rotate_bytes, max_segment_age_s=None)
              if rotate_bytes else None)
    log = await AuditLog.open(target, mask=GATEWAY_MASK, segments=policy,
                              compact=COMPACT_PATHS if policy else (),
                              group_commit_ms=group_commit_ms)
    count = 0
    deadline = time.perf_counter() + seconds

    async def appender() -> None:
        nonlocal count
        n = 0
        while time.perf_counter() < deadline and n < 10_000_000:
            for event in workload.request():
                await log.append(event)
                n += 1
        count += n

    start = time.perf_counter()
    await asyncio.gather(*(appender() for _ in range(appenders)))
    elapsed = time.perf_counter() - start
    await log.close()
    return count, elapsed


def _best_verify(target: Path) -> tuple[float, ChainSummary]:
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        summary = verify_audit_log(target)
        best = min(best, time.perf_counter() - start)
    return best, summary


def volume(requests: int, appenders: int, seconds: float, rotate_bytes: int,
           group_commit_ms: float, tmpdir: Path) -> dict:
    """The production-volume figures (module docstring)."""
    shapes, policy = asyncio.run(_decide_mix())

    def workload() -> GatewayWorkload:
        return GatewayWorkload(shapes, policy)  # the same seeded requests for every format

    legacy, compact = tmpdir / "legacy.jsonl", tmpdir / "compact"
    plain, small = tmpdir / "compact-plain.jsonl", tmpdir / "compact-1mib"
    asyncio.run(_write_requests(legacy, workload(), requests, None, ()))
    asyncio.run(_write_requests(compact, workload(), requests, SegmentPolicy(
        max_segment_bytes=GATEWAY_SEGMENT_BYTES, max_segment_age_s=None), COMPACT_PATHS))
    asyncio.run(_write_requests(small, workload(), requests, SegmentPolicy(
        max_segment_bytes=TEMPLATE_SEGMENT_BYTES, max_segment_age_s=None), COMPACT_PATHS))
    asyncio.run(_write_requests(plain, workload(), requests, None, COMPACT_PATHS))
    legacy_bytes, compact_bytes, small_bytes = disk_bytes(legacy), disk_bytes(compact), disk_bytes(small)
    # Nothing lost: a reader sees exactly the same events from every format.
    events = _events(legacy)
    if events != _events(compact) or events != _events(small):
        raise SystemExit("bench/audit.py: the compact segments do not read back as the plain log")

    best, summary = _best_verify(small)
    best_legacy, legacy_summary = _best_verify(legacy)

    rotating = tmpdir / "rotating"
    count, elapsed = asyncio.run(_gateway_load(rotating, workload(), appenders, seconds,
                                               rotate_bytes, group_commit_ms))
    rotated = verify_audit_log(rotating)
    plain_count, plain_elapsed = asyncio.run(_gateway_load(
        tmpdir / "gateway-plain.jsonl", workload(), appenders, seconds, None, group_commit_ms))
    return {
        "audit_bytes_requests": requests,
        "audit_bytes_per_request_legacy": round(legacy_bytes / requests, 1),
        "audit_bytes_per_request_compact": round(compact_bytes / requests, 1),
        "audit_bytes_per_request_compact_plain": round(disk_bytes(plain) / requests, 1),
        "audit_bytes_per_request_compact_1mib": round(small_bytes / requests, 1),
        "audit_bytes_ratio": round(legacy_bytes / compact_bytes, 2),
        "audit_bytes_ratio_1mib": round(legacy_bytes / small_bytes, 2),
        "audit_append_rotating_per_s": round(count / elapsed),
        "audit_append_rotating_records": count,
        "audit_append_gateway_plain_per_s": round(plain_count / plain_elapsed),
        "audit_rotating_segment_bytes": rotate_bytes,
        "audit_rotating_segments": rotated.segments,
        "audit_verify_dir_per_s": round(summary.count / best),
        "audit_verify_dir_records": summary.count,
        "audit_verify_dir_segments": summary.segments,
        "audit_verify_dir_mb_per_s": round(small_bytes / best / 1e6, 1),
        "audit_verify_legacy_per_s": round(legacy_summary.count / best_legacy),
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


def run(appenders: int, seconds: float, verify_records: int, group_commit_ms: float,
        requests: int = 20_000, rotate_bytes: int = 256 * 1024) -> dict:
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
        production = volume(requests, appenders, seconds, rotate_bytes, group_commit_ms, tmpdir)

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
        **production,
        "targets": {
            "audit_append_per_s": TARGET_APPEND_PER_S,
            "audit_verify_per_s": TARGET_VERIFY_PER_S,
            "audit_bytes_ratio": TARGET_BYTES_RATIO,
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    parser.add_argument("--appenders", type=int, default=256)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--verify-records", type=int, default=100_000)
    parser.add_argument("--group-commit-ms", type=float, default=2.0)
    parser.add_argument("--requests", type=int, default=20_000,
                        help="gateway-shaped requests for the bytes-per-request figures")
    parser.add_argument("--rotate-bytes", type=int, default=256 * 1024,
                        help="max_segment_bytes of the rotating append run")
    args = parser.parse_args(argv)
    if not (0 < args.seconds <= 20) or args.appenders < 1 or not (0 < args.verify_records <= 2_000_000):
        parser.error("--seconds must be in (0, 20], --appenders >= 1, --verify-records in (0, 2e6]")
    if not (0 < args.requests <= 500_000) or args.rotate_bytes < 4096:
        parser.error("--requests must be in (0, 500000], --rotate-bytes >= 4096")
    results = run(args.appenders, args.seconds, args.verify_records, args.group_commit_ms,
                  args.requests, args.rotate_bytes)
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
        ("bytes/request, one plain file", results["audit_bytes_per_request_legacy"], ""),
        ("bytes/request, compact segments", results["audit_bytes_per_request_compact"], ""),
        ("  compaction alone, uncompressed", results["audit_bytes_per_request_compact_plain"], ""),
        ("  compact, 1 MiB segments", results["audit_bytes_per_request_compact_1mib"], ""),
        ("bytes ratio, plain file / compact", results["audit_bytes_ratio"],
         f">= {TARGET_BYTES_RATIO:g}"),
        ("durable appends/s, rotating", results["audit_append_rotating_per_s"], ""),
        ("  segments (all verified)", results["audit_rotating_segments"], ""),
        ("  same records, one plain file", results["audit_append_gateway_plain_per_s"], ""),
        ("verified records/s, segment dir", results["audit_verify_dir_per_s"], ""),
        ("  segments verified", results["audit_verify_dir_segments"], ""),
        ("  same requests, one plain file", results["audit_verify_legacy_per_s"], ""),
    ]
    print(f"audit chain ({args.appenders} appenders, group commit {args.group_commit_ms} ms;"
          f" {args.requests:,} gateway-shaped requests)")
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
