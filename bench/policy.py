"""Policy decision benchmark (DESIGN.md §6): p50/p99 per decision, cached and uncached, per engine.

    .venv/bin/python bench/policy.py [--json FILE] [--bundle DIR] [--iterations N]

Shipped policy (``policies/``; falls back to the unit-test fixture policy if the shipped one is
absent), a realistic 6-candidate input. Each engine is measured in its own process, one after
the other, in the same run (interleaving engines in one process slowed regorus ~3x): regorus
(VM and interpreter), regopy (bounded run), opa-go (the real OPA in-process) and opa (against
``govchaos policy serve`` on 127.0.0.1). Every engine must give the default engine's decision
for the benchmark input, or the run fails. Writes flat keys: ``decision_p50_us``,
``decision_p99_us``, ``decision_cached_p50_us``, ``decisions_per_s`` (default engine) and
``engines.<name>.decision_p50_us`` / ``.decision_p99_us`` / ``.decisions_per_s`` (engines measured
inline; ``regorus.isolated`` and ``decision_isolated_p50_us`` are the gateway's uncached path, the
engine in its bounded child process), plus
``opa_go_over_regorus_p50`` (how many times faster regorus is than OPA). Targets: ≥ 10x faster
than OPA uncached, p99 ≤ 150 µs, cached ≤ 2 µs. Whole run bounded well under 90 s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from governance.decision import Candidate, DecisionInput  # noqa: E402
from governance.engine import create_engine, load_bundle  # noqa: E402
from governance.engine.cases import catalog_of  # noqa: E402

SHIPPED_IDS = [
    "llama-3.1-70b-private-eu",
    "llama-3.1-8b-private-eu",
    "llama-3.1-70b-private-us",
    "gpt-4o-cloud-eu",
    "gpt-4o-cloud-us",
    "claude-sonnet-cloud-us",
]


def _bench_input(bundle) -> DecisionInput:
    catalog = catalog_of(bundle.data)
    ids = [i for i in SHIPPED_IDS if i in catalog] or list(catalog)[:6]
    cands = []
    for i in ids[:6]:
        m = catalog[i]
        cands.append(
            Candidate(
                id=i,
                provider=m.get("provider", "p"),
                hosting=m.get("hosting", "cloud"),
                region=m.get("region", "eu"),
                version=str(m.get("version", "")),
                cost_per_1k_tokens=float(m.get("cost_per_1k_tokens", 0.0)),
                tags=tuple(m.get("tags", ())),
            )
        )
    routes = bundle.data.get("govchaos", {}).get("routes", {})
    route = "customer-chat" if "customer-chat" in routes else next(iter(routes), "chat")
    return DecisionInput(
        route=route,
        tenant="globex-retail",
        data_classes=("pii",),
        candidates=tuple(cands),
        max_tokens=512,
    )


async def _measure(engine, inp, iterations: int, budget_s: float) -> dict[str, float]:
    for _ in range(min(200, iterations)):  # warm up
        await engine.decide(inp)
    samples: list[float] = []
    clock = time.perf_counter_ns
    deadline = time.perf_counter() + budget_s
    for n in range(iterations):
        t0 = clock()
        await engine.decide(inp)
        samples.append((clock() - t0) / 1000.0)
        if n % 256 == 0 and time.perf_counter() > deadline:
            break
    samples.sort()
    mean = statistics.fmean(samples)
    return {
        "decision_p50_us": round(samples[len(samples) // 2], 2),
        "decision_p99_us": round(samples[min(len(samples) - 1, int(len(samples) * 0.99))], 2),
        "decisions_per_s": round(1e6 / mean, 1),
        "samples": len(samples),
    }


async def _opa(bundle_dir: str, inp, iterations: int) -> dict[str, float]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "govchaos", "policy", "serve", "--bundle", bundle_dir, "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=REPO,
    )
    try:
        line = proc.stdout.readline().strip()
        if "listening on" not in line:
            raise RuntimeError(f"policy server did not start: {line!r}")
        url = line.rsplit(" ", 1)[-1]
        engine = create_engine("opa", url=url, timeout_s=2.0)
        try:
            first = await engine.decide(inp)
            if first.reasons and first.reasons[0].startswith("policy_"):
                raise RuntimeError(f"opa engine failed: {first.reasons[0]}")
            return await _measure(engine, inp, iterations, budget_s=10)
        finally:
            await engine.close()
    finally:
        proc.terminate()  # our own child, by its handle
        proc.wait(timeout=10)


# Engine name -> (registry kind, constructor options). Each is measured in its own process.
# Engines are measured inline (the engine itself); "regorus.isolated" is the path the gateway
# takes for an uncached decision: the engine in its bounded child process, one round trip.
ENGINE_SPECS = {
    "regorus": ("regorus", {"isolation": "inline"}),
    "regorus.isolated": ("regorus", {"isolation": "process"}),
    "regorus.interpreter": ("regorus", {"mode": "interpreter", "isolation": "inline"}),
    "regopy": ("regopy", {"isolation": "inline"}),
    "opa-go": ("opa-go", {"isolation": "inline"}),
}
ITERATION_SHARE = {"regorus": 1.0, "regorus.isolated": 0.5, "regorus.interpreter": 0.25,
                   "regopy": 0.02, "opa-go": 0.1}
BUDGET_S = {"regorus": 15, "regorus.isolated": 8, "regorus.interpreter": 8, "regopy": 5,
            "opa-go": 10}


async def measure_one(name: str, bundle_dir: str, iterations: int) -> dict[str, object]:
    """Measure one engine in this process (the child side of ``--engine-only``)."""
    bundle = load_bundle(bundle_dir)
    inp = _bench_input(bundle)
    kind, opts = ENGINE_SPECS[name]
    engine = create_engine(kind, bundle, cache=False, **opts)
    decision = await engine.decide(inp)
    n = max(200, int(iterations * ITERATION_SHARE[name]))
    stats: dict[str, object] = dict(await _measure(engine, inp, n, budget_s=BUDGET_S[name]))
    stats["decision"] = decision.model_dump(mode="json")
    if name == "regorus":
        stats["backend"] = engine.backend
        cached = await _measure(create_engine("regorus", bundle, isolation="inline"), inp,
                                iterations, budget_s=5)
        stats["cached_p50_us"] = cached["decision_p50_us"]
        stats["cached_p99_us"] = cached["decision_p99_us"]
    return stats


def _in_own_process(name: str, bundle_dir: str, iterations: int) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--engine-only", name, "--bundle", bundle_dir,
         "--iterations", str(iterations)],
        capture_output=True, text=True, cwd=REPO, timeout=120,
    )
    if out.returncode != 0:
        raise RuntimeError(f"{name}: exit {out.returncode}: {out.stderr.strip()[-300:]}")
    return json.loads(out.stdout)


async def run(args) -> dict[str, object]:
    bundle_dir = args.bundle
    if not (Path(bundle_dir) / "gateway.rego").exists():
        bundle_dir = str(REPO / "tests" / "fixtures" / "policies" / "basic")
    bundle = load_bundle(bundle_dir)
    inp = _bench_input(bundle)
    results: dict[str, object] = {
        "bundle": bundle_dir,
        "bundle_digest": bundle.digest,
        "candidates": len(inp.candidates),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
    }
    per_engine: dict[str, dict[str, object]] = {}
    for name in ENGINE_SPECS:
        try:
            per_engine[name] = _in_own_process(name, bundle_dir, args.iterations)
        except Exception as exc:  # report, do not hide, a broken comparison
            results[f"engines.{name}.error"] = str(exc)
    try:
        per_engine["opa"] = await _opa(bundle_dir, inp, 400)
    except Exception as exc:
        results["engines.opa.error"] = str(exc)
    default = per_engine.get("regorus")
    if default is None:
        raise RuntimeError(f"the default engine could not be measured: {results}")
    expected = default["decision"]
    results["regorus_backend"] = default["backend"]
    results["decision_allow"] = expected["allow"]
    results["decision_allowed"] = expected["allowed"]
    for name, stats in per_engine.items():
        if "decision" in stats and stats["decision"] != expected:
            raise RuntimeError(f"{name} decides differently on the benchmark input: {stats['decision']}")
    results["engines_agree"] = True
    results.update({k: default[k] for k in ("decision_p50_us", "decision_p99_us", "decisions_per_s")})
    isolated = per_engine.get("regorus.isolated")
    if isolated is not None:  # what an uncached decision costs on the gateway's request path
        results["decision_isolated_p50_us"] = isolated["decision_p50_us"]
        results["decision_isolated_p99_us"] = isolated["decision_p99_us"]
    results["decision_cached_p50_us"] = default["cached_p50_us"]
    results["decision_cached_p99_us"] = default["cached_p99_us"]
    per_engine[f"regorus.{default['backend']}"] = default
    for name, stats in per_engine.items():
        for key in ("decision_p50_us", "decision_p99_us", "decisions_per_s"):
            results[f"engines.{name}.{key}"] = stats[key]
    if "opa-go" in per_engine:
        results["opa_go_over_regorus_p50"] = round(
            per_engine["opa-go"]["decision_p50_us"] / default["decision_p50_us"], 1)
        results["meets_target_10x_faster_than_opa"] = results["opa_go_over_regorus_p50"] >= 10
    results["meets_target_p99"] = results["decision_p99_us"] <= 150
    results["meets_target_p50_cached"] = results["decision_cached_p50_us"] <= 2
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", metavar="FILE", help="write the flat results here")
    parser.add_argument("--bundle", default=str(REPO / "policies"))
    parser.add_argument("--iterations", type=int, default=20_000)
    parser.add_argument("--engine-only", choices=sorted(ENGINE_SPECS), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.engine_only:  # child process: one engine, JSON on stdout
        print(json.dumps(asyncio.run(measure_one(args.engine_only, args.bundle, args.iterations))))
        return 0
    started = time.perf_counter()
    results = asyncio.run(run(args))
    results["bench_wall_s"] = round(time.perf_counter() - started, 2)
    width = max(len(k) for k in results)
    for key, value in results.items():
        print(f"{key:<{width}}  {value}")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
