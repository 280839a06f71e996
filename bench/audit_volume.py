"""Audit at production volume through the gateway (issue 16, "Done means").

    python bench/audit_volume.py [--seconds 30] [--rate 150] [--segment-bytes 4194304]
                                 [--compression gzip|zstd] [--no-sink] [--json FILE]

Runs the reference gateway (``govchaos gateway serve``, its own process) with the shipped policy
(``policies/`` on regorus) and the audit log in rotating, compacted, compressed segments
(``audit.directory``, ``max_segment_bytes`` = ``--segment-bytes``, shipped to a directory sink),
in front of four simulated upstreams (``chaos.providers``, their own process), under open-loop
load from the project's load generator (``chaos.load``) with the standard scenarios' traffic mix
(PII claims triage, public chat, internal analytics and code assistance). Then it stops the
gateway (SIGTERM seals the last segment), verifies the chain over the whole directory and
prints: requests sent and served, decisions audited, segments, total bytes on disk, bytes per
request, how long verification took, and whether the chain verified. For comparison it writes
the very same events (read back through ``governance.audit.iter_events``, compacted parts
resolved) in the previous format, one plain uncompacted JSON Lines file, and reports that
file's bytes per request and the ratio (target >= 4).

JSON keys: ``requests_sent``, ``requests_ok``, ``achieved_ok_rps``, ``decisions_audited``,
``records``, ``segments``, ``segments_shipped``, ``bytes_on_disk``, ``bytes_per_request``,
``legacy_bytes_per_request``, ``bytes_ratio``, ``verify_s``, ``verify_records_per_s``,
``chain_verified``, ``errors`` (load error kinds). Exit 0 when the chain verified and every
audited decision was counted, 1 otherwise, 2 on bad usage. ``--seconds 600`` is the issue's
10-minute run; the default 30 s is for normal use.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import aiohttp  # noqa: E402

from chaos.load import DataClassMix, LoadGenerator, LoadSpec, RouteMix  # noqa: E402
from chaos.providers import FleetProcess, FleetSpec, MockUpstreamSpec  # noqa: E402
from governance.audit import AuditLog, MaskingRules, iter_events, verify_audit_log  # noqa: E402
from governance.errors import GovchaosError  # noqa: E402

TARGET_BYTES_RATIO = 4.0
CHAIN_FIELDS = ("seq", "ts", "prev_hash", "hash")
KEYS = {"acme-health": "bench-key-acme-health", "globex-retail": "bench-key-globex-retail"}
# scenarios/gateway.template.yaml's upstreams, with examples/gateway.yaml's catalog attributes
UPSTREAMS = (
    ("private-eu-70b", "llama-3.1-70b-private-eu", "govchaos-private", "private", "eu-central-1",
     "3.1-70b-instruct-2024-07", 0.003, 8),
    ("private-eu-8b", "llama-3.1-8b-private-eu", "govchaos-private", "private", "eu-central-1",
     "3.1-8b-instruct-2024-07", 0.0004, 5),
    ("cloud-eu", "gpt-4o-cloud-eu", "openai", "cloud", "eu-west-1", "gpt-4o-2024-08-06", 0.00625,
     10),
    ("cloud-us", "gpt-4o-cloud-us", "openai", "cloud", "us-east-1", "gpt-4o-2024-08-06", 0.00625,
     15),
)
ROUTES = {
    "claims-triage": ["private-eu-70b", "private-eu-8b", "cloud-eu", "cloud-us"],
    "customer-chat": ["cloud-eu", "cloud-us", "private-eu-70b", "private-eu-8b"],
    "analytics-summary": ["private-eu-8b", "private-eu-70b", "cloud-eu"],
    "code-assistant": ["cloud-us", "cloud-eu", "private-eu-70b"],
}


def _mix() -> tuple[RouteMix, ...]:
    def entry(route: str, tenant: str, classes: tuple[str, ...], weight: float) -> RouteMix:
        return RouteMix(route=route, tenant=tenant, api_key=KEYS[tenant], weight=weight,
                        data_classes=(DataClassMix(classes=classes),))

    return (entry("claims-triage", "acme-health", ("pii",), 2),
            entry("customer-chat", "globex-retail", ("public",), 2),
            entry("analytics-summary", "acme-health", ("internal",), 1),
            entry("code-assistant", "globex-retail", ("internal",), 1))


def gateway_config(audit_dir: Path, sink_dir: Path | None, urls: dict[str, str],
                   segment_bytes: int, compression: str) -> dict:
    audit: dict = {"directory": str(audit_dir), "max_segment_bytes": segment_bytes,
                   "compression": compression}
    if sink_dir is not None:
        audit["sinks"] = [{"kind": "directory", "path": str(sink_dir)}]
        audit["ship_interval_s"] = 2.0
    return {
        "policy": {"engine": "regorus", "bundle": str(REPO / "policies")},
        "audit": audit,
        "auth": {"keys_env": "GOVCHAOS_BENCH_KEYS"},
        "upstreams": [{"name": name, "base_url": urls[name] + "/v1", "model": model,
                       "provider": provider, "hosting": hosting, "region": region,
                       "version": version, "cost_per_1k_tokens": cost}
                      for name, model, provider, hosting, region, version, cost, _ in UPSTREAMS],
        "routes": {route: {"strategy": "priority", "upstreams": ups, "attempt_timeout_ms": 2000,
                           "retry_budget": 2} for route, ups in ROUTES.items()},
    }


def _wait_for_file(path: Path, proc: subprocess.Popen, timeout_s: float) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if path.exists():
            return path.read_text()
        if proc.poll() is not None:
            raise SystemExit(f"bench/audit_volume.py: the gateway exited with {proc.returncode}")
        time.sleep(0.05)
    raise SystemExit(f"bench/audit_volume.py: the gateway was not ready within {timeout_s:g} s")


async def _load(url: str, seconds: float, rate: float, seed: int) -> dict:
    spec = LoadSpec(rate_rps=rate, duration_s=seconds, seed=seed, mix=_mix(),
                    stream_share=0.1, max_in_flight=512, request_timeout_s=30)
    connector = aiohttp.TCPConnector(limit=512, limit_per_host=0)
    last = [time.monotonic()]

    def progress(stats) -> None:
        if time.monotonic() - last[0] >= 30:
            last[0] = time.monotonic()
            print(f"  {stats.elapsed_s:.0f} s: sent {stats.sent:,}, ok {stats.ok:,}, errors"
                  f" {stats.errors:,}, overload {stats.overload:,}, in flight {stats.in_flight}",
                  file=sys.stderr, flush=True)

    async with aiohttp.ClientSession(connector=connector) as session:
        result = await LoadGenerator(spec, url, session=session, on_progress=progress).run()
    return {"requests_sent": result.sent, "requests_ok": result.ok,
            "achieved_ok_rps": round(result.ok_rps(), 1),
            "latency_p50_ms": round(result.latency_ms(0.5) or 0.0, 2),
            "latency_p99_ms": round(result.latency_ms(0.99) or 0.0, 2),
            "errors": result.error_kinds()}


async def _write_legacy(source: Path, target: Path) -> int:
    """The events of ``source`` in the previous format: one plain, uncompacted file.
    Returns the decision count. (The events are already masked: no masking again.)"""
    log = await AuditLog.open(target, mask=MaskingRules(fields=()))
    decisions = 0
    for n, event in enumerate(iter_events(source)):
        decisions += event.get("kind") == "decision"
        log.append_nowait({k: v for k, v in event.items() if k not in CHAIN_FIELDS})
        if n % 5_000 == 4_999:
            await log.flush()
    await log.close()
    return decisions


def _bytes(directory: Path) -> int:
    return sum(p.stat().st_size for p in directory.iterdir() if p.is_file())


async def _fleet_and_gateway(tmp: Path, args: argparse.Namespace) -> dict:
    audit_dir, sink_dir = tmp / "audit", (None if args.no_sink else tmp / "shipped")
    spec = FleetSpec(upstreams=tuple(
        MockUpstreamSpec(name=name, model=model, latency={"base_ms": base, "jitter_ms": base / 2})
        for name, model, _, _, _, _, _, base in UPSTREAMS))
    async with FleetProcess(spec, workdir=tmp / "fleet") as fleet:
        urls = {name: info.url for name, info in fleet.ready.upstreams.items()}
        import yaml

        (tmp / "gateway.yaml").write_text(yaml.safe_dump(gateway_config(
            audit_dir, sink_dir, urls, args.segment_bytes, args.compression)))
        env = {**os.environ, "GOVCHAOS_BENCH_KEYS": ",".join(f"{k}={t}" for t, k in KEYS.items()),
               "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
        with open(tmp / "gateway-stderr.log", "wb") as stderr:
            gw = subprocess.Popen(
                [sys.executable, "-m", "govchaos", "gateway", "serve", "--config",
                 str(tmp / "gateway.yaml"), "--port", "0", "--ready-file", str(tmp / "ready.json")],
                env=env, stdout=subprocess.DEVNULL, stderr=stderr)
        try:
            url = json.loads(_wait_for_file(tmp / "ready.json", gw, 60))["url"]
            print(f"gateway (pid {gw.pid}) at {url}, upstreams (pid {fleet.pid}); "
                  f"{args.seconds:g} s at {args.rate:g} req/s", file=sys.stderr, flush=True)
            load = await _load(url, args.seconds, args.rate, args.seed)
        finally:
            gw.send_signal(signal.SIGTERM)
            try:
                gw.wait(60)
            except subprocess.TimeoutExpired:
                gw.kill()
                gw.wait(10)
    load["gateway_exit_code"] = gw.returncode
    return load


def run(args: argparse.Namespace, tmp: Path) -> dict:
    results = asyncio.run(_fleet_and_gateway(tmp, args))
    audit_dir = tmp / "audit"
    start = time.perf_counter()
    try:
        summary = verify_audit_log(audit_dir)
        verified, problem = True, None
    except GovchaosError as exc:
        summary, verified, problem = None, False, str(exc)
    verify_s = time.perf_counter() - start
    on_disk = _bytes(audit_dir)
    legacy = tmp / "legacy.jsonl"
    decisions = asyncio.run(_write_legacy(audit_dir, legacy))
    per_request = on_disk / decisions if decisions else float("nan")
    legacy_per_request = legacy.stat().st_size / decisions if decisions else float("nan")
    results.update({
        "seconds": args.seconds, "target_rps": args.rate, "segment_bytes": args.segment_bytes,
        "compression": args.compression,
        "decisions_audited": decisions,
        "records": summary.count if summary else None,
        "segments": summary.segments if summary else len(list(audit_dir.glob("*.manifest.json"))),
        "segments_shipped": len(list(audit_dir.glob("*.shipped.json"))),
        "bytes_on_disk": on_disk,
        "bytes_per_request": round(per_request, 1),
        "legacy_bytes_per_request": round(legacy_per_request, 1),
        "bytes_ratio": round(legacy_per_request / per_request, 2) if decisions else None,
        "verify_s": round(verify_s, 3),
        "verify_records_per_s": round(summary.count / verify_s) if summary else None,
        "chain_verified": verified,
        "verify_error": problem,
        "targets": {"bytes_ratio": TARGET_BYTES_RATIO},
    })
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/audit_volume.py",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="load duration (default 30)")
    parser.add_argument("--rate", type=float, default=150.0, help="target req/s (default 150)")
    parser.add_argument("--segment-bytes", type=int, default=4 * 1024 * 1024,
                        help="audit.max_segment_bytes (default 4 MiB: several rotations)")
    parser.add_argument("--compression", choices=("gzip", "zstd"), default="gzip")
    parser.add_argument("--no-sink", action="store_true", help="do not ship sealed segments")
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--keep", type=Path, default=None,
                        help="copy the audit directory here afterwards")
    parser.add_argument("--json", type=Path, default=None, help="write the figures here")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return 2 if exc.code else 0
    if not (0 < args.seconds <= 3600) or not (0 < args.rate <= 5000) or args.segment_bytes < 4096:
        print("bench/audit_volume.py: --seconds must be in (0, 3600], --rate in (0, 5000],"
              " --segment-bytes >= 4096", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="govchaos-bench-audit-volume-") as tmp_s:
        tmp = Path(tmp_s)
        started = time.monotonic()
        results = run(args, tmp)
        results["elapsed_s"] = round(time.monotonic() - started, 1)
        if args.keep is not None:
            import shutil

            shutil.copytree(tmp / "audit", args.keep, dirs_exist_ok=True)
    mb = results["bytes_on_disk"] / 1e6
    print(f"requests sent {results['requests_sent']:,}, served (200) {results['requests_ok']:,}"
          f" ({results['achieved_ok_rps']:g}/s), decisions audited"
          f" {results['decisions_audited']:,}, records {results['records'] or 0:,}")
    print(f"segments {results['segments']} ({results['compression']}, "
          f"{results['segment_bytes']:,} B max; {results['segments_shipped']} shipped), "
          f"{results['bytes_on_disk']:,} B on disk ({mb:.1f} MB)")
    print(f"bytes/request {results['bytes_per_request']:,} compact segments vs "
          f"{results['legacy_bytes_per_request']:,} one plain file: ratio "
          f"{results['bytes_ratio']} (target >= {TARGET_BYTES_RATIO:g})")
    print(f"verify {results['verify_s']} s ({results['verify_records_per_s'] or 0:,} records/s):"
          f" chain {'VERIFIED' if results['chain_verified'] else 'BROKEN: ' + str(results['verify_error'])}")
    if results["errors"]:
        print(f"load errors: {results['errors']}")
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0 if results["chain_verified"] and results["decisions_audited"] > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
