"""The checks of ``govchaos report verify`` that read a report's contents, once its signature
verified (:mod:`chaos.report.verify`): subject digests and completeness, the audit chain up to
the signed head, ``report.json`` against its schema, and the signed predicate against
``report.json`` and the input copies.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from chaos.report.model import REPORT_FILE, Report, report_json_schema
from chaos.report.verification import Check, KeySource, failed
from governance.attest import Statement, SubjectError, verify_subjects
from governance.attest._statement import sha256_file
from governance.errors import AuditChainError


def check_subjects(statement: Statement, root: Path) -> list[Check]:
    names = {s.name for s in statement.subject}
    try:
        verified = verify_subjects(statement, root)
    except SubjectError as exc:
        digest: list[str] = []
        presence: list[str] = []
        for problem in exc.problems or (exc.message,):
            subject = problem.split(": ", 1)[0]
            path = root / subject
            if subject in names and path.is_file() and not path.is_symlink():
                digest.append(problem)
            else:
                presence.append(problem)

        def outcome(check: str, items: list[str], ok_detail: str) -> Check:
            if not items:
                return Check(name=check, status="ok", detail=ok_detail)
            first = items[0].split(": ", 1)[0]
            more = f" (and {len(items) - 1} more)" if len(items) > 1 else ""
            return Check(name=check, status="fail", detail=items[0] + more,
                         file=str(root / first), code=exc.code)

        return [
            outcome("subject digests", digest, "every present signed file has its signed sha256"),
            outcome("completeness", presence, "no signed file missing, no unsigned file present"),
        ]
    return [
        Check(name="subject digests", status="ok", detail=f"{len(verified)} files match their signed sha256"),
        Check(name="completeness", status="ok", detail="no signed file missing, no unsigned file present"),
    ]


def check_audit(root: Path, predicate: dict[str, Any]) -> Check:
    from governance.audit import AuditHead, verify_audit_log

    name = "audit chain"
    audit = predicate.get("audit")
    if not isinstance(audit, dict):
        return failed(name, detail="the signed predicate has no audit section", code="predicate_invalid")
    file, head, records = audit.get("file"), audit.get("head"), audit.get("records")
    if file is None:
        return Check(name=name, status="skip",
                     detail="the run recorded no audit log (external gateway): nothing to check")
    if not isinstance(file, str) or "/" in file or "\\" in file or file in ("", ".", ".."):
        return failed(name, detail=f"unsafe audit file name {file!r} in the predicate",
                     code="predicate_invalid")
    target = root / file
    if audit.get("chains") is not None or (target.is_dir() and (target / "workers.json").exists()):
        return _check_worker_set(name, target, audit)
    if not isinstance(head, str) or not isinstance(records, int) or records < 0:
        return failed(name, file=str(root / file), code="audit_head_unknown",
                     detail="the signed predicate names no audit chain head: the audit log did not"
                     " verify when the run ended, so it cannot be checked now")
    expected = AuditHead(seq=records - 1, hash=head) if records else AuditHead.empty()
    try:
        summary = verify_audit_log(root / file, expected_head=expected)
    except AuditChainError as exc:
        seq = getattr(exc, "seq", None)
        return failed(name, exc, file=str(root / file), seq=seq)
    across = f" across {summary.segments} segments" if summary.segments else ""
    return Check(name=name, status="ok", file=str(root / file),
                 detail=f"{summary.count} records chain from seq 0 to the signed head{across}"
                 f" (seq {summary.head.seq}, {summary.head_hash[:12]}…)")


def _check_worker_set(name: str, target: Path, audit: dict[str, Any]) -> Check:
    """The chains of a ``--workers N`` gateway: every chain the signed predicate names is in
    ``workers.json``, there, and verifies to its signed head; the set's head and record count
    match the signed ones."""
    from governance.audit import AuditHead, verify_worker_set, worker_set_head

    chains, head, records = audit.get("chains"), audit.get("head"), audit.get("records")
    if chains is None:
        return failed(name, file=str(target / "workers.json"), code="audit_head_unknown",
                      detail="the audit directory holds one chain per worker (workers.json) but the"
                      " signed predicate names no chain heads: the chains did not verify when"
                      " the run ended, so they cannot be checked now")
    ok = isinstance(chains, list) and chains and all(
        isinstance(c, dict) and isinstance(c.get("name"), str) and isinstance(c.get("head"), str)
        and isinstance(c.get("records"), int) and c["records"] >= 0 for c in chains)
    if not ok or not isinstance(head, str) or not isinstance(records, int):
        return failed(name, file=str(target), code="predicate_invalid",
                      detail="the signed predicate's audit.chains is not a list of"
                      " {name, head, records}")
    expected = {c["name"]: (AuditHead(seq=c["records"] - 1, hash=c["head"]) if c["records"]
                            else AuditHead.empty()) for c in chains}
    try:
        verdicts = verify_worker_set(target, expected)
    except AuditChainError as exc:
        return failed(name, exc, file=str(target))
    bad = [v for v in verdicts if not v.verified]
    if bad:
        more = f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""
        return failed(name, file=str(target / bad[0].name), code=bad[0].code,
                      detail=f"worker chain {bad[0].name}: {bad[0].error}{more}")
    total = sum(v.records or 0 for v in verdicts)
    if worker_set_head(verdicts) != head or total != records:
        return failed(name, file=str(target), code="audit_head_mismatch",
                      detail=f"the worker chains verify but their set head ({total} records) is not"
                      f" the signed one ({records} records)")
    per = ", ".join(f"{v.name} {v.records}" for v in verdicts)
    return Check(name=name, status="ok", file=str(target),
                 detail=f"{len(verdicts)} worker chains each chain from seq 0 to their signed heads"
                 f" ({total} records: {per}; set head {head[:12]}…)")


def check_schema(root: Path, signed: bool) -> tuple[Report | None, Check]:
    import jsonschema

    name = "report schema"
    path = root / REPORT_FILE
    if not path.exists() and not path.is_symlink():
        if signed:  # "completeness" already fails naming the missing file: one failure, not two
            return None, Check(name=name, status="skip", file=str(path),
                               detail=f"skipped: needs {REPORT_FILE}, which is missing")
        return None, failed(name, detail=f"{REPORT_FILE} is missing and was never signed: "
                           "this is not a report directory", file=str(path), code="report_invalid")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return None, failed(name, detail=f"{REPORT_FILE} cannot be read: {exc.strerror or exc}",
                           file=str(path), code="report_invalid")
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        return None, failed(name, detail=f"{REPORT_FILE} is not readable JSON: {exc}", file=str(path),
                           code="report_invalid")
    validator = jsonschema.Draft202012Validator(report_json_schema())
    errors = sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.absolute_path)))
    if errors:
        first = errors[0]
        field = ".".join(str(p) for p in first.absolute_path) or None
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        return None, failed(name, detail=f"{first.message}{more}", file=str(path), field=field,
                           code="report_schema_invalid")
    try:
        report = Report.model_validate(data)
    except Exception as exc:  # the schema passed but the model is stricter
        return None, failed(name, detail=f"valid against the schema but not a report: {exc}",
                           file=str(path), code="report_invalid")
    return report, Check(name=name, status="ok", file=str(path),
                         detail=f"valid against the report JSON Schema (schema_version {report.schema_version})")


def check_consistency(predicate: dict[str, Any], report: Report | None, kid: str | None,
                       source: KeySource | None, schema: Check, root: Path) -> Check:
    name = "predicate consistency"
    if report is None:
        missing = schema.status == "skip"
        return Check(name=name, status="skip",
                     detail=f"skipped: needs {REPORT_FILE}, which is missing" if missing
                     else f"skipped: needs a valid {REPORT_FILE} (see report schema)")

    def get(*path: str) -> Any:
        node: Any = predicate
        for part in path:
            node = node.get(part) if isinstance(node, dict) else None
        return node

    pairs = [
        ("run_id", get("run_id"), report.run_id),
        ("verdict", get("verdict"), report.verdict),
        ("partial", get("partial"), report.partial),
        ("seed", get("seed"), report.seed),
        ("scenario.sha256", get("scenario", "sha256"), report.scenario.sha256),
        ("policy.sha256", get("policy", "sha256"), report.policy.sha256),
        ("gateway.config_sha256", get("gateway", "config_sha256"), report.gateway.config_sha256),
        ("audit.file", get("audit", "file"), report.audit.file),
        ("audit.head", get("audit", "head"), report.audit.head),
        ("audit.records", get("audit", "records"), report.audit.records),
        ("audit.chains", get("audit", "chains"),
         None if report.audit.chains is None else
         [{"name": c.name, "head": c.head, "records": c.records} for c in report.audit.chains]),
    ]
    if "provenance" in predicate:  # reports signed before provenance existed lack it
        pairs.append(("provenance", get("provenance"), report.provenance.model_dump(mode="json")))
    if source != "keyless identity":
        pairs.append(("signing.key_id", get("signing", "key_id"), kid))
    for field, signed, actual in pairs:
        if signed != actual:
            what = "the key that verified" if field == "signing.key_id" else "report.json"
            return failed(name, field=field, code="predicate_mismatch",
                         detail=f"{field}: the signed predicate says {signed!r}, {what} says {actual!r}")
    # The copies of the inputs in the directory are what the digests say (subject digests only
    # prove they are unchanged since signing, not that they are the inputs that ran).
    copies = [("scenario.sha256", report.scenario.file, report.scenario.sha256)]
    if report.gateway.config_sha256 and (root / "gateway-config.yaml").is_file():
        copies.append(("gateway.config_sha256", "gateway-config.yaml", report.gateway.config_sha256))
    for field, file, digest in copies:
        if file is None:
            continue
        if "/" in file or "\\" in file or file in ("", ".", ".."):
            return failed(name, field=field, code="predicate_invalid", detail=f"unsafe file name {file!r}")
        try:
            actual = sha256_file(root / file)
        except OSError as exc:
            return failed(name, field=field, code="predicate_mismatch", file=str(root / file),
                         detail=f"{file} cannot be read: {exc.strerror or exc}")
        if actual != digest:
            return failed(name, field=field, code="predicate_mismatch", file=str(root / file),
                         detail=f"{file} has sha256 {actual}, but report.json says {field} is {digest}")
    return Check(name=name, status="ok",
                 detail="run id, verdict, digests, provenance, audit head and signing key match "
                 "report.json; the scenario and config copies match their digests")
