"""Gateway overhead benchmark: direct upstream vs through `govchaos gateway serve`.

Starts a fast mock upstream (aiohttp, its own process) and the gateway (its own process, via
the CLI, with the shipped policy on the embedded regorus engine and the real audit chain), then
measures closed-loop clients at 1, 8 and 32 concurrency — direct and through the gateway
interleaved in the same run, repeated — and prints a table.

    .venv/bin/python bench/gateway.py [--json FILE] [--seconds 2.0] [--repeats 3]
                                      [--upstream-client fast|aiohttp] [--compare-governed]
                                      [--workers N] [--compare-workers]

``--compare-governed`` measures a second gateway in the same run, configured with the traffic
governance features on: a weighted split (95/5 between two versions), a shadow of 5 % of the
requests (its own policy decision, then a mirrored call), a tenant spend budget (budget state in
every policy input) and token/cost accounting (always on), and prints its row next to the plain
one; JSON keys ``governed_<key>`` and ``governed_minus_plain_overhead_p50_ms_cN``.

JSON keys: overhead_p50_ms_cN, overhead_p99_ms_cN (gateway − direct latency percentiles),
gateway_rps_cN, direct_rps_cN, throughput_ratio_cN (gateway/direct) for N in 1, 8, 32;
gateway_cpu_us_per_request (and _cN): CPU time of the gateway process and its children (the
policy workers), from /proc, over the requests it served in the gateway windows — a figure much
less noisy than latency on a shared machine.
Targets (DESIGN.md §6): overhead p50 ≤ 0.25 ms and p99 ≤ 0.5 ms at c1; ratio ≥ 0.7 at c32.

``--workers N`` runs the gateway as ``gateway serve --workers N`` (its audit then in one chain per
worker, ``audit.directory``). ``--compare-workers`` measures instead, in one run, a 1-worker and
a 2-worker gateway side by side (both with ``audit.directory``, so only the worker count
differs) at 32 clients, interleaved, repeated: keys ``workers_rps_c32_w1`` / ``_w2``,
``workers_p50_ms_c32_w*`` / ``workers_p99_ms_c32_w*``, ``workers_cpu_us_per_request_w*`` (CPU of
every gateway process — supervisor, workers, policy children — per request),
``workers_speedup_c32`` (w2 ÷ w1 throughput) and ``direct_rps_c32``. On a 2-core machine the
load generator and the mock compete with the workers for the cores: read the speedup as what
this machine allows, not as the gateway's scaling.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
LEVELS = (1, 8, 32)
KEY = "sk-bench"
BODY = {"model": "auto", "messages": [{"role": "user", "content": "ping"}], "max_tokens": 16}
RESPONSE = {
    "id": "cmpl-bench", "object": "chat.completion", "created": 0,
    "model": "llama-3.1-70b-private-eu",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "pong"},
                 "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
}


# -- the mock upstream (runs in its own process: `bench/gateway.py --mock PORTFILE`) ----------
def run_mock(port_file: str) -> None:
    import orjson
    import uvloop
    from aiohttp import web

    payload = orjson.dumps(RESPONSE)

    async def handle(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(body=payload, content_type="application/json")

    async def main() -> None:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, backlog=2048)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        tmp = port_file + ".tmp"
        Path(tmp).write_text(str(port))
        os.replace(tmp, port_file)
        await asyncio.Event().wait()

    uvloop.run(main())


# -- load -------------------------------------------------------------------------------------
async def closed_loop(session, url: str, headers: dict, body: bytes, clients: int,
                      seconds: float) -> tuple[list[float], int, float]:
    """`clients` workers send back-to-back for `seconds`; returns latencies (s), errors, elapsed."""
    lat: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal errors
        while time.perf_counter() < deadline:
            t = time.perf_counter()
            try:
                async with session.post(url, data=body, headers=headers) as r:
                    await r.read()
                    ok = r.status == 200
            except Exception:
                ok = False
            if ok:
                lat.append(time.perf_counter() - t)
            else:
                errors += 1

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(clients)))
    return lat, errors, time.perf_counter() - t0


def tree_cpu_s(pid: int) -> float | None:
    """User + system CPU seconds of ``pid`` and its descendants (Linux /proc; None elsewhere)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    todo = [pid]
    try:
        while todo:
            p = todo.pop()
            with open(f"/proc/{p}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15)
            try:
                with open(f"/proc/{p}/task/{p}/children", "rb") as f:
                    todo += [int(c) for c in f.read().split()]
            except OSError:
                pass
    except (OSError, ValueError, IndexError):
        return None
    return total / tick


def new_window() -> dict:
    """Accumulated figures of one measured configuration (see :func:`timed_window`)."""
    return {"lat": [], "n": 0, "errors": 0, "t": 0.0, "p50s": [], "p99s": [], "cpu": 0.0,
            "cpu_ok": True}


async def timed_window(session, url: str, headers: dict, body: bytes, clients: int,
                       seconds: float, pid: int | None, r: dict) -> list[float]:
    """One closed-loop window, added to ``r`` (latencies, counts, the CPU of process ``pid``
    and its children); returns the window's latencies."""
    cpu0 = tree_cpu_s(pid) if pid else None
    lat, err, elapsed = await closed_loop(session, url, headers, body, clients, seconds)
    cpu1 = tree_cpu_s(pid) if pid else None
    if cpu0 is None or cpu1 is None:
        r["cpu_ok"] = False
    else:
        r["cpu"] += cpu1 - cpu0
    r["lat"] += lat
    r["n"] += len(lat)
    r["errors"] += err
    r["t"] += elapsed
    return lat


def write_json(path: Path, res: dict) -> None:
    """The figures as flat JSON, floats rounded to 4 places."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({k: round(v, 4) if isinstance(v, float) else v
                                for k, v in res.items()}, indent=2, sort_keys=True))


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))] if xs else float("nan")


async def measure(direct_url: str, gateway_url: str, seconds: float, repeats: int,
                  gateway_pid: int | None = None) -> dict:
    import aiohttp
    import orjson

    body = orjson.dumps(BODY)
    gw_headers = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json",
                  "X-Govchaos-Route": "claims-triage", "X-Govchaos-Data-Classes": "pii"}
    direct_headers = {"Content-Type": "application/json"}
    conn = aiohttp.TCPConnector(limit=0)
    results: dict[tuple[str, int], dict] = {}
    async with aiohttp.ClientSession(connector=conn) as session:
        # warm up both paths (connections, decision cache)
        for url, h in ((direct_url, direct_headers), (gateway_url, gw_headers)):
            await closed_loop(session, url, h, body, 8, 0.5)
        for rep in range(repeats):
            for c in LEVELS:
                order = [("direct", direct_url, direct_headers), ("gateway", gateway_url, gw_headers)]
                if rep % 2:
                    order.reverse()  # interleave: neither side always goes first
                for name, url, h in order:
                    r = results.setdefault((name, c), new_window())
                    lat = await timed_window(session, url, h, body, c, seconds, gateway_pid, r)
                    r["p50s"].append(pct(lat, 0.5))
                    r["p99s"].append(pct(lat, 0.99))
    out: dict = {}
    for c in LEVELS:
        d, g = results[("direct", c)], results[("gateway", c)]
        out[f"direct_p50_ms_c{c}"] = pct(d["lat"], 0.5) * 1000
        out[f"direct_p99_ms_c{c}"] = pct(d["lat"], 0.99) * 1000
        out[f"gateway_p50_ms_c{c}"] = pct(g["lat"], 0.5) * 1000
        out[f"gateway_p99_ms_c{c}"] = pct(g["lat"], 0.99) * 1000
        # overhead per repetition (same minute, same machine state), then the median of those
        out[f"overhead_p50_ms_c{c}"] = statistics.median(
            (gp - dp) * 1000 for gp, dp in zip(g["p50s"], d["p50s"]))
        out[f"overhead_p99_ms_c{c}"] = statistics.median(
            (gp - dp) * 1000 for gp, dp in zip(g["p99s"], d["p99s"]))
        out[f"direct_rps_c{c}"] = d["n"] / d["t"]
        out[f"gateway_rps_c{c}"] = g["n"] / g["t"]
        out[f"throughput_ratio_c{c}"] = out[f"gateway_rps_c{c}"] / out[f"direct_rps_c{c}"]
        out[f"errors_c{c}"] = d["errors"] + g["errors"]
        if g["cpu_ok"] and g["n"] + g["errors"]:
            out[f"gateway_cpu_us_per_request_c{c}"] = g["cpu"] / (g["n"] + g["errors"]) * 1e6
    gw = [results[("gateway", c)] for c in LEVELS]
    served = sum(g["n"] + g["errors"] for g in gw)
    if all(g["cpu_ok"] for g in gw) and served:
        out["gateway_cpu_us_per_request"] = sum(g["cpu"] for g in gw) / served * 1e6
    return out


async def compare_workers(direct_url: str, gateways: dict[int, tuple[str, int]], seconds: float,
                          repeats: int, clients: int = 32) -> dict:
    """Throughput, latency and CPU per request of each gateway (by worker count) at ``clients``,
    interleaved with the direct path, the order alternating per repetition."""
    import aiohttp
    import orjson

    body = orjson.dumps(BODY)
    gw_headers = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json",
                  "X-Govchaos-Route": "claims-triage", "X-Govchaos-Data-Classes": "pii"}
    targets = [("direct", direct_url, {"Content-Type": "application/json"}, None)]
    targets += [(f"w{n}", url, gw_headers, pid) for n, (url, pid) in sorted(gateways.items())]
    results = {name: new_window() for name, *_ in targets}
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        for _, url, h, _ in targets:  # warm up: connections (spread over the workers), caches
            await closed_loop(session, url, h, body, clients, 0.5)
        for rep in range(repeats):
            order = targets if rep % 2 == 0 else list(reversed(targets))
            for name, url, h, pid in order:
                await timed_window(session, url, h, body, clients, seconds, pid, results[name])
    out: dict = {f"direct_rps_c{clients}": results["direct"]["n"] / results["direct"]["t"]}
    for name, *_ in targets[1:]:
        r = results[name]
        out[f"workers_rps_c{clients}_{name}"] = r["n"] / r["t"]
        out[f"workers_p50_ms_c{clients}_{name}"] = pct(r["lat"], 0.5) * 1000
        out[f"workers_p99_ms_c{clients}_{name}"] = pct(r["lat"], 0.99) * 1000
        out[f"workers_errors_c{clients}_{name}"] = r["errors"]
        if r["cpu_ok"] and r["n"] + r["errors"]:
            out[f"workers_cpu_us_per_request_{name}"] = r["cpu"] / (r["n"] + r["errors"]) * 1e6
    if "w1" in results and "w2" in results:
        out[f"workers_speedup_c{clients}"] = (out[f"workers_rps_c{clients}_w2"]
                                              / out[f"workers_rps_c{clients}_w1"])
    return out


# -- processes --------------------------------------------------------------------------------
def wait_for_file(path: Path, proc: subprocess.Popen, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists():
            return path.read_text()
        if proc.poll() is not None:
            raise SystemExit(f"process exited early with {proc.returncode}")
        time.sleep(0.02)
    raise SystemExit(f"timed out waiting for {path}")


def gateway_config(args: argparse.Namespace, tmp: Path, upstream: str, *,
                   governed: bool, directory: bool = False) -> dict:
    """The bench gateway's config; ``governed`` adds a 95/5 version split, a 5 % shadow and a
    tenant budget (too large to run out: its state still goes into every policy input);
    ``directory``: the audit in segments (one chain per worker with ``--workers``)."""
    audit = {"directory": str(tmp / "audit")} if directory else {"path": str(tmp / "audit.jsonl")}
    cfg: dict = {
        "policy": {"engine": "regorus", "bundle": str(args.bundle)},
        "audit": {**audit, "ack": args.audit_ack},
        "auth": {"keys_env": "GOVCHAOS_BENCH_KEYS"},
        "upstreams": [{
            "name": "private-eu-a", "base_url": upstream,
            "model": "llama-3.1-70b-private-eu", "provider": "govchaos-private",
            "hosting": "private", "region": "eu-central-1",
            "version": "3.1-70b-instruct-2024-07", "cost_per_1k_tokens": 0.003}],
        "routes": {"claims-triage": {"strategy": "latency", "attempt_timeout_ms": 5000}},
        "upstream_client": args.upstream_client,
    }
    if governed:
        cfg["upstreams"].append({
            "name": "private-eu-b", "base_url": upstream,
            "model": "llama-3.1-8b-private-eu", "provider": "govchaos-private",
            "hosting": "private", "region": "eu-central-1",
            "version": "3.1-8b-instruct-2024-07", "cost_per_1k_tokens": 0.0004})
        cfg["routes"]["claims-triage"].update({
            "upstreams": ["private-eu-a", "private-eu-b"],
            "split": [{"model": "llama-3.1-70b-private-eu", "weight": 95},
                      {"model": "llama-3.1-8b-private-eu", "weight": 5}],
            "shadow": {"model": "llama-3.1-8b-private-eu", "share": 0.05}})
        cfg["budgets"] = [{"scope": "tenant", "name": "acme-health", "usd_per_hour": 1.0e6}]
    return cfg


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--json", type=Path, help="write the figures here")
    ap.add_argument("--seconds", type=float, default=2.0, help="per measurement window")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--bundle", type=Path, default=REPO / "policies",
                    help="policy bundle (default: the repository's policies/)")
    ap.add_argument("--upstream-client", choices=("fast", "aiohttp"), default="fast",
                    help="the gateway's HTTP client to upstreams (config upstream_client)")
    ap.add_argument("--audit-ack", choices=("durable", "enqueued"), default="durable",
                    help="config audit.ack: answer after the records are durable (the default) "
                         "or once they are enqueued")
    ap.add_argument("--compare-governed", action="store_true",
                    help="also measure a gateway with split + shadow (0.05) + budgets + "
                         "accounting, in the same run")
    ap.add_argument("--workers", type=int, default=1,
                    help="gateway serve --workers N (1..64; above 1 the audit is one chain per worker)")
    ap.add_argument("--compare-workers", action="store_true",
                    help="measure a 1-worker and a 2-worker gateway side by side at 32 clients")
    ap.add_argument("--mock", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if not 1 <= args.workers <= 64:
        ap.error("--workers must be in 1..64")
    if args.mock:
        run_mock(args.mock)
        return 0

    import yaml

    with tempfile.TemporaryDirectory(prefix="govchaos-bench-") as tmp_s:
        tmp = Path(tmp_s)
        procs: list[subprocess.Popen] = []
        try:
            mock = subprocess.Popen([sys.executable, __file__, "--mock", str(tmp / "port")])
            procs.append(mock)
            port = int(wait_for_file(tmp / "port", mock, 20))
            upstream = f"http://127.0.0.1:{port}/v1"
            env = {**os.environ, "GOVCHAOS_BENCH_KEYS": f"{KEY}=acme-health"}
            kinds = ("plain", "governed") if args.compare_governed else ("plain",)
            if args.compare_workers:
                kinds = ("w1", "w2")
            gateways = {}
            for kind in kinds:
                workers = int(kind[1:]) if args.compare_workers else args.workers
                cfg = gateway_config(args, tmp / kind, upstream, governed=kind == "governed",
                                     directory=args.compare_workers or workers > 1)
                (tmp / kind).mkdir()
                (tmp / kind / "gateway.yaml").write_text(yaml.safe_dump(cfg))
                gw = subprocess.Popen(
                    [sys.executable, "-m", "govchaos", "gateway", "serve", "--config",
                     str(tmp / kind / "gateway.yaml"), "--port", "0",
                     "--ready-file", str(tmp / kind / "ready.json"),
                     *(["--workers", str(workers)] if workers > 1 else [])],
                    env=env, stdout=subprocess.DEVNULL)
                procs.append(gw)
                url = json.loads(wait_for_file(tmp / kind / "ready.json", gw, 60))["url"]
                gateways[kind] = (url, gw.pid)
            try:
                import uvloop
                run = uvloop.run
            except ImportError:
                run = asyncio.run
            if args.compare_workers:
                res = run(compare_workers(
                    f"{upstream}/chat/completions",
                    {int(k[1:]): (f"{u}/v1/chat/completions", pid)
                     for k, (u, pid) in gateways.items()}, args.seconds, args.repeats))
                return _print_workers(res, args)
            results = {kind: run(measure(f"{upstream}/chat/completions",
                                         f"{url}/v1/chat/completions",
                                         args.seconds, args.repeats, pid))
                       for kind, (url, pid) in gateways.items()}
            res = results["plain"]
        finally:
            for p in reversed(procs):
                p.send_signal(signal.SIGTERM)
            for p in procs:
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()

    print(f"{'gateway':>8} {'clients':>7} | {'direct p50':>10} {'p99':>7} {'rps':>7} | "
          f"{'gateway p50':>11} {'p99':>7} {'rps':>7} | {'+p50 ms':>7} {'+p99 ms':>7} "
          f"{'ratio':>6} {'cpu µs/req':>10}")
    for kind, r in results.items():
        for c in LEVELS:
            print(f"{kind:>8} {c:>7} | {r[f'direct_p50_ms_c{c}']:>10.3f} "
                  f"{r[f'direct_p99_ms_c{c}']:>7.3f} {r[f'direct_rps_c{c}']:>7.0f} | "
                  f"{r[f'gateway_p50_ms_c{c}']:>11.3f} {r[f'gateway_p99_ms_c{c}']:>7.3f} "
                  f"{r[f'gateway_rps_c{c}']:>7.0f} | {r[f'overhead_p50_ms_c{c}']:>7.3f} "
                  f"{r[f'overhead_p99_ms_c{c}']:>7.3f} {r[f'throughput_ratio_c{c}']:>6.2f} "
                  f"{r.get(f'gateway_cpu_us_per_request_c{c}', float('nan')):>10.0f}")
    if "governed" in results:
        gov = results["governed"]
        for key, value in list(gov.items()):
            res[f"governed_{key}"] = value
        for c in LEVELS:
            res[f"governed_minus_plain_overhead_p50_ms_c{c}"] = (
                gov[f"overhead_p50_ms_c{c}"] - res[f"overhead_p50_ms_c{c}"])
        print("governed − plain, +p50 ms: " + ", ".join(
            f"c{c} {res[f'governed_minus_plain_overhead_p50_ms_c{c}']:+.3f}" for c in LEVELS))
    print(f"targets: +p50 ≤ 0.25 ms and +p99 ≤ 0.5 ms at 1 client; ratio ≥ 0.70 at 32 clients; "
          f"errors: {sum(res[f'errors_c{c}'] for c in LEVELS)}; gateway CPU per request: "
          f"{res.get('gateway_cpu_us_per_request', float('nan')):.0f} µs")
    if args.json:
        write_json(args.json, res)
    return 0


def _print_workers(res: dict, args: argparse.Namespace) -> int:
    print(f"32 clients, {args.repeats} × {args.seconds:g} s each, interleaved; direct"
          f" {res['direct_rps_c32']:.0f} req/s")
    print(f"{'workers':>7} | {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'errors':>6}"
          f" {'cpu µs/req':>10}")
    for n in (1, 2):
        print(f"{n:>7} | {res[f'workers_rps_c32_w{n}']:>7.0f}"
              f" {res[f'workers_p50_ms_c32_w{n}']:>7.2f} {res[f'workers_p99_ms_c32_w{n}']:>7.2f}"
              f" {res[f'workers_errors_c32_w{n}']:>6}"
              f" {res.get(f'workers_cpu_us_per_request_w{n}', float('nan')):>10.0f}")
    print(f"2 workers / 1 worker throughput: {res['workers_speedup_c32']:.2f}× on"
          f" {os.cpu_count()} CPUs (load generator and mock on the same cores)")
    if args.json:
        write_json(args.json, res)
    return 0


if __name__ == "__main__":
    sys.exit(main())
