from __future__ import annotations

import asyncio
import os
from pathlib import Path

import orjson
import pytest

from governance.audit import (
    GENESIS_HASH,
    AuditEventError,
    AuditHead,
    AuditLog,
    AuditLogLocked,
    AuditLogTruncated,
    AuditRecordEdited,
    AuditWriteError,
    MaskingRules,
    verify_audit_log,
)
from governance.audit import _log


def _records(path: Path) -> list[dict]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]


async def test_append_returns_contiguous_seqs_and_durable_head(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    log = await AuditLog.open(path, group_commit_ms=0)
    assert log.head == AuditHead(seq=-1, hash=GENESIS_HASH)
    seqs = [await log.append({"kind": "phase", "n": i}) for i in range(5)]
    assert seqs == [0, 1, 2, 3, 4]
    assert log.head.seq == 4
    await log.close()
    records = _records(path)
    assert [r["seq"] for r in records] == seqs
    assert records[0]["prev_hash"] == GENESIS_HASH
    assert all(b["prev_hash"] == a["hash"] for a, b in zip(records, records[1:], strict=False))
    assert records[-1]["hash"] == log.head.hash
    assert records[0]["ts"].endswith("Z")
    assert verify_audit_log(path, expected_head=log.head).count == 5


async def test_concurrent_appends_are_batched_and_all_durable(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    log = await AuditLog.open(path, group_commit_ms=1.0)
    seqs = await asyncio.gather(*(log.append({"kind": "attempt", "i": i}) for i in range(300)))
    assert sorted(seqs) == list(range(300))
    await log.close()
    records = _records(path)
    # call order is chain order
    assert [r["i"] for r in records] == list(range(300))
    assert verify_audit_log(path).head == log.head


async def test_append_nowait_then_flush(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    log = await AuditLog.open(path)
    seqs = [log.append_nowait({"kind": "attempt", "i": i}) for i in range(10)]
    assert seqs == list(range(10))
    assert log.pending_head.seq == 9
    await log.flush()
    assert log.head == log.pending_head
    assert verify_audit_log(path).count == 10
    await log.close()
    await log.close()  # idempotent


async def test_reopen_continues_the_chain(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    async with await AuditLog.open(path) as log:
        await log.append({"kind": "phase", "name": "a"})
    first_head = log.head
    async with await AuditLog.open(path) as log2:
        assert log2.head == first_head
        assert await log2.append({"kind": "phase", "name": "b"}) == 1
    assert _records(path)[1]["prev_hash"] == first_head.hash
    assert verify_audit_log(path, expected_head=log2.head).count == 2


async def test_masking_is_applied_before_hashing(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    rules = MaskingRules(fields=("messages", "prompt", "authorization", "api_key"))
    async with await AuditLog.open(path, mask=rules) as log:
        await log.append(
            {
                "kind": "decision",
                "input": {"messages": [{"role": "user", "content": "my ssn is 123"}]},
                "headers": {"Authorization": "Bearer sk-live-123", "X-Api-Key": "k-456"},
            }
        )
    raw = path.read_text()
    assert "sk-live-123" not in raw and "k-456" not in raw and "ssn" not in raw
    record = _records(path)[0]
    assert record["headers"] == {"Authorization": "[masked]", "X-Api-Key": "[masked]"}
    assert record["input"]["messages"] == "[masked]"  # no key configured: no digest
    verify_audit_log(path)


@pytest.mark.parametrize(
    "event",
    [
        {"kind": "x", "seq": 3},
        {"kind": "x", "hash": "h"},
        {"kind": "x", "prev_hash": "h"},
        {"no_kind": 1},
        {"kind": ""},
        {"kind": "x", "value": object()},
        {"kind": "x", "big": 2**70},
    ],
)
async def test_bad_events_are_rejected_without_breaking_the_chain(tmp_path: Path, event) -> None:
    path = tmp_path / "audit.jsonl"
    async with await AuditLog.open(path) as log:
        with pytest.raises(AuditEventError):
            log.append_nowait(event)
        assert await log.append({"kind": "ok"}) == 0
    assert verify_audit_log(path).count == 1


async def test_second_opener_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    async with await AuditLog.open(path):
        with pytest.raises(AuditLogLocked):
            await AuditLog.open(path)


async def test_torn_tail_is_cut_on_open_and_reported(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    async with await AuditLog.open(path) as log:
        for i in range(3):
            await log.append({"kind": "attempt", "i": i})
    intact = path.read_bytes()
    path.write_bytes(intact + b'{"kind":"attempt","i":3,"prev_')
    with pytest.raises(AuditLogTruncated) as info:
        verify_audit_log(path)
    assert info.value.location.line == 4 and info.value.seq == 3
    async with await AuditLog.open(path) as log:
        assert log.torn_tail_bytes == len(b'{"kind":"attempt","i":3,"prev_')
        assert log.head.seq == 2
        assert await log.append({"kind": "attempt", "i": 3}) == 3
    assert verify_audit_log(path).count == 4


async def test_open_refuses_to_extend_a_broken_chain(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    async with await AuditLog.open(path) as log:
        await log.append({"kind": "attempt", "i": 0})
        await log.append({"kind": "attempt", "i": 1})
    path.write_bytes(path.read_bytes().replace(b'"i":0', b'"i":7'))
    with pytest.raises(AuditRecordEdited) as info:
        await AuditLog.open(path)
    assert info.value.seq == 0


async def test_write_failure_refuses_appends_until_a_retry_succeeds(tmp_path: Path,
                                                                     monkeypatch) -> None:
    from governance.audit import AuditLogUnavailable, iter_events
    from governance.audit import _writer

    path = tmp_path / "audit.jsonl"
    log = await AuditLog.open(path, group_commit_ms=0, retry_ms=20)
    await log.append({"kind": "attempt", "i": 0})
    real = _writer.os_write

    def broken(fd: int, data: bytes) -> int:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(_writer, "os_write", broken)
    with pytest.raises(AuditLogUnavailable, match="No space left") as info:
        await log.append({"kind": "attempt", "i": 1})
    assert info.value.errno_name == "ENOSPC" and not log.available
    with pytest.raises(AuditLogUnavailable):
        log.append_nowait({"kind": "attempt", "i": 2})
    monkeypatch.setattr(_writer, "os_write", real)
    for _ in range(200):
        if log.available:
            break
        await asyncio.sleep(0.01)
    assert log.available
    await log.append({"kind": "attempt", "i": 3})
    await log.close()
    events = list(iter_events(path))
    # i=1 was chained before the failure: kept and written on the retry; i=2 was refused
    assert [e.get("i") for e in events if e["kind"] == "attempt"] == [0, 1, 3]
    outage = [e for e in events if e["kind"] == "audit_outage"]
    assert len(outage) == 1 and outage[0]["error"] == "ENOSPC" and outage[0]["refused"] == 1
    assert verify_audit_log(path).count == 4


async def test_cancelled_waiter_does_not_withdraw_the_record(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    log = await AuditLog.open(path, group_commit_ms=20)
    task = asyncio.create_task(log.append({"kind": "attempt", "i": 0}))
    other = asyncio.create_task(log.append({"kind": "attempt", "i": 1}))
    await asyncio.sleep(0)
    task.cancel()
    assert await other == 1
    await log.close()
    assert verify_audit_log(path).count == 2


async def test_new_file_is_private_to_the_group(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    async with await AuditLog.open(path):
        pass
    assert os.stat(path).st_mode & 0o007 == 0


async def test_recover_audit_log_cuts_a_torn_tail(tmp_path: Path) -> None:
    from governance.audit import recover_audit_log

    path = tmp_path / "audit.jsonl"
    async with await AuditLog.open(path) as log:
        await log.append({"kind": "attempt", "i": 0})
    path.write_bytes(path.read_bytes() + b'{"kind":"att')
    summary = recover_audit_log(path)
    assert (summary.count, summary.torn_tail_bytes) == (1, len(b'{"kind":"att'))
    assert verify_audit_log(path, expected_head={"seq": 0, "hash": log.head.hash}).count == 1
    async with await AuditLog.open(path):
        with pytest.raises(AuditLogLocked):
            recover_audit_log(path)


async def test_a_compacted_single_file_can_be_reopened_and_still_verifies(tmp_path: Path) -> None:
    # The gateway's default (audit.path, compact: true) across restarts: a reopened file refers
    # to the blobs it already holds instead of defining their refs a second time.
    from governance.audit import iter_events, verify_audit_log

    path = tmp_path / "audit.jsonl"
    shared = {"route": "r", "candidates": [{"id": "m", "healthy": True}]}
    for session in range(3):
        log = await AuditLog.open(path, compact=("input.candidates", "result"))
        await log.append({"kind": "decision", "input": dict(shared), "result": {"allow": True}})
        await log.append({"kind": "decision", "input": {"candidates": [{"id": f"new{session}"}]},
                          "result": {"allow": True}})
        await log.close()
    summary = verify_audit_log(path)  # reopening also verified it each time
    lines = path.read_bytes().splitlines()
    assert sum(b'"kind":"blob"' in line for line in lines) == 1 + 1 + 3  # shared, result, 3 new
    events = list(iter_events(path))
    assert [e["input"]["candidates"][0]["id"] for e in events] == [
        "m", "new0", "m", "new1", "m", "new2"]
    assert summary.count == len(lines)


async def test_a_durability_waiter_does_not_wait_out_the_group_commit_window(tmp_path: Path) -> None:
    # The window only gathers records nobody awaits: a waiter has its record written at once
    # (with a 60 s window, waiting it out would trip the 10 s bound), and so does close().
    path = tmp_path / "audit.jsonl"
    log = await AuditLog.open(path, group_commit_ms=60_000)
    log.append_nowait({"kind": "decision", "i": 0})  # rings the writer, which starts its window
    await asyncio.sleep(0.01)
    seq = await asyncio.wait_for(log.append({"kind": "attempt", "i": 1}), 10)
    assert seq == 1 and log.head.seq == 1
    log.append_nowait({"kind": "attempt", "i": 2})
    await asyncio.wait_for(log.close(), 10)
    assert verify_audit_log(path).count == 3
