"""One chain per gateway worker: the workers.json manifest and verifying the whole set."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from governance.audit import (
    AuditLog,
    AuditSegmentError,
    SegmentPolicy,
    read_worker_set,
    verify_worker_set,
    write_worker_set,
)


async def _chain(directory: Path, events: int) -> None:
    log = await AuditLog.open(directory, segments=SegmentPolicy())
    for i in range(events):
        await log.append({"kind": "decision", "n": i})
    await log.close()


async def test_every_chain_verifies_with_its_count(tmp_path: Path) -> None:
    write_worker_set(tmp_path, 2)
    await _chain(tmp_path / "worker-0", 3)
    await _chain(tmp_path / "worker-1", 5)
    verdicts = verify_worker_set(tmp_path)
    assert [(v.name, v.verified, v.records) for v in verdicts] == [
        ("worker-0", True, 4), ("worker-1", True, 6)]  # + a segment header each
    heads = {v.name: v.head for v in verdicts}
    assert all(v.verified for v in verify_worker_set(tmp_path, heads))


async def test_a_missing_chain_is_a_named_failure(tmp_path: Path) -> None:
    write_worker_set(tmp_path, 2)
    await _chain(tmp_path / "worker-0", 1)
    await _chain(tmp_path / "worker-1", 1)
    shutil.rmtree(tmp_path / "worker-1")
    v0, v1 = verify_worker_set(tmp_path)
    assert v0.verified and not v1.verified
    assert v1.code == "audit_worker_chain_missing" and "worker-1" in v1.error


async def test_a_signed_chain_the_manifest_no_longer_names_fails(tmp_path: Path) -> None:
    write_worker_set(tmp_path, 1)
    await _chain(tmp_path / "worker-0", 1)
    heads = {v.name: v.head for v in verify_worker_set(tmp_path)}
    heads["worker-1"] = "0" * 64
    verdicts = verify_worker_set(tmp_path, heads)
    assert [v.verified for v in verdicts] == [True, False]
    assert verdicts[1].code == "audit_worker_chain_missing"


async def test_an_edited_chain_fails_alone(tmp_path: Path) -> None:
    write_worker_set(tmp_path, 2)
    await _chain(tmp_path / "worker-0", 2)
    await _chain(tmp_path / "worker-1", 2)
    heads = {v.name: v.head for v in verify_worker_set(tmp_path)}
    heads["worker-0"] = "f" * 64
    v0, v1 = verify_worker_set(tmp_path, heads)
    assert not v0.verified and v0.code and v1.verified


def test_the_manifest_only_grows(tmp_path: Path) -> None:
    write_worker_set(tmp_path, 3)
    m = write_worker_set(tmp_path, 1)
    assert m.workers == 1 and m.chains == ("worker-0", "worker-1", "worker-2")
    assert read_worker_set(tmp_path) == m
    assert read_worker_set(tmp_path / "none") is None


@pytest.mark.parametrize("body", [b"{", b'{"workers": 0, "chains": ["worker-0"]}',
                                  b'{"workers": 1, "chains": ["../x"]}',
                                  b'{"workers": 1, "chains": ["w", "w"]}',
                                  b'{"workers": 1, "chains": ["w"], "extra": 1}'])
def test_a_bad_manifest_is_located(tmp_path: Path, body: bytes) -> None:
    (tmp_path / "workers.json").write_bytes(body)
    with pytest.raises(AuditSegmentError) as info:
        read_worker_set(tmp_path)
    assert "workers.json" in info.value.diagnostics()
    with pytest.raises(AuditSegmentError):
        verify_worker_set(tmp_path)


def test_no_manifest_is_not_a_set(tmp_path: Path) -> None:
    with pytest.raises(AuditSegmentError, match="has no workers.json"):
        verify_worker_set(tmp_path)
