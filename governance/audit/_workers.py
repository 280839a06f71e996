"""A set of audit chains, one per gateway worker: ``<directory>/worker-<i>/`` plus the manifest
``<directory>/workers.json`` that names them (docs/audit.md, "One chain per worker").

>>> WorkerSet(workers=2, chains=("worker-0", "worker-1")).chains
('worker-0', 'worker-1')

Every worker process of ``govchaos gateway serve --workers N`` appends to its own hash chain
(a segment directory); none of them shares a writer or a lock. The manifest is written by the
supervisor before any worker starts and only ever grows: a chain it has named once must still
be there and verify, whatever the worker count of a later start. :func:`verify_worker_set`
verifies every named chain and reports each one, so a missing or broken worker chain is a
named failure, never a pass.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from governance.audit._errors import AuditSegmentError
from governance.audit._records import AuditHead
from governance.errors import AuditChainError, Location

WORKERS_MANIFEST = "workers.json"
WORKERS_FORMAT = "govchaos-audit-workers/1"
MAX_WORKERS = 64


def worker_chain_name(index: int) -> str:
    """The directory of worker ``index``'s chain, relative to the set's directory."""
    return f"worker-{index}"


class WorkerSet(BaseModel):
    """The manifest ``workers.json``: how many workers the last start ran, and every chain."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    format: str = WORKERS_FORMAT
    workers: int = Field(ge=1, le=MAX_WORKERS)
    chains: tuple[str, ...] = Field(min_length=1)


class ChainVerdict(BaseModel):
    """One chain of a set, as verified: its record count and head, or why it failed."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    verified: bool
    records: int | None = None
    head: str | None = None
    segments: int = 0
    error: str | None = None
    code: str | None = None


def holds_single_chain(directory: str | os.PathLike[str]) -> bool:
    """Whether ``directory`` holds segments of one chain of its own (a single-process gateway's
    log), as opposed to nothing yet or a worker set."""
    from governance.audit._segments import list_segments

    try:
        found, _ = list_segments(Path(directory))
    except OSError:
        return False
    return bool(found)


def worker_set_head(verdicts: list[ChainVerdict]) -> str:
    """One digest for a set of verified chains: sha256 over ``name records head`` lines in
    order (what a report shows as the audit head of a multi-worker gateway)."""
    import hashlib

    lines = "".join(f"{v.name} {v.records} {v.head}\n" for v in verdicts)
    return hashlib.sha256(lines.encode()).hexdigest()


def read_worker_set(directory: str | os.PathLike[str]) -> WorkerSet | None:
    """The manifest of ``directory``, or None when it has none (a single chain).

    Raises:
        AuditSegmentError: the manifest is unreadable, not the manifest's shape, or names a
            chain outside the directory.
    """
    path = Path(directory) / WORKERS_MANIFEST
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise AuditSegmentError(f"{WORKERS_MANIFEST} cannot be read: {exc.strerror}", seq=None,
                                location=Location(str(path)), reason="segment_unreadable"
                                ) from exc
    try:
        manifest = WorkerSet.model_validate(orjson.loads(raw))
    except (orjson.JSONDecodeError, ValidationError) as exc:
        raise AuditSegmentError(f"{WORKERS_MANIFEST} is not a worker manifest: {exc}", seq=None,
                                location=Location(str(path)), reason="manifest_mismatch"
                                ) from exc
    if manifest.format != WORKERS_FORMAT:
        raise AuditSegmentError(f"{WORKERS_MANIFEST}: unknown format {manifest.format!r}",
                                seq=None, location=Location(str(path), field="format"),
                                reason="manifest_mismatch")
    for i, name in enumerate(manifest.chains):
        if "/" in name or "\\" in name or name in ("", ".", "..") or name.startswith("."):
            raise AuditSegmentError(f"{WORKERS_MANIFEST}: unsafe chain name {name!r}", seq=None,
                                    location=Location(str(path), field=f"chains.{i}"),
                                    reason="manifest_mismatch")
    if len(set(manifest.chains)) != len(manifest.chains):
        raise AuditSegmentError(f"{WORKERS_MANIFEST}: a chain is named twice", seq=None,
                                location=Location(str(path), field="chains"),
                                reason="manifest_mismatch")
    return manifest


def write_worker_set(directory: str | os.PathLike[str], workers: int) -> WorkerSet:
    """Name ``workers`` chains in ``directory``'s manifest (creating both), keeping every chain
    an earlier manifest named; written atomically. Returns the manifest now in force.

    Raises:
        AuditSegmentError: an existing manifest does not read (it is left as it is).
        OSError: the directory or the manifest cannot be written.
    """
    root = Path(directory)
    root.mkdir(parents=True, exist_ok=True)
    before = read_worker_set(root)
    chains = list(before.chains) if before is not None else []
    for i in range(workers):
        if worker_chain_name(i) not in chains:
            chains.append(worker_chain_name(i))
    manifest = WorkerSet(workers=workers, chains=tuple(chains))
    tmp = root / f".{WORKERS_MANIFEST}.{os.getpid()}.tmp"
    with open(tmp, "wb") as f:
        f.write(orjson.dumps(manifest.model_dump(mode="json"), option=orjson.OPT_INDENT_2))
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, root / WORKERS_MANIFEST)
    return manifest


def verify_worker_set(
    directory: str | os.PathLike[str],
    expected_heads: Mapping[str, AuditHead | Mapping[str, Any] | str] | None = None,
) -> list[ChainVerdict]:
    """Verify every chain ``directory``'s manifest names (each against ``expected_heads[name]``
    when given); one verdict per chain, in manifest order. A chain directory that is missing is
    a failed verdict (``audit_worker_chain_missing``); so is a chain that ``expected_heads``
    names but the manifest does not.

    Raises:
        AuditSegmentError: ``directory`` has no manifest, or it does not read.
    """
    from governance.audit._verify import verify_audit_log

    root = Path(directory)
    manifest = read_worker_set(root)
    if manifest is None:
        raise AuditSegmentError(f"{root} has no {WORKERS_MANIFEST}: not a worker chain set",
                                seq=None, location=Location(str(root)),
                                reason="segment_missing")
    verdicts: list[ChainVerdict] = []
    for name in manifest.chains:
        path = root / name
        if not path.is_dir():
            verdicts.append(ChainVerdict(
                name=name, verified=False, code="audit_worker_chain_missing",
                error=f"{path}: the chain of {name}, named in {WORKERS_MANIFEST}, is missing"))
            continue
        try:
            expected = expected_heads.get(name) if expected_heads is not None else None
            summary = verify_audit_log(path, expected_head=expected)
        except AuditChainError as exc:
            verdicts.append(ChainVerdict(name=name, verified=False, code=exc.code,
                                         error=exc.diagnostics()))
            continue
        verdicts.append(ChainVerdict(name=name, verified=True, records=summary.count,
                                     head=summary.head_hash, segments=summary.segments))
    for name in sorted(set(expected_heads or ()) - set(manifest.chains)):
        verdicts.append(ChainVerdict(
            name=name, verified=False, code="audit_worker_chain_missing",
            error=f"{root / WORKERS_MANIFEST} does not name the chain {name}, which was signed"))
    return verdicts
