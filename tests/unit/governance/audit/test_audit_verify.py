"""Every single-record mutation of a log is detected, and the first bad record is pinpointed."""

from __future__ import annotations

import asyncio
import tempfile
from functools import cache
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from governance.audit import (
    AuditChainError,
    AuditHead,
    AuditHeadMismatch,
    AuditLog,
    AuditLogTruncated,
    AuditRecordEdited,
    AuditRecordMalformed,
    AuditRecordOutOfOrder,
    MaskingRules,
    verify_audit_log,
)

N = 12
SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@cache
def _base() -> tuple[tuple[bytes, ...], AuditHead]:
    """One real log, built once: its lines and head."""

    async def build(path: Path) -> AuditHead:
        mask = MaskingRules(fields=("prompt",))
        async with await AuditLog.open(path, mask=mask, group_commit_ms=0) as log:
            for i in range(N):
                kind = "decision" if i % 2 == 0 else "attempt"
                await log.append(
                    {"kind": kind, "i": i, "nested": {"x": [i, "é", 1.5]}, "prompt": f"p{i}"}
                )
        return log.head

    path = Path(tempfile.mkdtemp()) / "audit.jsonl"
    head = asyncio.run(build(path))
    return tuple(path.read_bytes().splitlines(keepends=True)), head


def _verify(lines: list[bytes] | bytes, head: AuditHead | None = None):
    data = lines if isinstance(lines, bytes) else b"".join(lines)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "audit.jsonl"
        path.write_bytes(data)
        return verify_audit_log(path, expected_head=head)


def test_intact_log_verifies() -> None:
    lines, head = _base()
    summary = _verify(list(lines), head)
    assert (summary.count, summary.first_seq, summary.last_seq) == (N, 0, N - 1)
    assert summary.head_hash == head.hash
    assert _verify(list(lines), head.hash).count == N


json_values = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**31), 2**31), st.text(max_size=8),
    st.lists(st.integers(0, 3), max_size=2),
)


@SETTINGS
@given(i=st.integers(0, N - 1), key_index=st.integers(0, 20), value=json_values)
def test_editing_any_field_is_detected_at_that_record(i: int, key_index: int, value) -> None:
    lines, head = _base()
    record = orjson.loads(lines[i])
    key = sorted(record)[key_index % len(record)]
    if record[key] == value:
        value = [value, "changed"]
    record[key] = value
    mutated = list(lines)
    mutated[i] = orjson.dumps(record) + b"\n"  # insertion order: "hash" stays last
    with pytest.raises(AuditChainError) as info:
        _verify(mutated, head)
    assert info.value.location.line == i + 1
    assert info.value.seq == i
    assert isinstance(info.value, AuditRecordEdited | AuditRecordMalformed)


@SETTINGS
@given(i=st.integers(0, N - 1))
def test_deleting_a_record_is_detected(i: int) -> None:
    lines, head = _base()
    mutated = list(lines)
    del mutated[i]
    with pytest.raises(AuditChainError) as info:
        _verify(mutated, head)
    assert info.value.seq == i
    assert info.value.location.line == i + 1
    if i == N - 1:
        assert isinstance(info.value, AuditLogTruncated)
    else:
        assert info.value.reason == "deleted"


@SETTINGS
@given(i=st.integers(0, N - 1), j=st.integers(0, N - 1))
def test_swapping_two_records_is_detected_at_the_first(i: int, j: int) -> None:
    if i == j:
        return
    i, j = min(i, j), max(i, j)
    lines, head = _base()
    mutated = list(lines)
    mutated[i], mutated[j] = mutated[j], mutated[i]
    with pytest.raises(AuditRecordOutOfOrder) as info:
        _verify(mutated, head)
    assert (info.value.seq, info.value.location.line) == (i, i + 1)


@SETTINGS
@given(i=st.integers(0, N - 1))
def test_duplicating_a_record_is_detected(i: int) -> None:
    lines, head = _base()
    mutated = list(lines)
    mutated.insert(i + 1, lines[i])
    with pytest.raises(AuditChainError) as info:
        _verify(mutated, head)
    assert info.value.location.line == i + 2
    assert info.value.reason == "duplicated"


@SETTINGS
@given(cut=st.integers(0, 10_000))
def test_truncation_is_detected(cut: int) -> None:
    lines, head = _base()
    data = b"".join(lines)
    cut = cut % len(data)
    with pytest.raises(AuditLogTruncated) as info:
        _verify(data[:cut], head)
    intact = data[:cut].count(b"\n")
    assert info.value.seq == intact
    assert info.value.location.line == intact + 1


@SETTINGS
@given(pos=st.integers(0, 100_000), byte=st.integers(0, 255))
def test_any_single_byte_edit_is_detected_at_its_line(pos: int, byte: int) -> None:
    lines, head = _base()
    data = bytearray(b"".join(lines))
    pos = pos % len(data)
    if data[pos] == byte:
        byte = (byte + 1) % 256
    data[pos] = byte
    with pytest.raises(AuditChainError) as info:
        _verify(bytes(data), head)
    assert info.value.location.line == data[:pos].count(b"\n") + 1


def test_wrong_expected_head_is_reported() -> None:
    lines, head = _base()
    with pytest.raises(AuditHeadMismatch):
        _verify(list(lines), AuditHead(seq=N - 1, hash="f" * 64))
    # the log continues past a head recorded earlier
    earlier = AuditHead(seq=N - 3, hash=orjson.loads(lines[N - 3])["hash"])
    with pytest.raises(AuditHeadMismatch, match="continues past"):
        _verify(list(lines), earlier)
    with pytest.raises(AuditHeadMismatch):
        _verify(list(lines), "0" * 64)


def test_re_hashed_edit_breaks_the_link_of_the_next_record() -> None:
    import hashlib

    lines, head = _base()
    record = orjson.loads(lines[3])
    del record["hash"]
    record["i"] = 99
    body = orjson.dumps(record, option=orjson.OPT_SORT_KEYS)
    record["hash"] = hashlib.sha256(body).hexdigest()
    mutated = list(lines)
    mutated[3] = orjson.dumps(record) + b"\n"
    with pytest.raises(AuditRecordOutOfOrder) as info:
        _verify(mutated)
    assert (info.value.seq, info.value.reason) == (4, "chain_broken")


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(AuditRecordMalformed, match="cannot read audit log"):
        verify_audit_log(tmp_path / "absent.jsonl")
