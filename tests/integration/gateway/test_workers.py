"""`govchaos gateway serve --workers 2`: two processes on one port, one audit chain each, named in
workers.json; SIGHUP reaches both, SIGTERM drains both (exit 0); a worker that dies takes the
gateway down with a non-zero exit instead of leaving it at half capacity."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path

import httpx
import yaml

from governance.audit import iter_events, read_worker_set, verify_worker_set

REPO = Path(__file__).resolve().parents[3]


async def _start(tmp_path: Path, eu) -> tuple[asyncio.subprocess.Process, str, dict]:
    (tmp_path / "gw.yaml").write_text(yaml.safe_dump({
        "policy": {"engine": "regorus", "bundle": str(REPO / "policies")},
        "audit": {"directory": "audit"},
        "auth": {"keys_env": "TEST_GATEWAY_KEYS"},
        "upstreams": [
            {"name": "eu", "base_url": eu.base_url, "model": "llama-3.1-70b-private-eu",
             "provider": "govchaos-private", "hosting": "private", "region": "eu-central-1"}],
        "routes": {"claims-triage": {"strategy": "priority", "upstreams": ["eu"]}},
    }))
    ready = tmp_path / "ready.json"
    env = {**os.environ, "TEST_GATEWAY_KEYS": "sk-acme=acme-health"}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "govchaos", "gateway", "serve", "--config", str(tmp_path / "gw.yaml"),
        "--port", "0", "--ready-file", str(ready), "--workers", "2", env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    line = (await asyncio.wait_for(proc.stdout.readline(), 60)).decode()
    assert line.startswith("govchaos gateway listening on http://127.0.0.1:"), (
        line, (await proc.stderr.read()).decode() if not line else "")
    return proc, line.split()[-1], json.loads(ready.read_text())


async def _ask(url: str) -> int:
    # a new connection per request: SO_REUSEPORT spreads connections, not requests
    async with httpx.AsyncClient(base_url=url, timeout=10) as h:
        r = await h.post("/v1/chat/completions", json={
            "model": "auto", "messages": [{"role": "user", "content": "hi"}]},
            headers={"Authorization": "Bearer sk-acme", "X-Govchaos-Route": "claims-triage"})
        assert r.status_code == 200, r.text
        return r.status_code


async def test_two_workers_one_port_one_chain_each(mocks, tmp_path: Path) -> None:
    eu = await mocks("eu")
    proc, url, ready = await _start(tmp_path, eu)
    try:
        assert ready["url"] == url and ready["pid"] == proc.pid and len(ready["workers"]) == 2
        for _ in range(40):
            await _ask(url)
        proc.send_signal(signal.SIGHUP)
        lines = [(await asyncio.wait_for(proc.stderr.readline(), 30)).decode() for _ in range(2)]
        assert all(x.startswith("govchaos gateway reloaded ") for x in lines), lines
        await _ask(url)
    finally:
        proc.send_signal(signal.SIGTERM)
        rc = await asyncio.wait_for(proc.wait(), 30)
    assert rc == 0, (await proc.stderr.read()).decode()
    audit = tmp_path / "audit"
    manifest = read_worker_set(audit)
    assert manifest is not None and manifest.workers == 2
    assert manifest.chains == ("worker-0", "worker-1")
    verdicts = verify_worker_set(audit)
    assert [v.verified for v in verdicts] == [True, True], verdicts
    decisions = [sum(e["kind"] == "decision" for e in iter_events(audit / v.name))
                 for v in verdicts]
    # every request is in exactly one worker's chain, and both workers served
    assert sum(decisions) == 41 and all(d > 0 for d in decisions), decisions
    assert len(eu.log) == 41


async def test_a_worker_that_dies_stops_the_gateway_non_zero(mocks, tmp_path: Path) -> None:
    eu = await mocks("eu")
    proc, url, ready = await _start(tmp_path, eu)
    try:
        os.kill(ready["workers"][1], signal.SIGKILL)
        rc = await asyncio.wait_for(proc.wait(), 30)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    err = (await proc.stderr.read()).decode()
    assert rc == 1, err
    assert (f"govchaos gateway worker 1 (pid {ready['workers'][1]}) exited with code -9;"
            " stopping the other workers") in err
    # the other worker drained and closed its chain
    try:
        os.kill(ready["workers"][0], 0)
        alive = True
    except ProcessLookupError:
        alive = False
    assert not alive
    assert verify_worker_set(tmp_path / "audit")[0].verified


async def test_sigint_to_the_process_group_is_a_clean_stop(mocks, tmp_path: Path) -> None:
    # what Ctrl-C in a terminal does: SIGINT to the supervisor and every worker at once
    eu = await mocks("eu")
    proc, url, ready = await _start(tmp_path, eu)
    await _ask(url)
    for pid in (proc.pid, *ready["workers"]):
        os.kill(pid, signal.SIGINT)
    rc = await asyncio.wait_for(proc.wait(), 30)
    err = (await proc.stderr.read()).decode()
    assert rc == 0, err
    assert "exited with code" not in err
    assert all(v.verified for v in verify_worker_set(tmp_path / "audit"))


async def test_metrics_from_any_worker_count_every_workers_requests(mocks, tmp_path: Path) -> None:
    eu = await mocks("eu")
    proc, url, _ = await _start(tmp_path, eu)
    try:
        for _ in range(30):
            await _ask(url)
        seen: set[float] = set()
        pids: set[str] = set()
        for _ in range(10):  # a new connection each: the scrapes land on both workers
            async with httpx.AsyncClient(base_url=url, timeout=10) as h:
                text = (await h.get("/metrics")).text
            for line in text.splitlines():
                if line.startswith("govchaos_gateway_requests_total{") and 'status="200"' in line:
                    seen.add(float(line.rsplit(" ", 1)[1]))
                if line.startswith("govchaos_gateway_breaker_state{"):
                    pids.add(line.split('pid="', 1)[1].split('"', 1)[0])
    finally:
        proc.send_signal(signal.SIGTERM)
        rc = await asyncio.wait_for(proc.wait(), 30)
    assert rc == 0, (await proc.stderr.read()).decode()
    assert seen == {30.0}  # the sum over both workers, whichever one answered
    assert len(pids) == 2  # gauges: one series per worker process
