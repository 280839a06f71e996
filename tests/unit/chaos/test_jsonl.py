"""The one JSONL reader (chaos/jsonl.py): models back, every error located."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel

from chaos.errors import ChaosError
from chaos.jsonl import read_jsonl


class Row(BaseModel):
    n: int


def _read(path: Path, **kwargs: bool) -> list[Row]:
    return read_jsonl(path, Row, what="row", source="rows", error=ChaosError, **kwargs)


def test_lines_become_models_and_blank_lines_are_skipped(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    path.write_bytes(b'{"n": 1}\n\n  \n{"n": 2}')
    assert [r.n for r in _read(path)] == [1, 2]


@pytest.mark.parametrize("bad", [b"{not json", b'{"n": "x"}', b"[1]"])
def test_a_bad_line_is_located_at_its_file_and_line(tmp_path: Path, bad: bytes) -> None:
    path = tmp_path / "r.jsonl"
    path.write_bytes(b'{"n": 1}\n\n' + bad + b"\n")
    with pytest.raises(ChaosError) as info:
        _read(path)
    assert info.value.location is not None
    assert (info.value.location.file, info.value.location.line) == (str(path), 3)
    assert info.value.message.startswith("invalid row: ")


def test_a_torn_last_line_is_ignored_only_when_allowed(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    path.write_bytes(b'{"n": 1}\n{"n": 2')
    assert [r.n for r in _read(path, torn_tail=True)] == [1]
    with pytest.raises(ChaosError, match=r"r\.jsonl:2: invalid row"):
        _read(path)


def test_an_unreadable_file_is_located_at_the_file(tmp_path: Path) -> None:
    with pytest.raises(ChaosError) as info:
        _read(tmp_path / "missing.jsonl")
    assert info.value.location is not None and info.value.location.line is None
    assert "cannot read rows" in info.value.message
