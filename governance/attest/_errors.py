"""Errors raised while signing and verifying attestations.

    SignatureError (exit 1)             a bundle, signature or subject does not verify
     ├── BundleFormatError              the bundle is not a well-formed Sigstore v0.3 DSSE bundle
     ├── SignatureMismatch              the signature does not verify over the envelope's PAE
     │    └── KeyMismatch               the bundle was signed with a different key than the one given
     ├── IdentityMismatch               keyless: certificate identity/issuer or transparency log fail
     ├── StatementError                 the (signed) payload is not the expected in-toto Statement
     └── SubjectError                   the directory does not match the statement's subjects
          ├── SubjectDigestMismatch     a file's sha256 differs from the signed digest
          ├── SubjectMissing            a signed file is absent
          └── SubjectUnlisted           a file is present that was not signed
    GovernanceError
     ├── KeyFileError (exit 2)          a key file is missing, unreadable, not PEM, not ECDSA P-256
     │    └── KeyExistsError            refusing to overwrite an existing key
     └── SigningError (exit 2)          signing failed (e.g. keyless: bad token, Sigstore unreachable)
"""

from __future__ import annotations

from governance.errors import GovernanceError, Location, SignatureError

__all__ = [
    "BundleFormatError",
    "IdentityMismatch",
    "KeyExistsError",
    "KeyFileError",
    "KeyMismatch",
    "SignatureError",
    "SignatureMismatch",
    "SigningError",
    "StatementError",
    "SubjectDigestMismatch",
    "SubjectError",
    "SubjectMissing",
    "SubjectUnlisted",
]


class BundleFormatError(SignatureError):
    code = "bundle_invalid"


class SignatureMismatch(SignatureError):
    code = "signature_mismatch"


class KeyMismatch(SignatureMismatch):
    code = "signature_key_mismatch"


class IdentityMismatch(SignatureError):
    code = "signature_identity_mismatch"


class StatementError(SignatureError):
    code = "statement_invalid"


class SubjectError(SignatureError):
    """``problems`` lists every mismatch found (the message leads with the first)."""

    code = "subject_mismatch"

    def __init__(
        self, message: str, *, problems: tuple[str, ...] = (), location: Location | None = None
    ) -> None:
        super().__init__(message, location=location)
        self.problems = problems


class SubjectDigestMismatch(SubjectError):
    code = "subject_digest_mismatch"


class SubjectMissing(SubjectError):
    code = "subject_missing"


class SubjectUnlisted(SubjectError):
    code = "subject_unlisted"


class KeyFileError(GovernanceError):
    code = "key_file_invalid"
    exit_code = 2


class KeyExistsError(KeyFileError):
    code = "key_exists"


class SigningError(GovernanceError):
    code = "signing_failed"
    exit_code = 2
