"""Keyless signing against the Sigstore public-good instance (needs internet and an OIDC token).

Runs only where ``network`` tests are enabled and ``SIGSTORE_ID_TOKEN`` is set by the CI job;
the test reads the environment, the signer never does.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from governance.attest import (
    BUNDLE_FILENAME,
    IdentityMismatch,
    SigstoreKeylessSigner,
    sign_directory,
    verify_bundle,
    verify_subjects,
)


@pytest.mark.network
def test_keyless_sign_and_verify(tmp_path: Path) -> None:
    token = os.environ.get("SIGSTORE_ID_TOKEN")
    if not token:
        pytest.skip("SIGSTORE_ID_TOKEN not set")
    (tmp_path / "report.json").write_text("{}")
    signer = SigstoreKeylessSigner(token)
    sign_directory(tmp_path, {"verdict": "pass"}, signer)
    statement = verify_bundle(
        tmp_path / BUNDLE_FILENAME, identity=(signer.identity, signer.issuer)
    )
    assert verify_subjects(statement, tmp_path) == ("report.json",)
    with pytest.raises(IdentityMismatch):
        verify_bundle(tmp_path / BUNDLE_FILENAME, identity=("nobody@example.com", signer.issuer))
