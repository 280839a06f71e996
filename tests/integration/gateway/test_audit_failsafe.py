"""A full disk fails safe: when audit records cannot be made durable the gateway answers 503
``audit_unavailable`` (never an unaudited answer), /readyz goes red, metrics and a log line say
why, and it resumes by itself once writes succeed.

Two ways to fill the disk: a real tmpfs of 256 KiB filled with a file (needs root and mount; skipped
cleanly elsewhere), and faults injected at the writer's ``os.write`` / ``fdatasync`` layer
(ENOSPC, EIO, EROFS), which runs everywhere.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import shutil
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from conftest import API_KEY, TENANT, RulePolicy, make_config
from pydantic import SecretStr

from gateway.config import AuditConfig
from gateway.credentials import ResolvedSecrets
from gateway.runtime import GatewayRuntime
from gateway.server import _Server, bind
from governance.audit import _writer, iter_events, verify_audit_log

M1 = "llama-3.1-70b-private-eu"
HEADERS = {"Authorization": f"Bearer {API_KEY}", "X-Govchaos-Data-Classes": "pii"}
BODY = {"model": "auto", "messages": [{"role": "user", "content": "hi"}]}


@contextlib.asynccontextmanager
async def serve(cfg: Any) -> AsyncIterator[tuple[str, GatewayRuntime]]:
    """The gateway with its real audit log (from ``cfg.audit``), on 127.0.0.1:0."""
    secrets = ResolvedSecrets(api_keys=((SecretStr(API_KEY), TENANT),))
    sock = bind("127.0.0.1", 0)
    async with GatewayRuntime.start(cfg, secrets, engine=RulePolicy({M1})) as rt:
        server = _Server(uvicorn.Config(rt.app, http="httptools", loop="none", lifespan="off",
                                        access_log=False, log_level="warning"))
        task = asyncio.create_task(server.serve(sockets=[sock]))
        for _ in range(400):
            if server.started:
                break
            await asyncio.sleep(0.005)
        try:
            yield f"http://127.0.0.1:{sock.getsockname()[1]}", rt
        finally:
            server.should_exit = True
            server.force_exit = True
            await asyncio.wait_for(task, 5)
    sock.close()


def config(mock: Any, directory: Path, **audit: Any) -> Any:
    cfg = make_config([("a", mock, M1)])
    return cfg.model_copy(update={"audit": AuditConfig(
        directory=directory, retry_ms=50, group_commit_ms=1, **audit)})


async def until(predicate: Any, timeout_s: float = 10.0) -> None:
    for _ in range(int(timeout_s / 0.02)):
        if await predicate():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not reached in time")


async def chat(h: httpx.AsyncClient) -> httpx.Response:
    return await h.post("/v1/chat/completions", json=BODY, headers=HEADERS)


def check_every_answer_audited(directory: Path, answered: list[str]) -> list[dict]:
    summary = verify_audit_log(directory)
    assert summary.segments >= 1
    events = list(iter_events(directory))
    decided = {e["request_id"] for e in events if e["kind"] == "decision"}
    attempted = {e["request_id"] for e in events if e["kind"] == "attempt"
                 and e["outcome"] == "ok"}
    missing = [rid for rid in answered if rid not in decided or rid not in attempted]
    assert not missing, f"answered without a durable audit record: {missing}"
    return events


@pytest.mark.parametrize("fault", ["ENOSPC", "EIO", "EROFS"])
async def test_injected_write_fault_gives_503_then_recovers(mocks, tmp_path: Path,
                                                            monkeypatch, caplog,
                                                            fault: str) -> None:
    """Injected at the os.write (ENOSPC, EROFS) or fdatasync (EIO) layer of the audit writer.

    The disk fills when the first attempt record written after arming reaches it. Failing every
    write at once would race the writer thread against the request: a writer that fails on the
    decision record before the upstream answers makes the log refuse that request's attempt
    record too (6 refused events, not 5), depending only on thread scheduling.
    """
    a = await mocks("a")
    broken = {"armed": False, "on": False}
    real_write, real_sync = _writer.os_write, _writer.os_sync
    code = getattr(errno, fault)

    def write(fd: int, data: Any) -> int:
        if broken["armed"] and b'"kind":"attempt"' in bytes(data):
            broken["on"] = True  # only `first` is in flight: this is its attempt record
        if broken["on"] and fault != "EIO":
            raise OSError(code, os.strerror(code))
        return real_write(fd, data)

    def sync(fd: int) -> None:
        if broken["on"] and fault == "EIO":
            raise OSError(code, os.strerror(code))
        real_sync(fd)

    monkeypatch.setattr(_writer, "os_write", write)
    monkeypatch.setattr(_writer, "os_sync", sync)
    answered: list[str] = []
    async with serve(config(a, tmp_path / "audit")) as (url, rt):
        async with httpx.AsyncClient(base_url=url, timeout=10) as h:
            r = await chat(h)
            assert r.status_code == 200
            answered.append(r.headers["x-govchaos-request-id"])
            broken["armed"] = True
            first = await chat(h)  # decided and attempted, but its records cannot be made durable
            assert first.status_code == 503, first.text
            assert first.json()["error"]["code"] == "audit_unavailable"
            assert int(first.headers["retry-after"]) >= 1
            seen = len(a.log)
            for _ in range(5):  # refused before any decision or upstream call
                r = await chat(h)
                assert r.status_code == 503 and r.json()["error"]["code"] == "audit_unavailable"
            assert len(a.log) == seen
            ready = await h.get("/readyz")
            assert ready.status_code == 503 and ready.json()["audit"]["available"] is False
            assert fault in ready.json()["audit"]["reason"]
            metrics = (await h.get("/metrics")).text
            assert "govchaos_gateway_audit_available 0.0" in metrics
            assert f'govchaos_gateway_audit_write_failures_total{{errno="{fault}"}} 1.0' in metrics
            assert "govchaos_gateway_audit_refused_total 6.0" in metrics
            assert any("audit log unavailable" in rec.getMessage() for rec in caplog.records)
            broken["armed"] = broken["on"] = False

            async def ready_again() -> bool:
                return (await h.get("/readyz")).status_code == 200

            await until(ready_again)
            for _ in range(3):
                r = await chat(h)
                assert r.status_code == 200, r.text
                answered.append(r.headers["x-govchaos-request-id"])
            assert "govchaos_gateway_audit_available 1.0" in (await h.get("/metrics")).text
    events = check_every_answer_audited(tmp_path / "audit", answered)
    outage = [e for e in events if e["kind"] == "audit_outage"]
    assert len(outage) == 1 and outage[0]["error"] == fault and outage[0]["refused"] == 5
    # the withheld request's records were kept and written once the log could write again
    withheld = first.headers["x-govchaos-request-id"]
    assert any(e["kind"] == "attempt" and e["request_id"] == withheld for e in events)


async def test_degrade_serves_unaudited_and_counts_it(mocks, tmp_path: Path,
                                                      monkeypatch) -> None:
    a = await mocks("a")
    broken = {"on": False}
    real_write = _writer.os_write

    def write(fd: int, data: Any) -> int:
        if broken["on"]:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fd, data)

    monkeypatch.setattr(_writer, "os_write", write)
    async with serve(config(a, tmp_path / "audit", on_failure="degrade")) as (url, rt):
        async with httpx.AsyncClient(base_url=url, timeout=10) as h:
            assert (await chat(h)).status_code == 200
            broken["on"] = True
            for _ in range(4):
                assert (await chat(h)).status_code == 200  # non-compliant by configuration
            assert (await h.get("/readyz")).status_code == 503  # still says it cannot audit
            broken["on"] = False

            async def ready_again() -> bool:
                return (await h.get("/readyz")).status_code == 200

            await until(ready_again)
            metrics = (await h.get("/metrics")).text
            assert "govchaos_gateway_audit_unaudited_total" in metrics
    events = list(iter_events(tmp_path / "audit"))
    outage = [e for e in events if e["kind"] == "audit_outage"]
    assert len(outage) == 1 and outage[0]["refused"] >= 3  # the gap is on the record
    verify_audit_log(tmp_path / "audit")


def _can_mount_tmpfs(target: Path) -> bool:
    if os.geteuid() != 0 or shutil.which("mount") is None:
        return False
    target.mkdir(parents=True, exist_ok=True)
    ok = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(target)],
                        capture_output=True, timeout=10).returncode == 0
    return ok


async def test_a_really_full_tmpfs_gives_503_then_recovers(mocks, tmp_path: Path) -> None:
    """A real 256 KiB tmpfs, filled with a file until ENOSPC (root only)."""
    mnt = tmp_path / "mnt"
    if not _can_mount_tmpfs(mnt):
        pytest.skip("cannot mount a tmpfs here (needs root and mount); the injected-fault"
                    " tests cover the same path")
    try:
        a = await mocks("a")
        directory = mnt / "audit"
        answered: list[str] = []
        async with serve(config(a, directory, max_segment_bytes=16384)) as (url, rt):
            async with httpx.AsyncClient(base_url=url, timeout=10) as h:
                for _ in range(5):
                    r = await chat(h)
                    assert r.status_code == 200
                    answered.append(r.headers["x-govchaos-request-id"])
                filler = mnt / "filler"
                fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
                try:
                    with contextlib.suppress(OSError):  # until ENOSPC
                        for _ in range(4096):
                            os.write(fd, b"\0" * 1024)
                finally:
                    os.close(fd)
                statuses = []
                for _ in range(40):  # the first requests may still fit in the page left over
                    r = await chat(h)
                    statuses.append(r.status_code)
                    if r.status_code == 200:
                        answered.append(r.headers["x-govchaos-request-id"])
                    else:
                        assert r.json()["error"]["code"] == "audit_unavailable"
                    if statuses[-3:] == [503, 503, 503]:
                        break
                assert statuses[-3:] == [503, 503, 503], statuses
                assert (await h.get("/readyz")).status_code == 503
                filler.unlink()

                async def ready_again() -> bool:
                    return (await h.get("/readyz")).status_code == 200

                await until(ready_again)
                for _ in range(3):
                    r = await chat(h)
                    assert r.status_code == 200
                    answered.append(r.headers["x-govchaos-request-id"])
        events = check_every_answer_audited(directory, answered)
        assert [e for e in events if e["kind"] == "audit_outage"][0]["error"] == "ENOSPC"
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True, timeout=10)
