"""Per-request records as JSON Lines (one :class:`LoadRecord` per line), for reports.

>>> write_records(path, result.records)       # doctest: +SKIP
>>> read_records(path) == list(result.records)  # doctest: +SKIP
True
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import orjson

from chaos.jsonl import read_jsonl
from chaos.load.errors import LoadError
from chaos.load.models import LoadRecord


def write_records(path: str | Path, records: Iterable[LoadRecord]) -> int:
    """Write records to ``path`` atomically (temp file + rename). Returns how many.

    Raises:
        LoadError: the file cannot be written.
    """
    file = Path(path)
    tmp = file.with_name(f".{file.name}.tmp")
    count = 0
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as out:
            for record in records:
                out.write(orjson.dumps(record.model_dump()) + b"\n")
                count += 1
        tmp.replace(file)
    except OSError as exc:
        raise LoadError(f"{file}: cannot write request records: {exc}") from exc
    return count


def read_records(path: str | Path) -> list[LoadRecord]:
    """Read records written by :func:`write_records`.

    Raises:
        LoadError: unreadable file, or a line that is not a record (names the line).
    """
    return read_jsonl(
        path, LoadRecord, what="request record", source="request records", error=LoadError
    )
