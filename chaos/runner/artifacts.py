"""The files of a report directory that the runner writes beside ``report.json``.

- ``requests.jsonl`` — one :class:`~chaos.report.records.RequestRecord` per line;
- ``upstream-requests.jsonl`` — every request the simulated upstreams received (ground truth);
- ``gateway-config.yaml`` — the gateway config as filled from the scenario's template;
- ``scenario.yaml`` — the scenario byte for byte as run (only when its digest still matches);
- the gateway's audit log (``audit.jsonl`` or the segment directory ``audit/``), collected and
  verified here (:func:`collect_audit`); with ``target.workers`` above 1, ``audit/`` holds one
  chain per worker (``worker-<i>/``) and ``workers.json``, and every chain is verified.

:func:`write_artifacts` returns the names of every file of the directory, which the report lists
and signing covers.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import orjson

from chaos.report.model import REPORT_FILE, AuditChain, AuditInfo
from chaos.report.records import RequestRecord
from chaos.scenario.loader import LoadedScenario

REQUESTS_FILE = "requests.jsonl"
UPSTREAM_FILE = "upstream-requests.jsonl"
CONFIG_FILE = "gateway-config.yaml"
SCENARIO_FILE = "scenario.yaml"
AUDIT_DIR = "audit"  # ${audit_dir}: the gateway's segment directory inside the run directory
WORKERS_MANIFEST = "workers.json"  # in AUDIT_DIR: one chain per gateway worker (--workers N)


def copy_scenario(loaded: LoadedScenario, run_dir: Path) -> tuple[str | None, str | None]:
    """Copy the scenario YAML, byte for byte as run, into ``run_dir``.

    Returns ``(file name, None)``, or ``(None, problem)`` when it cannot be read or changed
    since it was loaded (``report.json`` keeps the digest of what ran).
    """
    try:
        raw = loaded.path.read_bytes()
    except OSError as exc:
        return None, f"could not copy the scenario file: {exc.strerror or exc}"
    if hashlib.sha256(raw).hexdigest() != loaded.sha256:
        return None, (f"the scenario file {loaded.path} changed during the run: not copied "
                      "(report.json keeps the digest of what ran)")
    (run_dir / SCENARIO_FILE).write_bytes(raw)
    return SCENARIO_FILE, None


def collect_audit(path: Path | None, run_dir: Path) -> AuditInfo:
    """Collect and verify the gateway's audit log: ``path`` (``audit.jsonl``) or the segment
    directory ``audit/`` (``${audit_dir}``), whose interrupted seals are finished first (a gateway
    that had to be killed), the whole chain verified across segments. Never raises: what is
    wrong is :attr:`AuditInfo.error`."""
    if path is None:
        return AuditInfo(file=None, error="no audit log (external gateway)")
    segments = run_dir / AUDIT_DIR
    if segments.is_dir():
        if path.exists():
            return AuditInfo(file=path.name, error=f"the gateway wrote both {path.name} and"
                             f" {AUDIT_DIR}/: which one is the audit log is ambiguous")
        path = segments
    if not path.exists():
        return AuditInfo(file=path.name, error="the gateway wrote no audit log")
    if path.is_dir() and (path / WORKERS_MANIFEST).exists():
        return _collect_worker_set(path)
    try:
        from governance.audit import recover_audit_log, verify_audit_log

        if path.is_dir():
            recover_audit_log(path)  # finish a seal a killed gateway left
            (path / ".audit.lock").unlink(missing_ok=True)  # not part of the evidence
        summary = verify_audit_log(path)
    except Exception as exc:
        return AuditInfo(file=path.name, error=str(exc))
    return AuditInfo(file=path.name, head=summary.head_hash, records=summary.count,
                     verified=True)


def _collect_worker_set(path: Path) -> AuditInfo:
    """The chains of a ``--workers N`` gateway: each recovered and verified; the set verifies
    only if every chain the manifest names is there and verifies."""
    from governance.audit import (
        read_worker_set,
        recover_audit_log,
        verify_worker_set,
        worker_set_head,
    )

    try:
        manifest = read_worker_set(path)
        assert manifest is not None
        for name in manifest.chains:
            chain = path / name
            if chain.is_dir():
                recover_audit_log(chain)  # finish a seal a killed worker left
                (chain / ".audit.lock").unlink(missing_ok=True)
        verdicts = verify_worker_set(path)
    except Exception as exc:
        return AuditInfo(file=path.name, error=str(exc))
    chains = tuple(AuditChain(name=v.name, records=v.records, head=v.head, verified=v.verified,
                              error=v.error) for v in verdicts)
    bad = [v for v in verdicts if not v.verified]
    if bad:
        more = f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""
        return AuditInfo(file=path.name, chains=chains,
                         error=f"worker chain {bad[0].name}: {bad[0].error}{more}")
    return AuditInfo(file=path.name, head=worker_set_head(verdicts),
                     records=sum(v.records or 0 for v in verdicts), verified=True, chains=chains)


def write_artifacts(
    run_dir: Path, records: Sequence[RequestRecord], entries: Iterable[Any],
    config_text: str | None,
) -> tuple[str, ...]:
    """Write the request records, the upstream log and the gateway config; return every file
    name of ``run_dir`` (``report.json`` included, audit segments as ``audit/<name>``)."""
    with open(run_dir / REQUESTS_FILE, "wb") as out:
        for record in records:
            out.write(orjson.dumps(record.model_dump(mode="json")) + b"\n")
    with open(run_dir / UPSTREAM_FILE, "wb") as out:
        for entry in entries:
            data = entry.model_dump(mode="json") if hasattr(entry, "model_dump") else entry
            out.write(orjson.dumps(data) + b"\n")
    if config_text is not None:
        (run_dir / CONFIG_FILE).write_text(config_text, encoding="utf-8")
    names = {p.name for p in run_dir.iterdir() if p.is_file() and not p.name.startswith(".")}
    segments = run_dir / AUDIT_DIR
    if segments.is_dir():  # the audit segments are signed like every other file
        names |= {p.relative_to(run_dir).as_posix() for p in segments.rglob("*")
                  if p.is_file() and not p.name.startswith(".")}  # worker-<i>/ chains too
    return tuple(sorted(names | {REPORT_FILE}))
