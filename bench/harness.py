"""Harness benchmark (DESIGN.md §6): how fast one harness process drives open-loop load.

    .venv/bin/python bench/harness.py [--json FILE] [--rates 1000,1500,...] [--step-s 3]

A fast simulated upstream (no latency, no faults) runs in its own process
(``python -m chaos.providers serve``); this process runs the open-loop load generator against
it at increasing target rates, ``--step-s`` seconds each, on uvloop with one shared aiohttp
session. A rate passes when the successful requests per second reach >= 95% of the target and
the arrival-time error (actual send - scheduled send) has p99 <= 5 ms. A failing rate is re-run
``--retries`` times (default 1; every attempt is in ``steps``), then the ladder stops. Then the fault proxy's own added latency with no toxics is measured with
``chaos.proxy.bench.measure_overhead`` (TCP echo round trips, direct vs proxied, interleaved).

JSON keys: ``harness_max_rps`` (highest passing rate), ``arrival_error_p99_ms`` (at 1,000 req/s),
``proxy_overhead_p50_us`` (null with a printed note if ``chaos.proxy`` is unavailable), and
``steps`` (per-rate detail). Targets: >= 1,000 req/s with arrival error p99 <= 5 ms. The whole
run is bounded well under 90 s.

Agent workflows (``--workflow-rate``, default 200/s; ``--workflows-only`` skips the ladder and
the proxy): the workflow generator (:mod:`chaos.load.workflows`) starts 5-step workflows
open-loop (each step built from the previous answer, one redacting, streams on one step)
against the same upstream for ``--step-s`` seconds; ``workflows_per_s`` is the workflows that
finished with every step answered per second, ``workflow_arrival_error_p99_ms`` the lateness
of each workflow's first request. Target: >= 200 workflows/s, arrival error p99 <= 5 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import aiohttp  # noqa: E402

from chaos.load import LoadGenerator, LoadResult, LoadSpec, RouteMix  # noqa: E402
from chaos.load.workflow_models import WorkflowLoad  # noqa: E402
from chaos.load.workflows import WorkflowGenerator  # noqa: E402
from chaos.providers import FleetProcess, FleetSpec, MockUpstreamSpec  # noqa: E402
from chaos.scenario.workflows import WorkflowSpec  # noqa: E402

ACHIEVED_FRACTION = 0.95
ARRIVAL_P99_LIMIT_MS = 5.0
DEFAULT_RATES = (1000, 1500, 2000, 2500, 3000, 4000, 5000)
BUDGET_S = 75.0  # stop climbing before this, so the run stays under 90 s
MIX = (
    RouteMix(route="customer-chat", tenant="globex-retail", api_key="bench-key"),
)


def _spec(rate: float, duration_s: float, seed: int) -> LoadSpec:
    return LoadSpec(
        rate_rps=rate,
        duration_s=duration_s,
        seed=seed,
        mix=MIX,
        max_in_flight=2048,
        request_timeout_s=10,
    )


def _step_summary(rate: float, result: LoadResult, cpu_s: float) -> dict:
    ok_rps = result.ok_rps()
    p99 = result.arrival_error_ms(0.99) or 0.0
    return {
        "target_rps": rate,
        "sent": result.sent,
        "ok": result.ok,
        "achieved_ok_rps": round(ok_rps, 1),
        "arrival_error_p50_ms": round(result.arrival_error_ms(0.5) or 0.0, 3),
        "arrival_error_p99_ms": round(p99, 3),
        "arrival_error_max_ms": round(result.arrival_error_ms(1.0) or 0.0, 3),
        "latency_p50_ms": round(result.latency_ms(0.5) or 0.0, 3),
        "latency_p99_ms": round(result.latency_ms(0.99) or 0.0, 3),
        "errors": result.error_kinds(),
        # CPU this process spent per request: the harness's own cost, insensitive to what else
        # the machine is running (wall-clock numbers are not).
        "harness_cpu_us_per_request": round(cpu_s / max(1, result.sent) * 1e6, 1),
        "load_average_1m": round(os.getloadavg()[0], 2),
        "passed": ok_rps >= ACHIEVED_FRACTION * rate and p99 <= ARRIVAL_P99_LIMIT_MS,
    }


async def _ladder(
    url: str, rates: list[float], step_s: float, seed: int, retries: int
) -> list[dict]:
    started = time.monotonic()
    steps: list[dict] = []
    connector = aiohttp.TCPConnector(limit=2048, limit_per_host=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        # Warm-up (not reported): open connections, fill caches.
        await LoadGenerator(_spec(500, 1.0, seed), url, session=session).run()
        for rate in rates:
            passed = False
            for attempt in range(1, retries + 2):
                if time.monotonic() - started + step_s + 2 > BUDGET_S:
                    print(f"  {rate:>6.0f} req/s  skipped (time budget)")
                    return steps
                cpu = time.process_time()
                result = await LoadGenerator(_spec(rate, step_s, seed), url, session=session).run()
                step = _step_summary(rate, result, time.process_time() - cpu)
                step["attempt"] = attempt
                steps.append(step)
                print(
                    f"  {rate:>6.0f} req/s  ok {step['achieved_ok_rps']:>8.1f}/s  arrival error "
                    f"p50 {step['arrival_error_p50_ms']:.3f} ms p99 "
                    f"{step['arrival_error_p99_ms']:.3f} ms  latency p50 "
                    f"{step['latency_p50_ms']:.2f} ms  cpu "
                    f"{step['harness_cpu_us_per_request']:.0f} us/req  load "
                    f"{step['load_average_1m']}  {'PASS' if step['passed'] else 'FAIL'}"
                    f"{' (attempt %d)' % attempt if attempt > 1 else ''}  {step['errors'] or ''}",
                    flush=True,
                )
                await asyncio.sleep(0.3)  # let the upstream's queues settle between steps
                if step["passed"]:
                    passed = True
                    break
            if not passed:
                break
    return steps


def _workflow_spec(rate: float) -> WorkflowSpec:
    retry = {"attempts": 3, "backoff_ms": 20, "deadline_ms": 3000}
    return WorkflowSpec.model_validate({
        "name": "claims", "tenant": "bench", "rate_per_s": rate, "steps": [
            {"id": "intake", "route": "claims-triage", "data_classes": ["pii"],
             "text": "Read the claim document.", "retry": retry},
            {"id": "assess", "route": "claims-triage", "data_classes": ["pii"],
             "from": ["intake"], "retry": retry},
            {"id": "draft", "route": "customer-chat", "data_classes": ["internal"],
             "from": ["assess"], "transform": "redact", "stream": True, "retry": retry,
             "fallback": {"text": "template letter"}},
            {"id": "validate", "route": "analytics-summary", "data_classes": ["internal"],
             "from": ["draft"], "retry": retry},
            {"id": "file", "route": "customer-chat", "data_classes": ["internal"],
             "from": ["draft", "validate"], "retry": retry},
        ]})


async def _workflows(url: str, rate: float, step_s: float, seed: int) -> dict:
    connector = aiohttp.TCPConnector(limit=4096, limit_per_host=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        def load(duration_s: float) -> WorkflowLoad:
            return WorkflowLoad(workflows=(_workflow_spec(rate),),
                                api_keys={"bench": "bench-key-0001"}, duration_s=duration_s,
                                seed=seed, request_timeout_s=10)

        await WorkflowGenerator(load(0.5), url, session=session).run()  # warm-up
        cpu = time.process_time()
        generator = WorkflowGenerator(load(step_s), url, session=session)
        result = await generator.run()
        cpu_s = time.process_time() - cpu
    runs = generator.workflows()
    succeeded = sum(1 for r in runs if r.outcome == "succeeded")
    p99 = result.arrival_error_ms(0.99) or 0.0
    latencies = sorted(r.latency_ms for r in runs)
    summary = {
        "target_workflows_per_s": rate,
        "steps_per_workflow": 5,
        "workflows": len(runs),
        "succeeded": succeeded,
        "workflows_per_s": round(succeeded / step_s, 1),
        "requests": len(result.records),
        "requests_per_s": round(len(result.records) / step_s, 1),
        "workflow_arrival_error_p50_ms": round(result.arrival_error_ms(0.5) or 0.0, 3),
        "workflow_arrival_error_p99_ms": round(p99, 3),
        "workflow_latency_p50_ms": round(latencies[len(latencies) // 2], 3) if latencies else None,
        "harness_cpu_us_per_workflow": round(cpu_s / max(1, len(runs)) * 1e6, 1),
        "load_average_1m": round(os.getloadavg()[0], 2),
        "errors": result.error_kinds(),
    }
    summary["passed"] = (summary["workflows_per_s"] >= ACHIEVED_FRACTION * rate
                         and p99 <= ARRIVAL_P99_LIMIT_MS)
    print(f"  workflows {rate:g}/s x 5 steps: {summary['workflows_per_s']}/s finished "
          f"({summary['requests_per_s']} req/s), arrival error p99 {p99:.3f} ms, cpu "
          f"{summary['harness_cpu_us_per_workflow']:.0f} us/workflow, load "
          f"{summary['load_average_1m']}  {'PASS' if summary['passed'] else 'FAIL'}", flush=True)
    return summary


async def _proxy_overhead() -> dict | None:
    try:
        from chaos.proxy.bench import measure_overhead
    except ImportError as exc:
        print(f"note: chaos.proxy unavailable ({exc}); proxy_overhead_p50_us left null")
        return None
    result = await measure_overhead(samples=2000, warmup=200)
    return result.model_dump()


async def _main(args: argparse.Namespace) -> dict:
    rates = [float(r) for r in args.rates.split(",")] if args.rates else list(DEFAULT_RATES)
    load_at_start = os.getloadavg()[0]
    if load_at_start > (os.cpu_count() or 1):
        print(
            f"note: load average {load_at_start:.1f} on {os.cpu_count()} CPUs: other processes "
            "compete for the cores, so arrival errors will be inflated"
        )
    with tempfile.TemporaryDirectory(prefix="govchaos-bench-harness-") as workdir:
        spec = FleetSpec(upstreams=(MockUpstreamSpec(name="fast", model="gpt-4o-cloud-eu"),))
        async with FleetProcess(spec, workdir=workdir) as fleet:
            url = fleet.ready.upstreams["fast"].url
            print(f"upstream (pid {fleet.pid}) at {url}; {args.step_s:g} s per rate")
            steps = ([] if args.workflows_only
                     else await _ladder(url, rates, args.step_s, args.seed, args.retries))
            workflows = await _workflows(url, args.workflow_rate, args.step_s, args.seed)
    proxy = None if args.workflows_only else await _proxy_overhead()
    passing = [s["target_rps"] for s in steps if s["passed"]]
    # The first attempt at 1,000 req/s, retried or not: no picking the better of two.
    at_1000 = next((s for s in steps if s["target_rps"] == 1000), None)
    cpu = [s["harness_cpu_us_per_request"] for s in steps]
    return {
        "harness_max_rps": max(passing) if passing else None,
        "arrival_error_p99_ms": at_1000["arrival_error_p99_ms"] if at_1000 else None,
        "proxy_overhead_p50_us": proxy["proxy_overhead_p50_us"] if proxy else None,
        "proxy_overhead_p99_us": proxy["proxy_overhead_p99_us"] if proxy else None,
        "harness_cpu_us_per_request": min(cpu) if cpu else None,
        "proxy": proxy,
        "workflows_per_s": workflows["workflows_per_s"],
        "workflow_arrival_error_p99_ms": workflows["workflow_arrival_error_p99_ms"],
        "workflows": workflows,
        "steps": steps,
        "criteria": {
            "achieved_fraction": ACHIEVED_FRACTION,
            "arrival_error_p99_limit_ms": ARRIVAL_P99_LIMIT_MS,
        },
        "targets": {"harness_min_rps": 1000, "arrival_error_p99_ms": ARRIVAL_P99_LIMIT_MS,
                    "workflows_per_s": 200},
        "environment": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "event_loop": "uvloop",
            "step_s": args.step_s,
            "seed": args.seed,
            "retries": args.retries,
            "load_average_at_start": round(load_at_start, 2),
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", help="write the results here")
    parser.add_argument("--rates", help="comma-separated target rates (req/s), ascending")
    parser.add_argument("--step-s", type=float, default=3.0, help="seconds per rate (default 3)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--retries",
        type=int,
        default=1,
        help="re-run a failing rate this many times before stopping (default 1: on a shared "
        "machine one scheduling hiccup from another process should not end the ladder)",
    )
    parser.add_argument("--workflow-rate", type=float, default=200.0,
                        help="5-step workflows started per second (default 200)")
    parser.add_argument("--workflows-only", action="store_true",
                        help="measure only the workflow figure (no rate ladder, no proxy)")
    args = parser.parse_args(argv)
    if not 0.5 <= args.step_s <= 10:
        parser.error("--step-s must be within 0.5..10")
    import uvloop

    started = time.monotonic()
    results = uvloop.run(_main(args))
    results["elapsed_s"] = round(time.monotonic() - started, 1)
    print(
        f"harness_max_rps={results['harness_max_rps']} "
        f"arrival_error_p99_ms@1000={results['arrival_error_p99_ms']} "
        f"proxy_overhead_p50_us={results['proxy_overhead_p50_us']} "
        f"workflows_per_s={results['workflows_per_s']} "
        f"workflow_arrival_error_p99_ms={results['workflow_arrival_error_p99_ms']} "
        f"({results['elapsed_s']} s)"
    )
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
