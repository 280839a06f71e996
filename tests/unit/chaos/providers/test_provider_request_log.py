"""The JSONL request log: written as requests arrive, readable by another process."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chaos.providers import (
    ProviderError,
    RequestLog,
    RequestLogEntry,
    read_request_log,
    read_request_logs,
)
from chaos.providers.openai_shape import split_tokens


def _entry(index: int) -> RequestLogEntry:
    return RequestLogEntry(
        received_at=time.time(),
        received_mono=time.monotonic(),
        upstream="a",
        served_model="m",
        request_id=f"r-{index}",
        path="/v1/chat/completions",
        outcome="ok",
    )


def test_round_trip_and_visible_before_close(tmp_path: Path) -> None:
    log = RequestLog(tmp_path / "logs" / "a.jsonl")
    entries = [_entry(i) for i in range(3)]
    for entry in entries:
        log.append(entry)
    assert read_request_log(log.path) == entries  # unbuffered: readable while still open
    log.close()
    assert len(log) == 3 and log.entries == entries


def test_unterminated_last_line_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    log = RequestLog(path)
    log.append(_entry(0))
    log.close()
    with open(path, "ab") as file:
        file.write(b'{"received_at": 1.0, "upstr')  # writer killed mid-line
    assert [e.request_id for e in read_request_log(path)] == ["r-0"]


def test_corrupt_line_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    path.write_bytes(b'{"nope": 1}\n')
    with pytest.raises(ProviderError, match=r"a\.jsonl:1"):
        read_request_log(path)


def test_missing_file_is_a_provider_error(tmp_path: Path) -> None:
    with pytest.raises(ProviderError, match="cannot read"):
        read_request_log(tmp_path / "absent.jsonl")


@given(st.text(max_size=200))
def test_split_tokens_never_loses_a_character(text: str) -> None:
    assert "".join(split_tokens(text)) == text


def test_file_backed_log_bounds_memory_but_not_the_file(tmp_path: Path) -> None:
    log = RequestLog(tmp_path / "a.jsonl", max_in_memory=2)
    for index in range(5):
        log.append(_entry(index))
    assert len(log) == 5 and len(log._entries) == 2
    assert [e.request_id for e in log.entries] == [f"r-{i}" for i in range(5)]  # from the file
    log.close()
    assert len(read_request_log(tmp_path / "a.jsonl")) == 5


def test_fleet_log_directory_merges_in_arrival_order(tmp_path: Path) -> None:
    first, second = RequestLog(tmp_path / "b.jsonl"), RequestLog(tmp_path / "a.jsonl")
    entries = [_entry(i) for i in range(4)]
    for index, entry in enumerate(entries):
        (first if index % 2 else second).append(entry)
    first.close()
    second.close()
    assert read_request_logs(tmp_path) == entries


def test_request_id_falls_back_to_user() -> None:
    entry = _entry(0).model_copy(update={"request_id": None, "user": "govchaos:abc-7"})
    assert entry.govchaos_request_id == "abc-7"
    assert _entry(1).govchaos_request_id == "r-1"
    assert _entry(2).model_copy(update={"request_id": None}).govchaos_request_id is None
