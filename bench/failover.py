"""Failover benchmark: steady load through the reference gateway while one of two allowed
upstreams is killed, hangs, returns 500s, or returns 429s — each for ``--fault-seconds`` — and
is then restored.

    .venv/bin/python bench/failover.py --json reports/bench/failover.json

What runs (all on 127.0.0.1, every process started and stopped here, by PID):

- two mock OpenAI-compatible upstreams (aiohttp), each its own process (``--upstream`` mode of
  this file) with ``POST /_fault {"mode": "ok"|"hang"|"500"|"429"}`` to switch fault modes;
  "kill" is SIGKILL of that process, "restore" restarts it on the same port;
- the gateway through its process contract:
  ``govchaos gateway serve --config FILE --port 0 --ready-file PATH``, route
  ``analytics-summary`` with data class ``internal`` for tenant ``globex-retail`` — the shipped
  policy allows both ``llama-3.1-70b-private-eu`` (upstream ``primary``) and
  ``llama-3.1-8b-private-eu`` (upstream ``secondary``), strategy ``priority`` so traffic sits on
  the primary until it fails and must come back to it after it is restored;
- a closed-loop load of ``--clients`` aiohttp clients (the rig DESIGN.md's LiteLLM figures use).

Per fault (kill, hang, 500, 429) the JSON has ``client_errors_<fault>`` (client-visible
failures from the fault's start until the primary serves again), ``goodput_ratio_<fault>``
(successful requests/s during the fault ÷ during the ``--pre-seconds`` before it) and
``recovery_s_<fault>`` (primary restored → first success served by it; ``null`` if it never
came back within ``--recovery-timeout``). Targets: 0 errors, goodput ≥ 0.9, recovery ≤ 5 s.

The hang is then run once more against a fresh gateway whose route has
``attempt_timeout_ms: 5000`` (the LiteLLM profile's setting; skip it with ``--no-hang-timeout5s``):
keys ``client_errors_hang_timeout5s``, ``goodput_ratio_hang_timeout5s``,
``recovery_s_hang_timeout5s``, ``p99_ms_before_hang_timeout5s`` and ``p99_ms_during_hang_timeout5s``
(target: p99 during the hang ≤ 10 × the p99 before it). A generous timeout must not matter: the
gateway has to notice a hang from the upstream's own latency, long before the timeout.
``--workers N`` runs the gateway as ``gateway serve --workers N`` (audit in one chain per worker):
breakers, latency and hang detection are then per worker, which is what this measures; the JSON
adds ``requests_by_worker`` (decisions in each worker's chain, per gateway started — the kernel
spreads the clients' connections, so with few clients one worker may serve most of them).
Exit status: 0 (``--check``: 1 when a target is missed), 2 when the run itself broke.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
FAULTS = ("kill", "hang", "500", "429")
ROUTE, DATA_CLASS, TENANT, API_KEY = "analytics-summary", "internal", "globex-retail", "sk-bench-failover"
UPSTREAMS = {
    "primary": {"model": "llama-3.1-70b-private-eu", "version": "3.1-70b-instruct-2024-07", "cost": 0.003},
    "secondary": {"model": "llama-3.1-8b-private-eu", "version": "3.1-8b-instruct-2024-07", "cost": 0.0004},
}
TARGETS = {"client_errors": 0, "goodput_ratio": 0.9, "recovery_s": 5.0, "p99_ratio_hang_timeout5s": 10.0}
HANG_TIMEOUT5S_MS = 5000.0  # the extra hang run's attempt timeout (the LiteLLM profile's)


class BenchBroken(Exception):
    """The run itself broke (a process did not start, the gateway never served)."""


# ------------------------------------------------------------------------------------------------
# Mock upstream (runs in its own process: ``failover.py --upstream --port N``)
# ------------------------------------------------------------------------------------------------


def serve_upstream(port: int, latency_ms: float) -> None:
    from aiohttp import web

    mode = {"value": "ok"}
    delay = latency_ms / 1000.0

    async def complete(request: web.Request) -> web.StreamResponse:
        body = await request.json()
        current = mode["value"]
        if current == "hang":
            await asyncio.sleep(3600)  # far past any attempt timeout; ends when the peer gives up
        if current == "500":
            return web.json_response({"error": {"message": "injected 500", "type": "server_error"}}, status=500)
        if current == "429":
            return web.json_response(
                {"error": {"message": "injected 429", "type": "rate_limit"}}, status=429, headers={"Retry-After": "1"}
            )
        if delay:
            await asyncio.sleep(delay)
        return web.json_response({
            "id": "chatcmpl-bench", "object": "chat.completion", "created": int(time.time()),
            "model": body.get("model", ""),
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": "ok"}}],
            "usage": {"prompt_tokens": 5, "completion_tokens": 1, "total_tokens": 6},
        })

    async def set_fault(request: web.Request) -> web.Response:
        new = (await request.json()).get("mode")
        if new not in ("ok", "hang", "500", "429"):
            return web.json_response({"error": f"unknown mode {new!r}"}, status=400)
        mode["value"] = new
        return web.json_response({"mode": new})

    async def main() -> None:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", complete)
        app.router.add_post("/_fault", set_fault)
        runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", port, reuse_address=True)
        await site.start()
        bound = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        print(f"ready {bound}", flush=True)
        await asyncio.Event().wait()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())


class UpstreamProcess:
    """One mock upstream process; kill/restart keeps its port."""

    def __init__(self, name: str, latency_ms: float) -> None:
        self.name = name
        self.latency_ms = latency_ms
        self.port = 0
        self.proc: subprocess.Popen[str] | None = None

    def start(self, timeout_s: float = 20.0) -> None:
        deadline = time.monotonic() + timeout_s
        while True:
            self.proc = subprocess.Popen(
                [sys.executable, str(Path(__file__).resolve()), "--upstream", "--port", str(self.port),
                 "--upstream-latency-ms", str(self.latency_ms)],
                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
            )
            assert self.proc.stdout is not None
            line = self.proc.stdout.readline()  # bounded: the child either prints or exits
            if line.startswith("ready "):
                self.port = int(line.split()[1])
                return
            self.proc.wait(timeout=10)
            if time.monotonic() > deadline:  # e.g. the port is still held
                raise BenchBroken(f"upstream {self.name} did not start on port {self.port}")
            time.sleep(0.1)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)
        self.proc = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


# ------------------------------------------------------------------------------------------------
# Gateway process
# ------------------------------------------------------------------------------------------------


def write_gateway_config(workdir: Path, upstreams: dict[str, UpstreamProcess], attempt_timeout_ms: float,
                         hedge_after_ms: float | None = None, bundle: Path = REPO / "policies",
                         workers: int = 1) -> Path:
    import yaml

    keys = workdir / "keys.yaml"
    keys.write_text(yaml.safe_dump({"keys": [{"key": API_KEY, "tenant": TENANT}]}))
    config = {
        "policy": {"engine": "regorus", "bundle": str(bundle)},
        # --workers above 1: one chain per worker (gateway serve refuses a single audit file)
        "audit": ({"path": str(workdir / "audit.jsonl")} if workers == 1
                  else {"directory": str(workdir / f"audit-{len(list(workdir.glob('audit-*')))}")}),
        "auth": {"keys_file": str(keys)},
        "gpu": {"source": "simulated"},
        "upstreams": [
            {"name": name, "base_url": up.url + "/v1", "model": UPSTREAMS[name]["model"],
             "provider": "govchaos-private", "hosting": "private", "region": "eu-central-1",
             "version": UPSTREAMS[name]["version"], "cost_per_1k_tokens": UPSTREAMS[name]["cost"]}
            for name, up in upstreams.items()
        ],
        "routes": {ROUTE: {"strategy": "priority", "upstreams": list(upstreams),
                           "attempt_timeout_ms": attempt_timeout_ms, "retry_budget": 2,
                           "hedge_after_ms": hedge_after_ms}},
    }
    path = workdir / "gateway.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def start_gateway(config: Path, workdir: Path, timeout_s: float = 60.0,
                  workers: int = 1) -> tuple[subprocess.Popen[bytes], str]:
    ready = workdir / "ready.json"
    log = open(workdir / "gateway.log", "wb")  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen(
        [sys.executable, "-m", "govchaos", "gateway", "serve", "--config", str(config), "--port", "0",
         "--ready-file", str(ready), *(["--workers", str(workers)] if workers > 1 else [])],
        stdout=log, stderr=subprocess.STDOUT, cwd=REPO,
    )
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise BenchBroken(f"gateway exited with {proc.returncode}: "
                              f"{(workdir / 'gateway.log').read_text(errors='replace')[-2000:]}")
        if ready.exists():
            try:
                return proc, json.loads(ready.read_text())["url"]
            except (ValueError, KeyError):
                pass  # written atomically, so this is not expected; poll again
        time.sleep(0.05)
    stop_process(proc)
    raise BenchBroken(f"gateway not ready within {timeout_s:g} s")


def stop_process(proc: subprocess.Popen[Any], timeout_s: float = 10.0) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=timeout_s)


# ------------------------------------------------------------------------------------------------
# Load and measurement
# ------------------------------------------------------------------------------------------------


@dataclass(slots=True)
class Sample:
    start: float
    end: float
    ok: bool
    upstream: str
    attempts: int
    error: str = ""


@dataclass
class Load:
    url: str
    clients: int
    samples: list[Sample] = field(default_factory=list)
    stopping: bool = False

    async def run(self) -> None:
        import aiohttp

        body = json.dumps({"model": "auto", "messages": [{"role": "user", "content": "summarise"}],
                           "max_tokens": 16}).encode()
        headers = {"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/json",
                   "X-Govchaos-Route": ROUTE, "X-Govchaos-Data-Classes": DATA_CLASS}
        timeout = aiohttp.ClientTimeout(total=30)
        connector = aiohttp.TCPConnector(limit=self.clients)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

            async def client() -> None:
                while not self.stopping:
                    start = time.monotonic()
                    try:
                        async with session.post(self.url + "/v1/chat/completions", data=body, headers=headers) as r:
                            await r.read()
                            ok = r.status == 200
                            self.samples.append(Sample(
                                start, time.monotonic(), ok, r.headers.get("X-Govchaos-Upstream", ""),
                                int(r.headers.get("X-Govchaos-Attempts", "0") or 0), "" if ok else f"http_{r.status}",
                            ))
                    except (aiohttp.ClientError, TimeoutError) as exc:
                        self.samples.append(Sample(start, time.monotonic(), False, "", 0, type(exc).__name__))
                        await asyncio.sleep(0.01)  # a dead gateway must not spin the loop

            await asyncio.gather(*(client() for _ in range(self.clients)))

    def between(self, t0: float, t1: float) -> list[Sample]:
        return [s for s in self.samples if t0 <= s.end < t1]

    async def wait_served_by(self, upstream: str, after: float, timeout_s: float) -> float | None:
        """End time of the first success served by ``upstream`` for a request sent after ``after``."""
        deadline = time.monotonic() + timeout_s
        index = 0
        while time.monotonic() < deadline:
            samples = self.samples
            for s in samples[index:]:
                if s.ok and s.upstream == upstream and s.start >= after:
                    return s.end
            index = len(samples)
            await asyncio.sleep(0.02)
        return None


async def post_fault(url: str, mode: str) -> None:
    import aiohttp

    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session:
        async with session.post(url + "/_fault", json={"mode": mode}) as r:
            if r.status != 200:
                raise BenchBroken(f"upstream control {url} answered {r.status}")


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


async def run_fault(fault: str, load: Load, target: UpstreamProcess, args: argparse.Namespace) -> dict[str, Any]:
    # Steady state first: traffic must be on the primary again before measuring "before".
    if await load.wait_served_by(target.name, time.monotonic(), args.recovery_timeout) is None:
        raise BenchBroken(f"{fault}: the primary never served before the fault")
    t0 = time.monotonic()
    await asyncio.sleep(args.pre_seconds)
    tf = time.monotonic()
    if fault == "kill":
        await asyncio.to_thread(target.kill)
    else:
        await post_fault(target.url, fault)
    await asyncio.sleep(args.fault_seconds)
    t_restore_begin = time.monotonic()
    if fault == "kill":
        await asyncio.to_thread(target.start)
    else:
        await post_fault(target.url, "ok")
    tr = time.monotonic()
    served = await load.wait_served_by(target.name, tr, args.recovery_timeout)
    t_end = (served if served is not None else time.monotonic()) + args.settle_seconds
    await asyncio.sleep(max(0.0, t_end - time.monotonic()))

    before = [s for s in load.between(t0, tf) if s.ok]
    during_all = load.between(tf, t_restore_begin)
    during = [s for s in during_all if s.ok]
    errors = [s for s in load.between(tf, t_end) if not s.ok]
    rate_before = len(before) / (tf - t0)
    rate_during = len(during) / (t_restore_begin - tf)
    lat_before = [(s.end - s.start) * 1000 for s in before]
    lat_during = [(s.end - s.start) * 1000 for s in during]
    return {
        f"client_errors_{fault}": len(errors),
        f"goodput_ratio_{fault}": round(rate_during / rate_before, 4) if rate_before else None,
        f"recovery_s_{fault}": round(served - tr, 3) if served is not None else None,
        f"detail_{fault}": {
            "rps_before": round(rate_before, 1), "rps_during": round(rate_during, 1),
            "fault_s": round(t_restore_begin - tf, 2), "restore_took_s": round(tr - t_restore_begin, 3),
            "p50_ms_before": pct(lat_before, 0.5), "p99_ms_before": pct(lat_before, 0.99),
            "p50_ms_during": pct(lat_during, 0.5), "p99_ms_during": pct(lat_during, 0.99),
            "served_by_during": {u: sum(1 for s in during if s.upstream == u) for u in UPSTREAMS},
            "mean_attempts_during": round(statistics.fmean(s.attempts for s in during), 3) if during else None,
            "error_kinds": sorted({s.error for s in errors}),
        },
    }


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="govchaos-failover-"))
    upstreams = {name: UpstreamProcess(name, args.upstream_latency_ms) for name in UPSTREAMS}
    gateway: subprocess.Popen[bytes] | None = None
    load: Load | None = None
    load_task: asyncio.Task[None] | None = None
    try:
        for up in upstreams.values():
            await asyncio.to_thread(up.start)
        config = write_gateway_config(workdir, upstreams, args.attempt_timeout_ms, args.hedge_after_ms,
                                      args.bundle, args.workers)
        gateway, url = await asyncio.to_thread(start_gateway, config, workdir, 60.0, args.workers)
        load = Load(url, args.clients)
        load_task = asyncio.create_task(load.run())
        results: dict[str, Any] = {}
        for fault in args.faults:
            print(f"fault {fault}: {args.pre_seconds:g} s steady, {args.fault_seconds:g} s fault, then restore",
                  file=sys.stderr, flush=True)
            results.update(await run_fault(fault, load, upstreams["primary"], args))
            print("  " + ", ".join(f"{k}={v}" for k, v in results.items()
                                   if k.endswith(f"_{fault}") and not k.startswith("detail")), file=sys.stderr)
        if "hang" in args.faults and args.hang_timeout5s:
            load.stopping = True
            with contextlib.suppress(Exception):
                await asyncio.wait_for(load_task, 35)
            await asyncio.to_thread(stop_process, gateway)
            gateway = None
            print(f"fault hang, attempt_timeout_ms {HANG_TIMEOUT5S_MS:g}: a fresh gateway",
                  file=sys.stderr, flush=True)
            config = write_gateway_config(workdir, upstreams, HANG_TIMEOUT5S_MS, args.hedge_after_ms,
                                          args.bundle, args.workers)
            (workdir / "ready.json").unlink(missing_ok=True)
            gateway, url = await asyncio.to_thread(start_gateway, config, workdir, 60.0, args.workers)
            load = Load(url, args.clients)
            load_task = asyncio.create_task(load.run())
            extra = {k + "_timeout5s": v for k, v in
                     (await run_fault("hang", load, upstreams["primary"], args)).items()}
            detail = extra["detail_hang_timeout5s"]
            for when in ("before", "during"):
                p99 = detail[f"p99_ms_{when}"]
                extra[f"p99_ms_{when}_hang_timeout5s"] = None if p99 is None else round(p99, 3)
            results.update(extra)
            print("  " + ", ".join(f"{k}={v}" for k, v in extra.items() if not k.startswith("detail")),
                  file=sys.stderr)
        return results
    finally:
        if load is not None:
            load.stopping = True
        if load_task is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(load_task, 35)
        if gateway is not None:
            await asyncio.to_thread(stop_process, gateway)
        for up in upstreams.values():
            up.kill()
        if args.workers > 1:
            args.requests_by_worker = requests_by_worker(workdir)


def requests_by_worker(workdir: Path) -> dict[str, list[int]]:
    """Decisions in each worker's audit chain, per gateway started (``audit-<n>/worker-<i>/``):
    how the kernel spread the clients' connections over the workers."""
    from governance.audit import iter_events, read_worker_set

    out: dict[str, list[int]] = {}
    for audit in sorted(workdir.glob("audit-*")):
        manifest = read_worker_set(audit)
        if manifest is None:
            continue
        out[audit.name] = [sum(1 for e in iter_events(audit / name) if e.get("kind") == "decision")
                           for name in manifest.chains]
    return out


def verdict(results: dict[str, Any], faults: list[str]) -> dict[str, bool]:
    out = {}
    for fault in faults:
        errors = results.get(f"client_errors_{fault}")
        goodput = results.get(f"goodput_ratio_{fault}")
        recovery = results.get(f"recovery_s_{fault}")
        out[f"pass_{fault}"] = (
            errors == TARGETS["client_errors"]
            and goodput is not None and goodput >= TARGETS["goodput_ratio"]
            and recovery is not None and recovery <= TARGETS["recovery_s"]
        )
    if "goodput_ratio_hang_timeout5s" in results:
        before = results.get("p99_ms_before_hang_timeout5s")
        during = results.get("p99_ms_during_hang_timeout5s")
        out["pass_hang_timeout5s"] = (
            results.get("client_errors_hang_timeout5s") == TARGETS["client_errors"]
            and (results.get("goodput_ratio_hang_timeout5s") or 0.0) >= TARGETS["goodput_ratio"]
            and (results.get("recovery_s_hang_timeout5s") or 1e9) <= TARGETS["recovery_s"]
            and before is not None and during is not None
            and during <= TARGETS["p99_ratio_hang_timeout5s"] * before
        )
    return out


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--json", type=Path, help="write results here")
    p.add_argument("--fault-seconds", type=float, default=10.0, help="length of each fault (default 10)")
    p.add_argument("--pre-seconds", type=float, default=5.0, help="steady-state window before each fault")
    p.add_argument("--settle-seconds", type=float, default=1.0, help="keep counting errors this long after recovery")
    p.add_argument("--recovery-timeout", type=float, default=15.0, help="give up waiting for the primary after this")
    p.add_argument("--clients", type=int, default=4, help="closed-loop clients (default 4)")
    p.add_argument("--attempt-timeout-ms", type=float, default=1000.0, help="the route's per-attempt timeout")
    p.add_argument("--hedge-after-ms", type=float, default=None,
                   help="the route's hedge_after_ms (default: no hedging, the gateway's default)")
    p.add_argument("--upstream-latency-ms", type=float, default=2.0, help="mock upstream service time")
    p.add_argument("--faults", default=",".join(FAULTS), help=f"comma-separated subset of {','.join(FAULTS)}")
    p.add_argument("--max-total-seconds", type=float, default=300.0, help="hard bound on the whole run")
    p.add_argument("--bundle", type=Path, default=REPO / "policies",
                    help="policy bundle (default: the repository's policies/)")
    p.add_argument("--no-hang-timeout5s", dest="hang_timeout5s", action="store_false",
                   help=f"skip the extra hang run with attempt_timeout_ms {HANG_TIMEOUT5S_MS:g}")
    p.add_argument("--workers", type=int, default=1,
                   help="gateway serve --workers N (1..64; breaker and latency state are per worker)")
    p.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    p.add_argument("--upstream", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    args.faults = [f.strip() for f in args.faults.split(",") if f.strip()]
    unknown = [f for f in args.faults if f not in FAULTS]
    if unknown:
        p.error(f"unknown fault(s) {unknown}; choose from {list(FAULTS)}")
    if not 0 < args.fault_seconds <= 120 or not 0 < args.pre_seconds <= 60 or not 1 <= args.clients <= 256:
        p.error("--fault-seconds must be in (0, 120], --pre-seconds in (0, 60], --clients in 1..256")
    if not 1 <= args.workers <= 64:
        p.error("--workers must be in 1..64")
    args.requests_by_worker = None
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.upstream:
        serve_upstream(args.port, args.upstream_latency_ms)
        return 0
    started = time.monotonic()
    try:
        results = asyncio.run(asyncio.wait_for(bench(args), args.max_total_seconds))
    except BenchBroken as exc:
        print(f"error: the benchmark run broke: {exc}", file=sys.stderr)
        return 2
    except TimeoutError:
        print(f"error: the benchmark exceeded --max-total-seconds {args.max_total_seconds:g}", file=sys.stderr)
        return 2
    passes = verdict(results, args.faults)
    doc = {
        "bench": "failover",
        "settings": {k: getattr(args, k) for k in ("fault_seconds", "pre_seconds", "clients",
                                                     "attempt_timeout_ms", "hedge_after_ms", "upstream_latency_ms",
                                                     "faults", "hang_timeout5s", "workers")},
        "requests_by_worker": args.requests_by_worker,
        "route": ROUTE, "data_class": DATA_CLASS, "tenant": TENANT,
        "targets": TARGETS, **results, **passes, "elapsed_s": round(time.monotonic() - started, 1),
        "python": sys.version.split()[0], "cpus": os.cpu_count(),
    }
    print(f"{'fault':6} {'client_errors':>13} {'goodput_ratio':>13} {'recovery_s':>10}  pass")
    for fault in args.faults:
        print(f"{fault:6} {results[f'client_errors_{fault}']:>13} {str(results[f'goodput_ratio_{fault}']):>13} "
              f"{str(results[f'recovery_s_{fault}']):>10}  {passes[f'pass_{fault}']}")
    if "goodput_ratio_hang_timeout5s" in results:
        print(f"{'hang@5s':6} {results['client_errors_hang_timeout5s']:>13} "
              f"{str(results['goodput_ratio_hang_timeout5s']):>13} "
              f"{str(results['recovery_s_hang_timeout5s']):>10}  {passes['pass_hang_timeout5s']}"
              f"  p99 {results['p99_ms_before_hang_timeout5s']} -> {results['p99_ms_during_hang_timeout5s']} ms")
    if args.requests_by_worker:
        print("decisions per worker, per gateway started: "
              + "; ".join(f"{k}: {v}" for k, v in args.requests_by_worker.items()))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(doc, indent=2) + "\n")
    return 1 if args.check and not all(passes.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
