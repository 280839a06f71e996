"""Reading audit events back, with compacted parts resolved: what report rendering and any
other reader use, for a single file or a directory of segments alike.

>>> import tempfile, pathlib
>>> list(iter_events(pathlib.Path(tempfile.mkdtemp())))
[]

Records the log writes for itself (``blob``, ``segment``) are not yielded; every other record
is yielded with each ``refs`` entry put back at its path, so a decision event reads exactly as
the gateway emitted it. Reading does not verify (that is :func:`governance.audit.verify_audit_log`):
a line that does not parse, or a reference to no known blob, is counted in
:attr:`EventReader.unreadable` and skipped, so a report can still show what it can.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from governance.audit._compact import resolve
from governance.audit._records import BLOB_KIND, SEGMENT_KIND
from governance.audit._segments import list_segments, open_lines, read_manifest


def segment_files(directory: Path) -> list[Path]:
    """The files holding a directory's records, in chain order (sealed file, else plain)."""
    found, _ = list_segments(directory)
    paths = []
    for index in sorted(found):
        files = found[index]
        if files.manifest is not None:
            try:
                paths.append(directory / read_manifest(files.manifest).file)
                continue
            except Exception:  # noqa: BLE001 - unreadable manifest: fall back to what is there
                pass
        chosen = files.active or files.sealed
        if chosen is not None:
            paths.append(chosen)
    return paths


class EventReader:
    """Iterate the events of ``source`` (a log file or a segment directory)."""

    def __init__(self, source: str | os.PathLike[str]) -> None:
        self.source = Path(source)
        self.unreadable = 0
        self.records = 0  # every line read, housekeeping records included

    def __iter__(self) -> Iterator[dict[str, Any]]:
        """Raises ``OSError`` when the source cannot be read at all. A directory with a
        ``workers.json`` (one chain per gateway worker) yields every chain's events, chain after
        chain in the manifest's order."""
        files = self._files()
        for path in files:
            yield from self._file(path)

    def _files(self) -> list[Path]:
        from governance.audit._workers import WORKERS_MANIFEST, read_worker_set

        if not self.source.is_dir():
            return [self.source]
        if not (self.source / WORKERS_MANIFEST).exists():
            return segment_files(self.source)
        try:
            manifest = read_worker_set(self.source)
        except Exception:  # noqa: BLE001 - display only: verification names the problem
            self.unreadable += 1
            return []
        assert manifest is not None
        return [path for name in manifest.chains if (self.source / name).is_dir()
                for path in segment_files(self.source / name)]

    def _file(self, path: Path) -> Iterator[dict[str, Any]]:
        blobs: dict[str, Any] = {}
        loads = orjson.loads
        try:
            handle = open_lines(path)
        except ImportError:
            self.unreadable += 1
            return
        with handle:
            try:
                for line in handle:
                    self.records += 1
                    try:
                        record = loads(line)
                    except orjson.JSONDecodeError:
                        self.unreadable += 1
                        continue
                    if type(record) is not dict:
                        self.unreadable += 1
                        continue
                    kind = record.get("kind")
                    if kind == BLOB_KIND:
                        ref = record.get("ref")
                        if isinstance(ref, str):
                            blobs[ref] = record.get("value")
                        continue
                    if kind == SEGMENT_KIND:
                        continue
                    if "refs" in record:
                        try:
                            record = resolve(record, blobs)
                        except (KeyError, TypeError, AttributeError):
                            self.unreadable += 1
                            continue
                    yield record
            except (OSError, EOFError):  # a corrupt compressed stream: stop this file
                self.unreadable += 1


def iter_events(source: str | os.PathLike[str]) -> Iterator[dict[str, Any]]:
    """The events of a log file or segment directory, compacted parts resolved."""
    return iter(EventReader(source))
