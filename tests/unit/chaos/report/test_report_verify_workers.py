"""A report of a `--workers N` gateway: one audit chain per worker under audit/worker-<i>/, all
collected, signed and verified as a set (report.audit.chains); a missing or edited worker chain
fails the audit check by name, never a pass."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import orjson

from chaos.report import finalize_report, verify_report
from chaos.report.decisions import summarize_audit
from chaos.report.model import Report, write_report
from chaos.runner.artifacts import collect_audit, write_artifacts
from governance.audit import AuditLog, SegmentPolicy, write_worker_set


async def _chain(directory: Path, events: int) -> None:
    log = await AuditLog.open(directory, segments=SegmentPolicy(), group_commit_ms=0)
    for i in range(events):
        log.append_nowait({"kind": "decision", "decision_id": f"{directory.name}-{i}",
                           "input": {"route": "r"}, "result": {"allow": True, "allowed": ["m"]}})
    await log.close()


def _worker_run(run_dir: Path, sizes: tuple[int, ...] = (3, 5)) -> Path:
    (run_dir / "audit.jsonl").unlink()
    write_worker_set(run_dir / "audit", len(sizes))
    for i, n in enumerate(sizes):
        asyncio.run(_chain(run_dir / "audit" / f"worker-{i}", n))
    info = collect_audit(run_dir / "audit.jsonl", run_dir)
    report = Report.model_validate(orjson.loads((run_dir / "report.json").read_bytes()))
    write_report(run_dir, report.model_copy(update={"audit": info}))
    return run_dir


def test_worker_chains_are_collected_signed_and_verified(run_dir: Path) -> None:
    _worker_run(run_dir)
    report = orjson.loads((run_dir / "report.json").read_bytes())
    audit = report["audit"]
    assert audit["verified"] and audit["file"] == "audit" and audit["error"] is None
    # each chain: its records plus the segment's header record
    assert [(c["name"], c["records"], c["verified"]) for c in audit["chains"]] == [
        ("worker-0", 4, True), ("worker-1", 6, True)]
    assert audit["records"] == 10
    assert not list((run_dir / "audit").rglob(".audit.lock"))
    names = write_artifacts(run_dir, [], [], None)
    assert "audit/workers.json" in names
    assert any(n.startswith("audit/worker-1/audit-") for n in names)
    finalize_report(run_dir)
    result = verify_report(run_dir)
    assert result.valid, result.first_failure
    check = {c.name: c for c in result.checks}["audit chain"]
    assert check.status == "ok" and "2 worker chains" in check.detail
    summary = summarize_audit(run_dir / "audit")
    assert summary is not None and summary.decisions == 8  # both chains read


def test_a_missing_worker_chain_fails_by_name(run_dir: Path) -> None:
    _worker_run(run_dir)
    finalize_report(run_dir)
    shutil.rmtree(run_dir / "audit" / "worker-1")
    result = verify_report(run_dir)
    assert not result.valid
    check = {c.name: c for c in result.checks}["audit chain"]
    assert check.status == "fail" and check.code == "audit_worker_chain_missing"
    assert "worker-1" in check.detail


def test_a_missing_manifest_fails(run_dir: Path) -> None:
    _worker_run(run_dir)
    finalize_report(run_dir)
    (run_dir / "audit" / "workers.json").unlink()
    check = {c.name: c for c in verify_report(run_dir).checks}["audit chain"]
    assert check.status == "fail" and "workers.json" in check.detail


def test_a_chain_missing_at_run_end_never_verifies(run_dir: Path) -> None:
    (run_dir / "audit.jsonl").unlink()
    write_worker_set(run_dir / "audit", 2)
    asyncio.run(_chain(run_dir / "audit" / "worker-0", 2))
    info = collect_audit(run_dir / "audit.jsonl", run_dir)
    assert not info.verified and info.head is None
    assert info.error is not None and info.error.startswith("worker chain worker-1: ")
    assert [c.verified for c in info.chains or ()] == [True, False]
