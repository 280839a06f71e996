"""Attestations: in-toto Statements over report files, DSSE envelopes, Sigstore v0.3 bundles.

>>> from governance.attest import EphemeralKeySigner, sign_directory, verify_bundle, verify_subjects

Signing: :func:`statement_for_directory` → a :class:`Signer` (:class:`KeySigner`,
:class:`EphemeralKeySigner`, :class:`SigstoreKeylessSigner`; or :func:`signer_for` by mode
name) → :func:`write_bundle`; :func:`sign_directory` does all three.
Verifying: :func:`verify_bundle` (signature first, then the Statement) and
:func:`verify_subjects` (every file exactly as signed, nothing missing, nothing extra).
Keys: :func:`generate_keypair`, :func:`load_private_key`, :func:`load_public_key`, :func:`key_id`.
"""

from governance.attest._bundle import (
    BUNDLE_MEDIA_TYPE,
    ParsedBundle,
    bundle_json,
    key_bundle,
    parse_bundle,
    write_bundle,
)
from governance.attest._dsse import pae
from governance.attest._errors import (
    BundleFormatError,
    IdentityMismatch,
    KeyExistsError,
    KeyFileError,
    KeyMismatch,
    SignatureError,
    SignatureMismatch,
    SigningError,
    StatementError,
    SubjectDigestMismatch,
    SubjectError,
    SubjectMissing,
    SubjectUnlisted,
)
from governance.attest._key_signer import EphemeralKeySigner, KeySigner
from governance.attest._keyless_signer import SigstoreKeylessSigner
from governance.attest._keys import (
    PRIVATE_KEY_FILENAME,
    PUBLIC_KEY_FILENAME,
    KeyPairFiles,
    generate_keypair,
    key_id,
    load_private_key,
    load_public_key,
    public_pem,
)
from governance.attest._sign import sign_directory, sign_statement
from governance.attest._signer import SIGNER_KINDS, Signer, signer_for
from governance.attest._statement import (
    BUNDLE_FILENAME,
    CHAOS_REPORT_PREDICATE,
    INTOTO_PAYLOAD_TYPE,
    STATEMENT_TYPE,
    Statement,
    Subject,
    statement_for_directory,
)
from governance.attest._verify import verify_bundle, verify_subjects

__all__ = [
    "BUNDLE_FILENAME",
    "BUNDLE_MEDIA_TYPE",
    "CHAOS_REPORT_PREDICATE",
    "INTOTO_PAYLOAD_TYPE",
    "PRIVATE_KEY_FILENAME",
    "PUBLIC_KEY_FILENAME",
    "SIGNER_KINDS",
    "STATEMENT_TYPE",
    "BundleFormatError",
    "EphemeralKeySigner",
    "IdentityMismatch",
    "KeyExistsError",
    "KeyFileError",
    "KeyMismatch",
    "KeyPairFiles",
    "KeySigner",
    "ParsedBundle",
    "SignatureError",
    "SignatureMismatch",
    "Signer",
    "SigningError",
    "SigstoreKeylessSigner",
    "Statement",
    "StatementError",
    "Subject",
    "SubjectDigestMismatch",
    "SubjectError",
    "SubjectMissing",
    "SubjectUnlisted",
    "bundle_json",
    "generate_keypair",
    "key_bundle",
    "key_id",
    "load_private_key",
    "load_public_key",
    "pae",
    "parse_bundle",
    "public_pem",
    "sign_directory",
    "sign_statement",
    "signer_for",
    "statement_for_directory",
    "verify_bundle",
    "verify_subjects",
    "write_bundle",
]
