"""The process contract, end to end with the shipped policy and the real audit chain:
`govchaos gateway serve --port 0 --ready-file`, the listening line, SIGTERM → exit 0."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path

import httpx
import yaml

from governance.audit import iter_events, verify_audit_log

REPO = Path(__file__).resolve().parents[3]


async def test_serve_with_shipped_policy_then_sigterm(mocks, tmp_path: Path) -> None:
    eu, cloud = await mocks("eu"), await mocks("cloud")
    cfg = {
        "policy": {"engine": "regorus", "bundle": str(REPO / "policies")},
        "audit": {"path": "audit.jsonl"},
        "auth": {"keys_env": "TEST_GATEWAY_KEYS"},
        "upstreams": [
            {"name": "eu", "base_url": eu.base_url, "model": "llama-3.1-70b-private-eu",
             "provider": "govchaos-private", "hosting": "private", "region": "eu-central-1",
             "version": "3.1-70b-instruct-2024-07", "cost_per_1k_tokens": 0.003},
            {"name": "cloud", "base_url": cloud.base_url, "model": "gpt-4o-cloud-eu",
             "provider": "openai", "hosting": "cloud", "region": "eu-west-1",
             "version": "gpt-4o-2024-08-06", "cost_per_1k_tokens": 0.00625},
        ],
        "routes": {"claims-triage": {"strategy": "priority", "upstreams": ["cloud", "eu"]}},
    }
    (tmp_path / "gw.yaml").write_text(yaml.safe_dump(cfg))
    ready = tmp_path / "ready.json"
    env = {**os.environ, "TEST_GATEWAY_KEYS": "sk-acme=acme-health"}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "govchaos", "gateway", "serve", "--config", str(tmp_path / "gw.yaml"),
        "--port", "0", "--ready-file", str(ready), env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        line = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode()
        assert line.startswith("govchaos gateway listening on http://127.0.0.1:"), line
        url = line.split()[-1]
        assert json.loads(ready.read_text()) == {"url": url, "pid": proc.pid}
        async with httpx.AsyncClient(base_url=url, timeout=10) as h:
            r = await h.post("/v1/chat/completions", json={
                "model": "auto", "messages": [{"role": "user", "content": "my diagnosis is"}]},
                headers={"Authorization": "Bearer sk-acme", "X-Govchaos-Route": "claims-triage",
                         "X-Govchaos-Data-Classes": "phi"})
            assert r.status_code == 200, r.text
            # PHI may not go to the (higher-priority) public cloud model
            assert r.headers["x-govchaos-served-by"] == "llama-3.1-70b-private-eu"
            assert cloud.log == [] and len(eu.log) == 1
            eu.mode = "500"
            r = await h.post("/v1/chat/completions", json={
                "model": "auto", "messages": [{"role": "user", "content": "again"}]},
                headers={"Authorization": "Bearer sk-acme", "X-Govchaos-Route": "claims-triage",
                         "X-Govchaos-Data-Classes": "phi"})
            assert r.status_code == 503 and cloud.log == []
    finally:
        proc.send_signal(signal.SIGTERM)
        rc = await asyncio.wait_for(proc.wait(), 15)
    assert rc == 0, (await proc.stderr.read()).decode()
    audit = tmp_path / "audit.jsonl"
    verify_audit_log(audit)
    text = audit.read_text()
    assert "my diagnosis is" not in text and "sk-acme" not in text
    kinds = [json.loads(x)["kind"] for x in text.splitlines()]
    # the candidate list, the result and the policy of each decision are written once, as blobs
    assert [k for k in kinds if k != "blob"] == ["decision", "attempt", "decision", "attempt"]
    events = list(iter_events(audit))
    assert [e["kind"] for e in events] == ["decision", "attempt", "decision", "attempt"]
    assert all(e["input"]["candidates"] and e["policy"]["bundle_digest"].startswith("sha256:")
               for e in events if e["kind"] == "decision")


async def test_sighup_reloads_and_a_bad_config_keeps_the_old_one(mocks, tmp_path: Path) -> None:
    eu, eu8 = await mocks("eu"), await mocks("eu8")

    def config(order: list[str], budgets: list[dict]) -> None:
        (tmp_path / "gw.yaml").write_text(yaml.safe_dump({
            "policy": {"engine": "regorus", "bundle": str(REPO / "policies")},
            "audit": {"path": "audit.jsonl"},
            "auth": {"keys_env": "TEST_GATEWAY_KEYS"},
            "upstreams": [
                {"name": "eu", "base_url": eu.base_url, "model": "llama-3.1-70b-private-eu",
                 "provider": "govchaos-private", "hosting": "private", "region": "eu-central-1"},
                {"name": "eu8", "base_url": eu8.base_url, "model": "llama-3.1-8b-private-eu",
                 "provider": "govchaos-private", "hosting": "private", "region": "eu-central-1"},
            ],
            "routes": {"claims-triage": {"strategy": "priority", "upstreams": order}},
            "budgets": budgets,
        }))

    config(["eu", "eu8"], [])
    env = {**os.environ, "TEST_GATEWAY_KEYS": "sk-acme=acme-health"}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "govchaos", "gateway", "serve", "--config", str(tmp_path / "gw.yaml"),
        "--port", "0", env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        url = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode().split()[-1]
        async with httpx.AsyncClient(base_url=url, timeout=10) as h:
            async def served() -> str:
                r = await h.post("/v1/chat/completions", json={
                    "model": "auto", "messages": [{"role": "user", "content": "hi"}]},
                    headers={"Authorization": "Bearer sk-acme", "X-Govchaos-Route": "claims-triage"})
                assert r.status_code == 200, r.text
                return r.headers["x-govchaos-upstream"]

            assert await served() == "eu"
            dup = {"scope": "tenant", "name": "acme-health", "usd_per_hour": 1}
            config(["eu8", "eu"], [dup, dup])
            proc.send_signal(signal.SIGHUP)
            line = (await asyncio.wait_for(proc.stderr.readline(), 30)).decode()
            assert line.startswith("govchaos gateway reload rejected: ") and "gw.yaml" in line
            assert "budgets.1: duplicate budget for tenant 'acme-health'" in line, line
            assert await served() == "eu"  # still the old config
            config(["eu8", "eu"], [dup])
            proc.send_signal(signal.SIGHUP)
            line = (await asyncio.wait_for(proc.stderr.readline(), 30)).decode()
            assert line.startswith("govchaos gateway reloaded "), line
            assert "state kept for upstreams: eu, eu8; budgets: 1" in line
            assert await served() == "eu8"
    finally:
        proc.send_signal(signal.SIGTERM)
        rc = await asyncio.wait_for(proc.wait(), 15)
    assert rc == 0, (await proc.stderr.read()).decode()
    verify_audit_log(tmp_path / "audit.jsonl")
