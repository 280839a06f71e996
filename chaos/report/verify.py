"""``govchaos report verify``: is a report directory authentic and complete?

>>> result = verify_report("reports/run-1", key="govchaos-signing.pub")   # doctest: +SKIP
>>> result.valid, [c.name for c in result.checks]                         # doctest: +SKIP
(True, ['bundle signature', 'subject digests', 'completeness', 'audit chain', 'report schema',
 'predicate consistency'])

Checks, each reported ``ok``, ``fail`` or ``skip``:

1. **bundle signature** — the Sigstore bundle verifies with the given key (``--key``), the given
   keyless identity, or — for an ephemeral-key report — the report's own ``signing-key.pub``
   (integrity, not origin); and the bundle file is byte for byte what govchaos wrote (JSON
   re-formatting would otherwise go unnoticed, the bundle not being its own subject). Nothing
   else is trusted before this passes: if it fails, every later check is skipped.
2. **signer origin** — who signed: ``ok`` when the signature is by a key the verifier supplied
   (``--key``), by the key id the verifier expected (``expect_key_id``), or by a pinned keyless
   identity; ``skip`` when it only verified against the report's own ``signing-key.pub`` (anyone
   can re-sign an edited report that way); ``fail`` when ``require_origin`` asks for a pinned
   signer and there is none, or the key is not the expected one.
3. **subject digests** — every signed file has the signed sha256.
4. **completeness** — no signed file is missing, no file is present that was not signed.
5. **audit chain** — the audit log (one file, or a directory of sealed segments walked as one
   chain, each against its manifest) verifies from seq 0 up to exactly the head in the predicate.
6. **report schema** — ``report.json`` is valid against its published JSON Schema.
7. **predicate consistency** — run id, verdict, digests, audit head and signing key in the
   signed predicate equal those in ``report.json`` and the key that verified.

A report is valid when no check fails. Once the signature verifies, :attr:`Verification.verdict`
is the verdict *as signed* (a valid report of a failed run is still a failed run). :class:`ReportDirError` / :class:`ReportUsageError` /
``KeyFileError`` (exit 2) are raised only for bad *input* (not a directory, no key to verify
with, an unreadable ``--key`` file); everything wrong with the report itself is a failed check.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict

from chaos.report.errors import ReportDirError, ReportUsageError
from chaos.report.signing import EPHEMERAL_PUBLIC_KEY
from chaos.report.model import REPORT_FILE, Report, report_json_schema
from governance.attest import (
    BUNDLE_FILENAME,
    KeyFileError,
    SignatureError,
    Statement,
    SubjectError,
    bundle_json,
    key_id,
    load_public_key,
    parse_bundle,
    verify_bundle,
    verify_subjects,
)
from governance.attest._statement import sha256_file
from governance.errors import AuditChainError, GovchaosError

Status = Literal["ok", "fail", "skip"]
CHECKS = ("bundle signature", "signer origin", "subject digests", "completeness", "audit chain",
          "report schema", "predicate consistency")
_KEY_ID = re.compile(r"[0-9a-f]{64}")
KeySource = Literal["given key", "report's signing-key.pub", "keyless identity"]


class Check(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    status: Status
    detail: str
    file: str | None = None
    line: int | None = None
    field: str | None = None
    seq: int | None = None  # the first bad audit record
    code: str | None = None


class Verification(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    directory: str
    valid: bool
    checks: tuple[Check, ...]
    key_source: KeySource | None
    key_id: str | None
    integrity_only: bool  # verified against a key the report itself carries, no id pinned
    signing_mode: str | None  # from the signed predicate (None if it could not be trusted)
    origin_pinned: bool = False  # signed by --key, the expected key id, or a keyless identity
    # From the signed predicate, only once the signature verified (None otherwise):
    verdict: str | None = None
    partial: bool | None = None
    run_id: str | None = None
    scenario: str | None = None
    # verificationMaterial.publicKey.hint: NOT authenticated (anyone can write any hint).
    key_hint: str | None = None

    @property
    def first_failure(self) -> Check | None:
        return next((c for c in self.checks if c.status == "fail"), None)

    @property
    def valid_summary(self) -> str:
        """The closing line for a valid report; it mentions the audit chain only if one was
        checked (a run against an external gateway records none)."""
        audit = next((c for c in self.checks if c.name == "audit chain"), None)
        if audit is not None and audit.status == "ok":
            return "VALID: every file is exactly as signed and the audit chain ends at the signed head"
        return ("VALID: every file is exactly as signed; there is no audit chain to check "
                "(the run recorded none: external gateway)")


def _fail(name: str, exc: GovchaosError | None = None, detail: str = "", **kw: Any) -> Check:
    if exc is not None:
        loc = exc.location
        return Check(name=name, status="fail", detail=detail or exc.message, code=exc.code,
                     file=kw.pop("file", None) or (loc.file if loc else None),
                     line=loc.line if loc else None, field=loc.field if loc else None, **kw)
    return Check(name=name, status="fail", detail=detail, **kw)


def verify_report(
    directory: str | os.PathLike[str],
    *,
    key: str | os.PathLike[str] | None = None,
    identity: tuple[str, str] | None = None,
    offline: bool = False,
    expect_key_id: str | None = None,
    require_origin: bool = False,
) -> Verification:
    """Run every check on ``directory`` (see the module docstring).

    ``expect_key_id`` (64 hex digits, the sha256 of the signer's DER public key) pins the key:
    the signature must be by exactly that key. ``require_origin`` makes an unpinned signature
    (only the report's own ``signing-key.pub``) a failed check instead of a note.

    Raises :class:`ReportDirError` (not a directory), :class:`ReportUsageError` (``key`` and
    ``identity`` both given, or neither and the report has no ``signing-key.pub``; a malformed
    ``expect_key_id``, or one given with ``identity``),
    :class:`~governance.attest.KeyFileError` (``key`` cannot be loaded).
    """
    root = Path(directory)
    if not root.is_dir():
        raise ReportDirError(f"not a directory: {root}")
    if key is not None and identity is not None:
        raise ReportUsageError("give either --key or --cert-identity/--cert-oidc-issuer, not both")
    if expect_key_id is not None:
        expect_key_id = expect_key_id.strip().lower()
        if not _KEY_ID.fullmatch(expect_key_id):
            raise ReportUsageError(
                "--expect-key-id: expected the full key id, 64 hex digits (the sha256 of the "
                "signer's DER public key, as `govchaos keys generate` and `report verify` print it)")
        if identity is not None:
            raise ReportUsageError("--expect-key-id pins a signing key; a keyless report is pinned "
                                   "by --cert-identity and --cert-oidc-issuer instead")
    public_key = None
    source: KeySource | None
    if identity is not None:
        source = "keyless identity"
    elif key is not None:
        source = "given key"
        public_key = load_public_key(key)  # the caller's file: unreadable is a usage error
    elif (root / EPHEMERAL_PUBLIC_KEY).exists():
        source = "report's signing-key.pub"
    else:
        raise ReportUsageError(
            f"{root} has no {EPHEMERAL_PUBLIC_KEY}, so it was not signed with an ephemeral key"
            " (or that file was removed): give the signer's public key with --key PUB, or"
            " --cert-identity ID --cert-oidc-issuer URL for a keyless report"
        )
    checks: list[Check] = []
    bundle_path = root / BUNDLE_FILENAME
    statement, kid, signature = _check_signature(bundle_path, root, public_key, identity, offline, source)
    checks.append(signature)
    hint = _key_hint(bundle_path)
    if statement is None:
        why = "not checked: the signature did not verify, so nothing in the report can be trusted"
        checks += [Check(name=n, status="skip", detail=why) for n in CHECKS[1:]]
        return _result(root, checks, source, kid, None, hint=hint)
    origin = _check_origin(source, kid, identity, expect_key_id, require_origin)
    checks.append(origin)
    checks += _check_subjects(statement, root)
    predicate = statement.predicate
    checks.append(_check_audit(root, predicate))
    signed_report = any(sub.name == REPORT_FILE for sub in statement.subject)
    report, schema_check = _check_schema(root, signed_report)
    checks.append(schema_check)
    checks.append(_check_consistency(predicate, report, kid, source, schema_check, root))
    mode = (predicate.get("signing") or {}).get("mode") if isinstance(predicate.get("signing"), dict) else None
    return _result(root, checks, source, kid, mode, hint=hint, predicate=predicate,
                   pinned=origin.status == "ok")


def _result(root: Path, checks: list[Check], source: KeySource | None, kid: str | None,
            mode: str | None, *, hint: str | None = None, predicate: dict[str, Any] | None = None,
            pinned: bool = False) -> Verification:
    signed = predicate or {}

    def text(value: Any) -> str | None:
        return value if isinstance(value, str) else None

    scenario = signed.get("scenario")
    return Verification(
        directory=str(root), valid=all(c.status != "fail" for c in checks), checks=tuple(checks),
        key_source=source, key_id=kid,
        integrity_only=source == "report's signing-key.pub" and not pinned,
        signing_mode=mode, origin_pinned=pinned,
        verdict=text(signed.get("verdict")),
        partial=signed.get("partial") if isinstance(signed.get("partial"), bool) else None,
        run_id=text(signed.get("run_id")),
        scenario=text(scenario.get("name")) if isinstance(scenario, dict) else None,
        key_hint=hint,
    )


def _key_hint(bundle_path: Path) -> str | None:
    """The bundle's own claim about its key (unauthenticated; shown only as a hint)."""
    try:
        return parse_bundle(bundle_path).key_hint
    except (GovchaosError, OSError):
        return None


def _check_origin(source: KeySource | None, kid: str | None, identity: tuple[str, str] | None,
                  expected: str | None, required: bool) -> Check:
    name = "signer origin"
    if identity is not None:
        return Check(name=name, status="ok",
                     detail=f"pinned keyless identity {identity[0]} (issuer {identity[1]})")
    if expected is not None:
        if kid != expected:
            return _fail(name, code="key_not_expected",
                         detail=f"signed by key {kid}, not by the expected key {expected}: "
                         "the report was re-signed by someone else")
        return Check(name=name, status="ok", detail=f"signed by the expected key {kid}")
    if source == "given key":
        return Check(name=name, status="ok", detail=f"signed by the given key {kid}")
    if required:
        return _fail(name, code="origin_not_pinned",
                     detail="--require-origin: the signature only verifies against the report's "
                     "own signing-key.pub, which anyone who edits the report can replace; give "
                     "--key PUB, --expect-key-id ID or --cert-identity/--cert-oidc-issuer")
    return Check(name=name, status="skip",
                 detail=f"not pinned: key {kid} came with the report (integrity, not origin); "
                 "pin it with --expect-key-id or --key")


def _check_signature(
    bundle_path: Path, root: Path, public_key: Any, identity: tuple[str, str] | None,
    offline: bool, source: KeySource | None,
) -> tuple[Statement | None, str | None, Check]:
    name = "bundle signature"
    if not bundle_path.is_file():
        return None, None, _fail(name, detail=f"{BUNDLE_FILENAME} is missing: the report is not signed",
                                 file=str(bundle_path), code="bundle_missing")
    if source == "report's signing-key.pub":
        try:
            public_key = load_public_key(root / EPHEMERAL_PUBLIC_KEY)
        except KeyFileError as exc:  # the report's own file: a broken one is a failed check
            return None, None, _fail(name, exc, file=str(root / EPHEMERAL_PUBLIC_KEY))
    kid = key_id(public_key) if public_key is not None else None
    try:
        raw = bundle_path.read_bytes()
        if public_key is not None:
            statement = verify_bundle(bundle_path, key=public_key)
        else:
            statement = verify_bundle(bundle_path, identity=identity, offline=offline)
    except SignatureError as exc:
        return None, kid, _fail(name, exc, file=str(bundle_path))
    except OSError as exc:
        return None, kid, _fail(name, detail=f"cannot read: {exc}", file=str(bundle_path))
    if bundle_json(parse_bundle(raw).bundle) != raw:
        return None, kid, _fail(
            name, file=str(bundle_path), code="bundle_reformatted",
            detail=f"{BUNDLE_FILENAME} verifies but is not byte for byte the bundle govchaos"
            " wrote: it was edited after signing",
        )
    if public_key is not None:
        how = ("the report's own signing-key.pub (ephemeral: proves integrity, not origin)"
               if source == "report's signing-key.pub" else "the given key")
        detail = f"ECDSA P-256 signature verifies with key {kid[:16]}… from {how}"
    else:
        assert identity is not None
        detail = f"keyless signature verifies for {identity[0]} (issuer {identity[1]})"
    return statement, kid, Check(name=name, status="ok", detail=detail, file=str(bundle_path))


def _check_subjects(statement: Statement, root: Path) -> list[Check]:
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


def _check_audit(root: Path, predicate: dict[str, Any]) -> Check:
    from governance.audit import AuditHead, verify_audit_log

    name = "audit chain"
    audit = predicate.get("audit")
    if not isinstance(audit, dict):
        return _fail(name, detail="the signed predicate has no audit section", code="predicate_invalid")
    file, head, records = audit.get("file"), audit.get("head"), audit.get("records")
    if file is None:
        return Check(name=name, status="skip",
                     detail="the run recorded no audit log (external gateway): nothing to check")
    if not isinstance(file, str) or "/" in file or "\\" in file or file in ("", ".", ".."):
        return _fail(name, detail=f"unsafe audit file name {file!r} in the predicate",
                     code="predicate_invalid")
    if not isinstance(head, str) or not isinstance(records, int) or records < 0:
        return _fail(name, file=str(root / file), code="audit_head_unknown",
                     detail="the signed predicate names no audit chain head: the audit log did not"
                     " verify when the run ended, so it cannot be checked now")
    expected = AuditHead(seq=records - 1, hash=head) if records else AuditHead.empty()
    try:
        summary = verify_audit_log(root / file, expected_head=expected)
    except AuditChainError as exc:
        seq = getattr(exc, "seq", None)
        return _fail(name, exc, file=str(root / file), seq=seq)
    across = f" across {summary.segments} segments" if summary.segments else ""
    return Check(name=name, status="ok", file=str(root / file),
                 detail=f"{summary.count} records chain from seq 0 to the signed head{across}"
                 f" (seq {summary.head.seq}, {summary.head_hash[:12]}…)")


def _check_schema(root: Path, signed: bool) -> tuple[Report | None, Check]:
    import jsonschema

    name = "report schema"
    path = root / REPORT_FILE
    if not path.exists() and not path.is_symlink():
        if signed:  # "completeness" already fails naming the missing file: one failure, not two
            return None, Check(name=name, status="skip", file=str(path),
                               detail=f"skipped: needs {REPORT_FILE}, which is missing")
        return None, _fail(name, detail=f"{REPORT_FILE} is missing and was never signed: "
                           "this is not a report directory", file=str(path), code="report_invalid")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return None, _fail(name, detail=f"{REPORT_FILE} cannot be read: {exc.strerror or exc}",
                           file=str(path), code="report_invalid")
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        return None, _fail(name, detail=f"{REPORT_FILE} is not readable JSON: {exc}", file=str(path),
                           code="report_invalid")
    validator = jsonschema.Draft202012Validator(report_json_schema())
    errors = sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.absolute_path)))
    if errors:
        first = errors[0]
        field = ".".join(str(p) for p in first.absolute_path) or None
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        return None, _fail(name, detail=f"{first.message}{more}", file=str(path), field=field,
                           code="report_schema_invalid")
    try:
        report = Report.model_validate(data)
    except Exception as exc:  # the schema passed but the model is stricter
        return None, _fail(name, detail=f"valid against the schema but not a report: {exc}",
                           file=str(path), code="report_invalid")
    return report, Check(name=name, status="ok", file=str(path),
                         detail=f"valid against the report JSON Schema (schema_version {report.schema_version})")


def _check_consistency(predicate: dict[str, Any], report: Report | None, kid: str | None,
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
    ]
    if "provenance" in predicate:  # reports signed before provenance existed lack it
        pairs.append(("provenance", get("provenance"), report.provenance.model_dump(mode="json")))
    if source != "keyless identity":
        pairs.append(("signing.key_id", get("signing", "key_id"), kid))
    for field, signed, actual in pairs:
        if signed != actual:
            what = "the key that verified" if field == "signing.key_id" else "report.json"
            return _fail(name, field=field, code="predicate_mismatch",
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
            return _fail(name, field=field, code="predicate_invalid", detail=f"unsafe file name {file!r}")
        try:
            actual = sha256_file(root / file)
        except OSError as exc:
            return _fail(name, field=field, code="predicate_mismatch", file=str(root / file),
                         detail=f"{file} cannot be read: {exc.strerror or exc}")
        if actual != digest:
            return _fail(name, field=field, code="predicate_mismatch", file=str(root / file),
                         detail=f"{file} has sha256 {actual}, but report.json says {field} is {digest}")
    return Check(name=name, status="ok",
                 detail="run id, verdict, digests, provenance, audit head and signing key match "
                 "report.json; the scenario and config copies match their digests")
