"""The ground-truth request log of one upstream: in memory, optionally appended to JSONL.

Each line of the JSONL file is one :class:`~chaos.providers.models.RequestLogEntry` (its JSON
field names). The same append-only log, typed :class:`~chaos.providers.models.UsageEntry`, is the
upstream's usage log (what it answered, in tokens), kept in ``usage/<name>.jsonl`` beside the
request log (:func:`usage_log_path`), out of the way of :func:`read_request_logs`. Lines are flushed as they are written (not fsynced: the log has to survive the
fleet process being stopped, not the machine crashing), so another process can read the file
while the upstream runs, and a killed fleet process leaves every entry it logged.
"""

from __future__ import annotations

import collections
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Generic, TypeVar

import orjson
from pydantic import BaseModel

from chaos.jsonl import read_jsonl
from chaos.providers.errors import ProviderError
from chaos.providers.models import RequestLogEntry, UsageEntry

E = TypeVar("E", bound=BaseModel)


# With a file, memory keeps only the most recent entries (the file has them all): a fleet
# process serving 1,000 req/s for an hour must not grow without bound.
FILE_BACKED_MEMORY_ENTRIES = 200_000


class RequestLog(Generic[E]):
    """Append-only log of entries, mirrored to a JSONL file when ``path`` is given.

    Without a file every entry stays in memory; with one, memory holds the most recent
    ``max_in_memory`` entries (default :data:`FILE_BACKED_MEMORY_ENTRIES`) and :attr:`entries`
    reads the complete log back from the file when memory no longer has it all.

    Raises:
        ProviderError: the file cannot be opened for appending.
    """

    def __init__(
        self, path: str | Path | None = None, *, max_in_memory: int | None = None,
        entry_type: type[E] = RequestLogEntry,  # type: ignore[assignment]
    ) -> None:
        self.path = Path(path) if path is not None else None
        self._entry_type = entry_type
        if max_in_memory is None and self.path is not None:
            max_in_memory = FILE_BACKED_MEMORY_ENTRIES
        self._entries: collections.deque[E] = collections.deque(
            maxlen=max_in_memory
        )
        self._count = 0
        self._file: IO[bytes] | None = None
        if self.path is not None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                # A restarted upstream (after a SIGKILL) appends to the log of its previous
                # life: what it received before the kill stays part of the ground truth.
                self._count = _resume(self.path)
                self._file = open(self.path, "ab", buffering=0)  # noqa: SIM115 - closed in close()
            except OSError as exc:
                raise ProviderError(f"{self.path}: cannot open request log: {exc}") from exc

    def append(self, entry: E) -> None:
        self._entries.append(entry)
        self._count += 1
        if self._file is not None:
            self._file.write(orjson.dumps(entry.model_dump()) + b"\n")

    @property
    def entries(self) -> list[E]:
        """Every entry so far (a copy: safe to keep while the upstream keeps logging).

        Served from memory, or from the file once memory no longer holds them all.

        Raises:
            ProviderError: memory is incomplete and the file cannot be read back.
        """
        if self._count > len(self._entries) and self.path is not None:
            return _read(self.path, self._entry_type)
        return list(self._entries)

    def __len__(self) -> int:
        """How many entries were ever appended (memory may hold fewer; the file holds all)."""
        return self._count

    def __iter__(self) -> Iterator[E]:
        return iter(self.entries)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def _resume(path: Path) -> int:
    """Complete entries already in ``path``; a torn last line (a write cut short by SIGKILL) is
    cut off so the next entry starts on a line of its own."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return 0
    end = data.rfind(b"\n") + 1
    if end < len(data):
        with open(path, "r+b") as handle:
            handle.truncate(end)
    return sum(1 for line in data[:end].split(b"\n") if line.strip())


def read_request_log(path: str | Path) -> list[RequestLogEntry]:
    """Read a JSONL request log written by :class:`RequestLog`.

    A last line without its newline (the writer was killed mid-write) is ignored; any other bad
    line is an error.

    Raises:
        ProviderError: the file cannot be read, or a line is not a valid entry (names the line).
    """
    return _read(path, RequestLogEntry)


def usage_log_path(request_log: str | Path) -> Path:
    """Where the usage log of the upstream whose request log is ``request_log`` lives:
    ``<dir>/usage/<name>.jsonl``."""
    path = Path(request_log)
    return path.parent / "usage" / path.name


def read_usage_log(path: str | Path) -> list[UsageEntry]:
    """Read a JSONL usage log (same rules as :func:`read_request_log`).

    Raises:
        ProviderError: the file cannot be read, or a line is not a valid entry (names the line).
    """
    return _read(path, UsageEntry)


def _read(path: str | Path, entry_type: type[E]) -> list[E]:
    what = "usage log" if entry_type is UsageEntry else "request log"
    return read_jsonl(
        path, entry_type, what=f"{what} entry", source=what,
        error=ProviderError, torn_tail=True,  # a cut-short last line is not a corrupt log
    )


def read_request_logs(directory: str | Path) -> list[RequestLogEntry]:
    """Every ``*.jsonl`` request log in ``directory`` (a fleet's ``log_dir``), merged in arrival
    order (``received_mono`` is system-wide, so logs of several processes interleave correctly).

    Raises:
        ProviderError: a file cannot be read or holds an invalid line.
    """
    merged: list[RequestLogEntry] = []
    for file in sorted(Path(directory).glob("*.jsonl")):
        merged.extend(read_request_log(file))
    merged.sort(key=lambda entry: entry.received_mono)
    return merged
