"""Segments: rotation with chain continuity, sealing, compaction, and verification of a directory
that pinpoints a missing, reordered or edited segment."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import orjson
import pytest

from governance.audit import (
    AuditLog,
    AuditRecordEdited,
    AuditRecordMalformed,
    AuditSegmentError,
    SegmentPolicy,
    iter_events,
    recover_audit_log,
    verify_audit_log,
)
from governance.audit._segments import list_segments, read_manifest

COMPACT = ("input.candidates", "result")
CANDIDATES = [{"id": f"m{i}", "provider": "p", "hosting": "private", "region": "eu",
               "version": "1", "cost_per_1k_tokens": 0.1, "healthy": True, "tags": ["a"]}
              for i in range(6)]
RESULT = {"allow": True, "allowed": ["m0", "m1"],
          "denied": {f"m{i}": [f"reason {i}"] for i in range(2, 6)}, "reasons": []}


def decision(i: int) -> dict:
    return {"kind": "decision", "decision_id": f"d{i}", "request_id": f"r{i}",
            "input": {"route": "r", "tenant": "t", "data_classes": ["pii"],
                      "candidates": CANDIDATES}, "result": RESULT}


async def fill(directory: Path, n: int, *, max_bytes: int = 4000, compression: str = "gzip",
               compact: tuple[str, ...] = COMPACT) -> None:
    policy = SegmentPolicy(max_segment_bytes=max_bytes, max_segment_age_s=None,
                           compression=compression)  # type: ignore[arg-type]
    log = await AuditLog.open(directory, segments=policy, compact=compact, group_commit_ms=0)
    for i in range(n):
        log.append_nowait(decision(i))
        log.append_nowait({"kind": "attempt", "request_id": f"r{i}", "outcome": "ok"})
        if i % 10 == 9:
            await log.flush()
    await log.close()


def sealed(directory: Path) -> list[Path]:
    return sorted(directory.glob("audit-*.jsonl.gz")) + sorted(directory.glob("audit-*.jsonl.zst"))


@pytest.mark.parametrize("compression", ["gzip", "zstd"])
async def test_rotation_seals_every_segment_and_the_chain_verifies(tmp_path: Path,
                                                                   compression: str) -> None:
    await fill(tmp_path, 100, compression=compression)
    found, other = list_segments(tmp_path)
    assert not other and len(found) > 3
    assert all(f.manifest is not None and f.active is None for f in found.values())
    summary = verify_audit_log(tmp_path)
    assert summary.segments == len(found) and summary.first_seq == 0
    events = list(iter_events(tmp_path))
    decisions = [e for e in events if e["kind"] == "decision"]
    assert len(decisions) == 100 and all(d["input"]["candidates"] == CANDIDATES
                                         and d["result"] == RESULT for d in decisions)
    # each segment starts with its segment record naming its predecessor and that head
    previous = None
    for index in sorted(found):
        manifest = read_manifest(found[index].manifest)  # type: ignore[arg-type]
        lines = list(iter_lines(tmp_path / manifest.file))
        first = orjson.loads(lines[0])
        assert first["kind"] == "segment" and first["segment"] == manifest.segment
        if previous is None:
            assert first["previous"] is None
        else:
            assert first["previous"] == {"segment": previous.segment, "seq": previous.last_seq,
                                         "hash": previous.head_hash}
            assert first["prev_hash"] == previous.head_hash
        previous = manifest


def iter_lines(path: Path) -> list[bytes]:
    if path.suffix == ".zst":
        import zstandard

        return zstandard.ZstdDecompressor().decompress(
            path.read_bytes(), max_output_size=1 << 26).splitlines(keepends=True)
    return gzip.decompress(path.read_bytes()).splitlines(keepends=True)


async def test_compaction_writes_each_repeated_part_once_per_segment(tmp_path: Path) -> None:
    await fill(tmp_path / "compact", 200, max_bytes=1 << 30)
    await fill(tmp_path / "full", 200, max_bytes=1 << 30, compact=())
    compact = gzip.decompress(sealed(tmp_path / "compact")[0].read_bytes())
    full = gzip.decompress(sealed(tmp_path / "full")[0].read_bytes())
    blobs = [r for r in map(orjson.loads, compact.splitlines()) if r["kind"] == "blob"]
    assert len(blobs) == 2  # the candidate list and the result, once
    assert len(full) / len(compact) > 2
    assert [e for e in iter_events(tmp_path / "compact")] and \
        _strip(iter_events(tmp_path / "compact")) == _strip(iter_events(tmp_path / "full"))


def _strip(events) -> list[dict]:
    return [{k: v for k, v in e.items() if k not in ("ts", "hash", "prev_hash", "seq")}
            for e in events]


async def test_reopen_continues_the_chain_in_a_new_segment(tmp_path: Path) -> None:
    await fill(tmp_path, 20, max_bytes=1 << 30)
    await fill(tmp_path, 20, max_bytes=1 << 30)
    found, _ = list_segments(tmp_path)
    assert len(found) == 2
    summary = verify_audit_log(tmp_path)
    assert summary.count == 2 * (1 + 2 + 40)  # segment + 2 blobs + 40 events, twice


async def test_a_deleted_middle_segment_is_pinpointed(tmp_path: Path) -> None:
    await fill(tmp_path, 100)
    files = sealed(tmp_path)
    victim = files[2]
    victim.unlink()
    (tmp_path / victim.name.replace(".jsonl.gz", ".manifest.json")).unlink()
    with pytest.raises(AuditSegmentError) as info:
        verify_audit_log(tmp_path)
    assert info.value.reason == "segment_missing"
    assert victim.name.split(".")[0] in info.value.message


async def test_a_deleted_first_segment_is_pinpointed(tmp_path: Path) -> None:
    await fill(tmp_path, 60)
    (tmp_path / "audit-000000.jsonl.gz").unlink()
    (tmp_path / "audit-000000.manifest.json").unlink()
    with pytest.raises(AuditSegmentError, match="audit-000000 is missing"):
        verify_audit_log(tmp_path)


async def test_swapped_segments_are_reported_as_reordered(tmp_path: Path) -> None:
    await fill(tmp_path, 100)
    a, b = tmp_path / "audit-000001", tmp_path / "audit-000002"
    for suffix in (".jsonl.gz", ".manifest.json"):
        os.rename(f"{a}{suffix}", f"{a}{suffix}.x")
        os.rename(f"{b}{suffix}", f"{a}{suffix}")
        os.rename(f"{a}{suffix}.x", f"{b}{suffix}")
    with pytest.raises(AuditSegmentError) as info:
        verify_audit_log(tmp_path)
    assert info.value.reason in ("segment_reordered", "manifest_mismatch")


async def test_an_edited_sealed_segment_names_the_record(tmp_path: Path) -> None:
    await fill(tmp_path, 100)
    target = sealed(tmp_path)[1]
    raw = gzip.decompress(target.read_bytes()).replace(b'"outcome":"ok"', b'"outcome":"no"', 1)
    target.write_bytes(gzip.compress(raw))
    with pytest.raises(AuditRecordEdited) as info:
        verify_audit_log(tmp_path)
    assert info.value.location.file == str(target) and info.value.location.line


async def test_a_recompressed_segment_fails_its_manifest_digest(tmp_path: Path) -> None:
    await fill(tmp_path, 60)
    target = sealed(tmp_path)[0]
    target.write_bytes(gzip.compress(gzip.decompress(target.read_bytes()), compresslevel=1))
    with pytest.raises(AuditSegmentError) as info:
        verify_audit_log(tmp_path)
    assert info.value.reason == "segment_edited"


async def test_a_deleted_blob_leaves_an_unresolved_reference(tmp_path: Path) -> None:
    # A forger who drops the blobs and re-chains every record is still caught: the references
    # resolve to nothing.
    from governance.audit._records import GENESIS_HASH, canonical_body, record_hash, record_line

    await fill(tmp_path, 10, max_bytes=1 << 30)
    target = sealed(tmp_path)[0]
    records = [orjson.loads(line) for line in gzip.decompress(target.read_bytes()).splitlines()]
    prev, out = GENESIS_HASH, []
    for seq, record in enumerate(r for r in records if r["kind"] != "blob"):
        record.pop("hash")
        record.update(seq=seq, prev_hash=prev)
        body = canonical_body(record)
        prev = record_hash(body)
        out.append(record_line(body, prev))
    target.write_bytes(gzip.compress(b"".join(out)))
    with pytest.raises(AuditRecordMalformed) as info:
        verify_audit_log(tmp_path)
    assert info.value.reason == "unresolved_ref" and info.value.seq == 1


async def test_an_unknown_file_is_reported(tmp_path: Path) -> None:
    await fill(tmp_path, 5)
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(AuditSegmentError, match="notes.txt"):
        verify_audit_log(tmp_path)


async def test_recover_seals_what_a_killed_writer_left(tmp_path: Path) -> None:
    policy = SegmentPolicy(max_segment_bytes=1 << 30, max_segment_age_s=None)
    log = await AuditLog.open(tmp_path, segments=policy, compact=COMPACT, group_commit_ms=0)
    for i in range(5):
        await log.append(decision(i))
    # simulate a kill: stop the threads without sealing (the plain segment stays)
    log._seg_open = False  # noqa: SLF001 - what a crash leaves: no Close ever queued
    await log.close()
    assert (tmp_path / "audit-000000.jsonl").exists()
    with open(tmp_path / "audit-000000.jsonl", "ab") as out:
        out.write(b'{"kind":"torn')
    summary = recover_audit_log(tmp_path)
    assert summary.torn_tail_bytes == len(b'{"kind":"torn') and summary.count == 8
    assert not (tmp_path / "audit-000000.jsonl").exists()
    assert verify_audit_log(tmp_path).count == 8


async def test_expected_head_across_segments(tmp_path: Path) -> None:
    await fill(tmp_path, 50)
    summary = verify_audit_log(tmp_path)
    assert verify_audit_log(tmp_path, expected_head=summary.head).count == summary.count
    last = sealed(tmp_path)[-1]
    last.unlink()
    (tmp_path / last.name.replace(".jsonl.gz", ".manifest.json")).unlink()
    with pytest.raises(Exception) as info:
        verify_audit_log(tmp_path, expected_head=summary.head)
    assert getattr(info.value, "reason", "") == "truncated"


async def test_idle_segment_is_closed_after_its_age(tmp_path: Path) -> None:
    import asyncio

    policy = SegmentPolicy(max_segment_bytes=None, max_segment_age_s=0.1)
    log = await AuditLog.open(tmp_path, segments=policy, group_commit_ms=0)
    await log.append({"kind": "attempt", "i": 0})
    for _ in range(100):
        await asyncio.sleep(0.02)
        if (tmp_path / "audit-000000.manifest.json").exists():
            break
    assert (tmp_path / "audit-000000.manifest.json").exists()
    await log.append({"kind": "attempt", "i": 1})
    await log.close()
    assert verify_audit_log(tmp_path).segments == 2
