"""Request records round-trip through JSON Lines; bad lines are named."""

from __future__ import annotations

from pathlib import Path

import pytest

from chaos.load import LoadError, LoadRecord, read_records, write_records


def _record(index: int, **overrides) -> LoadRecord:
    fields = {
        "request_id": f"r-{index}",
        "index": index,
        "route": "claims-triage",
        "tenant": "acme-health",
        "data_classes": ("pii",),
        "region": "eu",
        "stream": False,
        "offset_s": index / 10,
        "scheduled_at": 100.0 + index / 10,
        "sent_at": 100.001 + index / 10,
        "arrival_error_ms": 1.0,
        "status": 200,
        "ok": True,
        "error_kind": None,
        "latency_ms": 3.5,
        "completed_at": 100.01 + index / 10,
        "failovers": ("private-eu:timeout",),
    }
    fields.update(overrides)
    return LoadRecord(**fields)


def test_round_trip(tmp_path: Path) -> None:
    records = [_record(0), _record(1, ok=False, status=0, error_kind="connect_error")]
    assert write_records(tmp_path / "out" / "requests.jsonl", records) == 2
    assert read_records(tmp_path / "out" / "requests.jsonl") == records


def test_bad_line_is_named(tmp_path: Path) -> None:
    path = tmp_path / "requests.jsonl"
    write_records(path, [_record(0)])
    with open(path, "ab") as file:
        file.write(b"{broken\n")
    with pytest.raises(LoadError, match=r"requests\.jsonl:2"):
        read_records(path)
