"""Segment files of a rotating audit log: names, manifests, sealing (compression) and recovery.

A segmented log is a directory::

    audit-000000.jsonl.gz        sealed segment (gzip; ``.jsonl.zst`` with zstd)
    audit-000000.manifest.json   its manifest: first/last seq, head hash, sha256 of the file
    audit-000000.shipped.json    receipts of the sinks it was shipped to and verified at
    audit-000001.jsonl           the active segment (plain JSON Lines, appended and fsynced)
    .audit.lock                  held (flock) by the one process appending

The chain runs on across files: seqs continue, and the first record of every segment is a
``segment`` record naming the segment and the previous one with its head, its ``prev_hash``
being that head — so a segment shows where it belongs even when read on its own.

Sealing a segment, in an order a ``kill -9`` at any step cannot lose a record by:
compress to ``<file>.tmp`` and fsync → rename to the sealed name → write the manifest (tmp,
fsync, rename) → fsync the directory → unlink the plain file. A segment is sealed exactly when
its manifest exists; :func:`recover_directory` finishes or redoes an interrupted seal.

>>> segment_name(3), parse_name("audit-000003.manifest.json")
('audit-000003', (3, 'manifest'))
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Literal

import orjson
from pydantic import BaseModel, ConfigDict

Compression = Literal["gzip", "zstd"]
SUFFIX = {"gzip": ".jsonl.gz", "zstd": ".jsonl.zst"}
LOCK_FILE = ".audit.lock"
PREFIX = "audit-"
_NAME = re.compile(r"^audit-(\d{6,})\.(jsonl|jsonl\.gz|jsonl\.zst|manifest\.json|shipped\.json)$")
_KIND = {"jsonl": "active", "jsonl.gz": "gzip", "jsonl.zst": "zstd", "manifest.json": "manifest",
         "shipped.json": "shipped"}
_CHUNK = 1 << 20

# Test seam: called with the name of each sealing step just completed ("compressed", "renamed",
# "manifest", "unlinked"); the crash tests kill the process there.
STAGE_HOOK: Callable[[str, str], None] | None = None


def segment_name(index: int) -> str:
    return f"{PREFIX}{index:06d}"


def parse_name(filename: str) -> tuple[int, str] | None:
    """``(index, kind)`` for a segment file name (kind: active, gzip, zstd, manifest, shipped)."""
    m = _NAME.match(filename)
    if m is None:
        return None
    return int(m.group(1)), _KIND[m.group(2)]


class SegmentManifest(BaseModel):
    """What a sealed segment holds; written next to it as ``<name>.manifest.json``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    segment: str
    file: str
    compression: Compression
    first_seq: int
    last_seq: int
    records: int
    prev_hash: str  # the head of the previous segment (GENESIS_HASH for the first)
    head_hash: str
    sha256: str  # of ``file`` as stored
    bytes: int
    uncompressed_bytes: int
    sealed_at: str


@dataclass
class SegmentFiles:
    """The files present for one segment index."""

    index: int
    active: Path | None = None
    sealed: Path | None = None
    manifest: Path | None = None
    shipped: Path | None = None
    extra_sealed: list[Path] = field(default_factory=list)

    @property
    def name(self) -> str:
        return segment_name(self.index)


def list_segments(directory: Path) -> tuple[dict[int, SegmentFiles], list[str]]:
    """The segment files in ``directory`` by index, and the names of other files (``*.tmp``
    left by an interrupted seal and the lock file excluded). Raises ``OSError``."""
    found: dict[int, SegmentFiles] = {}
    other: list[str] = []
    for entry in sorted(os.listdir(directory)):
        parsed = parse_name(entry)
        if parsed is None:
            if entry != LOCK_FILE and not entry.endswith(".tmp"):
                other.append(entry)
            continue
        index, kind = parsed
        files = found.setdefault(index, SegmentFiles(index))
        path = directory / entry
        if kind == "active":
            files.active = path
        elif kind == "manifest":
            files.manifest = path
        elif kind == "shipped":
            files.shipped = path
        elif files.sealed is None:
            files.sealed = path
        else:
            files.extra_sealed.append(path)
    return found, other


def read_manifest(path: Path) -> SegmentManifest:
    """Raises ``OSError``, ``orjson.JSONDecodeError`` or ``pydantic.ValidationError``."""
    return SegmentManifest.model_validate(orjson.loads(path.read_bytes()))


def open_lines(path: Path) -> BinaryIO:
    """A binary stream of the segment's JSON Lines, decompressing by suffix. Raises ``OSError``
    (and ``ImportError`` for a zstd segment without ``zstandard``)."""
    if path.name.endswith(".gz"):
        return gzip.open(path, "rb")  # type: ignore[return-value]
    if path.name.endswith(".zst"):
        import zstandard

        raw = open(path, "rb")  # noqa: SIM115 - owned by the returned reader
        reader = zstandard.ZstdDecompressor().stream_reader(raw, closefd=True)
        return io.BufferedReader(reader, _CHUNK)  # type: ignore[arg-type, return-value]
    return open(path, "rb")  # noqa: SIM115


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def fsync_directory(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return  # some filesystems do not allow opening directories
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _stage(step: str, name: str) -> None:
    if STAGE_HOOK is not None:
        STAGE_HOOK(step, name)


def _compress(src: Path, dst: Path, compression: Compression) -> int:
    """Compress ``src`` into ``dst`` (fsynced); return the uncompressed size."""
    size = 0
    with open(src, "rb") as source, open(dst, "wb") as target:
        if compression == "gzip":
            # mtime=0 and no file name: the same segment always compresses to the same bytes
            with gzip.GzipFile(filename="", mode="wb", fileobj=target, compresslevel=6,
                               mtime=0) as out:
                while chunk := source.read(_CHUNK):
                    size += len(chunk)
                    out.write(chunk)
        else:
            import zstandard

            with zstandard.ZstdCompressor(level=3).stream_writer(target, closefd=False) as out:
                while chunk := source.read(_CHUNK):
                    size += len(chunk)
                    out.write(chunk)
        target.flush()
        os.fsync(target.fileno())
    return size


@dataclass(frozen=True)
class SegmentTail:
    """Chain facts of a closed segment, known to the writer (or found by scanning)."""

    index: int
    first_seq: int
    last_seq: int
    prev_hash: str
    head_hash: str


def seal_segment(directory: Path, tail: SegmentTail, compression: Compression,
                 now: Callable[[], str]) -> SegmentManifest:
    """Compress the plain segment ``tail.index``, write its manifest, remove the plain file.

    Idempotent after a crash at any step (see the module docstring). Raises ``OSError``
    (the plain file is then still there: nothing is lost, sealing is retried later).
    """
    name = segment_name(tail.index)
    plain = directory / f"{name}.jsonl"
    sealed = directory / f"{name}{SUFFIX[compression]}"
    manifest_path = directory / f"{name}.manifest.json"
    tmp = sealed.with_name(sealed.name + ".tmp")
    try:
        uncompressed = _compress(plain, tmp, compression)
        _stage("compressed", name)
        os.replace(tmp, sealed)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_directory(directory)
    _stage("renamed", name)
    manifest = SegmentManifest(
        segment=name, file=sealed.name, compression=compression, first_seq=tail.first_seq,
        last_seq=tail.last_seq, records=tail.last_seq - tail.first_seq + 1,
        prev_hash=tail.prev_hash, head_hash=tail.head_hash, sha256=sha256_file(sealed),
        bytes=sealed.stat().st_size, uncompressed_bytes=uncompressed, sealed_at=now(),
    )
    write_json_atomic(manifest_path, manifest.model_dump(mode="json"))
    _stage("manifest", name)
    plain.unlink()
    fsync_directory(directory)
    _stage("unlinked", name)
    return manifest


def write_json_atomic(path: Path, data: Any) -> None:
    """Write ``data`` as canonical JSON to ``path`` durably (tmp, fsync, rename, fsync dir)."""
    tmp = path.with_name(path.name + ".tmp")
    try:
        with open(tmp, "wb") as out:
            out.write(orjson.dumps(data, option=orjson.OPT_SORT_KEYS) + b"\n")
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_directory(path.parent)


def iter_segment_lines(path: Path) -> Iterator[bytes]:
    with open_lines(path) as handle:
        yield from handle
