"""Verifying a signed report: the bundle's signature first, then what it says about the files.

>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp()); _ = (d / "report.json").write_text("{}")
>>> from governance.attest import EphemeralKeySigner, sign_directory
>>> signer = EphemeralKeySigner()
>>> _ = sign_directory(d, {"verdict": "pass"}, signer)
>>> statement = verify_bundle(d / "report.sigstore.json", key=signer.public_key)
>>> verify_subjects(statement, d)
('report.json',)

Nothing in the payload is looked at before the signature over its PAE verifies.
"""

from __future__ import annotations

import hmac
import os
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from sigstore_models.bundle.v1 import Bundle

from governance.attest._bundle import ParsedBundle, parse_bundle
from governance.attest._dsse import pae
from governance.attest._errors import (
    BundleFormatError,
    IdentityMismatch,
    KeyMismatch,
    SignatureMismatch,
    StatementError,
    SubjectDigestMismatch,
    SubjectError,
    SubjectMissing,
    SubjectUnlisted,
)
from governance.attest._keys import key_id, load_public_key
from governance.attest._statement import (
    BUNDLE_FILENAME,
    CHAOS_REPORT_PREDICATE,
    INTOTO_PAYLOAD_TYPE,
    Statement,
    directory_files,
    sha256_file,
)
from governance.errors import Location

BundleSource = str | os.PathLike[str] | bytes | dict[str, Any] | Bundle


def verify_bundle(
    bundle: BundleSource,
    *,
    key: ec.EllipticCurvePublicKey | str | os.PathLike[str] | None = None,
    identity: tuple[str, str] | None = None,
    predicate_type: str | None = CHAOS_REPORT_PREDICATE,
    offline: bool = False,
) -> Statement:
    """Verify a bundle and return the Statement it signs.

    Exactly one of ``key`` (a public key or a PEM file) or ``identity`` (certificate identity,
    OIDC issuer — keyless bundles, via sigstore) must be given. Raises:

    - :class:`BundleFormatError` — not a v0.3 DSSE bundle, or the wrong mode for the check asked;
    - :class:`KeyMismatch` — the bundle was made with a different key than ``key``;
    - :class:`SignatureMismatch` — the signature does not verify over the envelope (payload,
      payload type or signature edited);
    - :class:`IdentityMismatch` — keyless: certificate, identity, issuer or log entry fail;
    - :class:`StatementError` — the signed payload is not the expected in-toto Statement;
    - :class:`KeyFileError` — ``key`` is a path that cannot be loaded.
    """
    if (key is None) == (identity is None):
        raise ValueError("give exactly one of key= or identity=")
    parsed = parse_bundle(bundle)
    label = str(bundle) if isinstance(bundle, str | os.PathLike) else None
    if key is not None:
        public_key = key if isinstance(key, ec.EllipticCurvePublicKey) else load_public_key(key)
        payload = _verify_with_key(parsed, public_key, label)
    else:
        assert identity is not None
        payload = _verify_keyless(parsed, identity, offline, label)
    if parsed.payload_type != INTOTO_PAYLOAD_TYPE:
        raise StatementError(
            f"payload type is {parsed.payload_type!r}, expected {INTOTO_PAYLOAD_TYPE!r}",
            location=Location(label, field="dsseEnvelope.payloadType"),
        )
    statement = Statement.from_payload(payload)
    if predicate_type is not None and statement.predicate_type != predicate_type:
        raise StatementError(
            f"predicate type is {statement.predicate_type!r}, expected {predicate_type!r}",
            location=Location(label, field="predicateType"),
        )
    return statement


def _verify_with_key(
    parsed: ParsedBundle, public_key: ec.EllipticCurvePublicKey, label: str | None
) -> bytes:
    if parsed.keyless:
        raise BundleFormatError(
            "this bundle was signed keylessly (it carries a certificate); verify it with an"
            " identity and issuer, not a key",
            location=Location(label, field="verificationMaterial"),
        )
    expected_id = key_id(public_key)
    try:
        public_key.verify(
            parsed.signature, pae(parsed.payload_type, parsed.payload), ec.ECDSA(hashes.SHA256())
        )
    except InvalidSignature as exc:
        if parsed.key_hint and not hmac.compare_digest(parsed.key_hint, expected_id):
            # The hint is unauthenticated: say so, so nobody pins a key because of it.
            raise KeyMismatch(
                f"the signature does not verify with the given key {expected_id[:16]}… (wrong key,"
                f" or the report was re-signed); untrusted hint: the bundle claims it was signed"
                f" with key {parsed.key_hint[:16]}…",
                location=Location(label, field="verificationMaterial.publicKey.hint"),
            ) from exc
        raise SignatureMismatch(
            "the signature does not verify over the DSSE envelope: the payload, its type or"
            " the signature was altered",
            location=Location(label, field="dsseEnvelope"),
        ) from exc
    # The hint is unauthenticated, but a verifying signature with a hint naming another key
    # means someone edited the bundle: fail closed rather than ignore it.
    for field, value in (
        ("verificationMaterial.publicKey.hint", parsed.key_hint),
        ("dsseEnvelope.signatures.0.keyid", parsed.keyid),
    ):
        if value and not hmac.compare_digest(value, expected_id):
            raise KeyMismatch(
                f"{field} names key {value[:16]}…, but the signature verifies with key"
                f" {expected_id[:16]}…: the bundle was edited",
                location=Location(label, field=field),
            )
    return parsed.payload


def _verify_keyless(
    parsed: ParsedBundle, identity: tuple[str, str], offline: bool, label: str | None
) -> bytes:
    if not parsed.keyless:
        raise BundleFormatError(
            "this bundle was signed with a key (publicKey); verify it with --key, not an identity",
            location=Location(label, field="verificationMaterial"),
        )
    from sigstore.errors import Error as SigstoreError
    from sigstore.models import Bundle as SigstoreBundle
    from sigstore.verify import Verifier
    from sigstore.verify.policy import Identity

    subject, issuer = identity
    try:
        sig_bundle = SigstoreBundle.from_json(parsed.bundle.to_json())
        verifier = Verifier.production(offline=offline)
        payload_type, payload = verifier.verify_dsse(
            sig_bundle, Identity(identity=subject, issuer=issuer)
        )
    except SigstoreError as exc:
        raise IdentityMismatch(
            f"keyless verification failed: {exc}", location=Location(label)
        ) from exc
    except OSError as exc:
        raise IdentityMismatch(
            f"keyless verification could not fetch Sigstore's trust root: {exc}",
            location=Location(label),
        ) from exc
    if payload_type != parsed.payload_type or payload != parsed.payload:
        raise SignatureMismatch("sigstore verified a different payload than the envelope's")
    return payload


def verify_subjects(
    statement: Statement,
    directory: str | os.PathLike[str],
    *,
    exclude: tuple[str, ...] = (BUNDLE_FILENAME,),
) -> tuple[str, ...]:
    """Check that ``directory`` holds exactly the statement's subjects, byte for byte.

    Returns the verified names. Raises, for the first problem in name order (``problems`` lists
    them all): :class:`SubjectDigestMismatch`, :class:`SubjectMissing`, :class:`SubjectUnlisted`;
    :class:`SubjectError` for an unsafe subject name or a symbolic link in the directory.
    """
    root = Path(directory)
    try:
        present = directory_files(root, exclude)
    except StatementError as exc:
        # The message leads with the relative name ("name: reason"), like every other problem.
        raise SubjectError(exc.message, problems=(exc.message,), location=exc.location) from exc
    problems: list[tuple[str, type[SubjectError], str]] = []
    listed: set[str] = set()
    for subject in statement.subject:
        name = subject.name
        if name.startswith("/") or ".." in name.split("/") or "\\" in name:
            raise SubjectError(f"unsafe subject name {name!r} in the statement")
        listed.add(name)
        signed = subject.digest.get("sha256")
        if not signed:
            problems.append((name, SubjectError, f"{name}: the statement gives no sha256 digest"))
        elif name not in present:
            problems.append((name, SubjectMissing, f"{name}: signed but missing from the directory"))
        elif not hmac.compare_digest(sha256_file(present[name]), signed.lower()):
            problems.append(
                (name, SubjectDigestMismatch, f"{name}: contents differ from what was signed (sha256)")
            )
    for name in present:
        if name not in listed:
            problems.append((name, SubjectUnlisted, f"{name}: present but not signed (extra file)"))
    if problems:
        problems.sort(key=lambda item: item[0])
        name, kind, message = problems[0]
        more = f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""
        raise kind(
            f"{message}{more}",
            problems=tuple(p[2] for p in problems),
            location=Location(str(root / name)),
        )
    return tuple(sorted(listed))
