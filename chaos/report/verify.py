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
from typing import Any

from chaos.report.errors import ReportDirError, ReportUsageError
from chaos.report.model import REPORT_FILE
from chaos.report.signing import EPHEMERAL_PUBLIC_KEY
from chaos.report.verification import CHECKS, Check, KeySource, Verification, failed
from chaos.report.verify_contents import check_audit, check_consistency, check_schema, check_subjects
from governance.attest import (
    BUNDLE_FILENAME,
    KeyFileError,
    SignatureError,
    Statement,
    bundle_json,
    key_id,
    load_public_key,
    parse_bundle,
    verify_bundle,
)
from governance.errors import GovchaosError

_KEY_ID = re.compile(r"[0-9a-f]{64}")
__all__ = ["CHECKS", "Check", "Verification", "verify_report"]


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
    checks += check_subjects(statement, root)
    predicate = statement.predicate
    checks.append(check_audit(root, predicate))
    signed_report = any(sub.name == REPORT_FILE for sub in statement.subject)
    report, schema_check = check_schema(root, signed_report)
    checks.append(schema_check)
    checks.append(check_consistency(predicate, report, kid, source, schema_check, root))
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
            return failed(name, code="key_not_expected",
                         detail=f"signed by key {kid}, not by the expected key {expected}: "
                         "the report was re-signed by someone else")
        return Check(name=name, status="ok", detail=f"signed by the expected key {kid}")
    if source == "given key":
        return Check(name=name, status="ok", detail=f"signed by the given key {kid}")
    if required:
        return failed(name, code="origin_not_pinned",
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
        return None, None, failed(name, detail=f"{BUNDLE_FILENAME} is missing: the report is not signed",
                                 file=str(bundle_path), code="bundle_missing")
    if source == "report's signing-key.pub":
        try:
            public_key = load_public_key(root / EPHEMERAL_PUBLIC_KEY)
        except KeyFileError as exc:  # the report's own file: a broken one is a failed check
            return None, None, failed(name, exc, file=str(root / EPHEMERAL_PUBLIC_KEY))
    kid = key_id(public_key) if public_key is not None else None
    try:
        raw = bundle_path.read_bytes()
        if public_key is not None:
            statement = verify_bundle(bundle_path, key=public_key)
        else:
            statement = verify_bundle(bundle_path, identity=identity, offline=offline)
    except SignatureError as exc:
        return None, kid, failed(name, exc, file=str(bundle_path))
    except OSError as exc:
        return None, kid, failed(name, detail=f"cannot read: {exc}", file=str(bundle_path))
    if bundle_json(parse_bundle(raw).bundle) != raw:
        return None, kid, failed(
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


