"""Signing a report directory: which signer, what the predicate says, how to verify it.

>>> info = SigningInfo(mode="ephemeral", key_id="ab" * 32, public_key_file=EPHEMERAL_PUBLIC_KEY)
>>> verify_command("reports/run-1", info)
'govchaos report verify reports/run-1'
>>> verify_command("reports/run-1", SigningInfo(mode="key", key_id="ab" * 32))
'govchaos report verify reports/run-1 --key govchaos-signing.pub'

Modes: ``key`` (an organisation ECDSA P-256 key, ``--key KEY``), ``ephemeral`` (a fresh key per
run; its public half is written into the directory as ``signing-key.pub`` and the report says
the signature proves integrity, not origin), ``keyless`` (Sigstore, for an OIDC identity).
The predicate carries the facts an auditor checks against ``report.json`` (run id, verdict,
digests, audit chain head) and the signing mode, so the mode itself is signed.
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from chaos.report.model import Report
from governance.attest import PUBLIC_KEY_FILENAME, Signer, signer_for

EPHEMERAL_PUBLIC_KEY = "signing-key.pub"
PREDICATE_VERSION = "1"
SigningMode = Literal["key", "ephemeral", "keyless"]


class SigningInfo(BaseModel):
    """How a report is (to be) signed; rendered into report.html/report.md and the predicate."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    mode: SigningMode
    key_id: str | None = None  # sha256 of the DER public key (key and ephemeral modes)
    public_key_file: str | None = None  # in the report directory (ephemeral mode)
    identity: str | None = None  # keyless: certificate identity
    issuer: str | None = None  # keyless: OIDC issuer

    @property
    def ephemeral(self) -> bool:
        return self.mode == "ephemeral"


def make_signer(
    *,
    key: str | os.PathLike[str] | None = None,
    keyless: bool = False,
    identity_token: str | None = None,
) -> tuple[Signer, SigningInfo]:
    """The signer for the requested mode and what the report will say about it.

    Raises :class:`~governance.attest.KeyFileError` (unusable key) and
    :class:`~governance.attest.SigningError` (keyless without a usable OIDC token), both exit 2.
    """
    if key is not None and keyless:
        from chaos.report.errors import ReportUsageError

        raise ReportUsageError("--key and --keyless are mutually exclusive")
    if keyless:
        signer = signer_for("keyless", identity_token=identity_token)
        return signer, SigningInfo(
            mode="keyless",
            identity=getattr(signer, "identity", None),
            issuer=getattr(signer, "issuer", None),
        )
    if key is not None:
        signer = signer_for("key", key_path=key)
        return signer, SigningInfo(mode="key", key_id=getattr(signer, "key_id", None))
    signer = signer_for("ephemeral")
    return signer, SigningInfo(
        mode="ephemeral",
        key_id=getattr(signer, "key_id", None),
        public_key_file=EPHEMERAL_PUBLIC_KEY,
    )


def predicate_for(report: Report, signing: SigningInfo) -> dict[str, Any]:
    """The signed summary of a run (the in-toto predicate)."""
    return {
        "predicate_version": PREDICATE_VERSION,
        "run_id": report.run_id,
        "scenario": {"name": report.scenario.name, "sha256": report.scenario.sha256,
                     "file": report.scenario.file},
        "verdict": report.verdict,
        "partial": report.partial,
        "seed": report.seed,
        "started_at": report.started_at,
        "ended_at": report.ended_at,
        "report_schema_version": report.schema_version,
        "policy": {"bundle": report.policy.bundle, "sha256": report.policy.sha256},
        "gateway": {"kind": report.gateway.kind, "config_sha256": report.gateway.config_sha256},
        "audit": {
            "file": report.audit.file,
            "head": report.audit.head,
            "records": report.audit.records,
            **({"chains": [{"name": c.name, "head": c.head, "records": c.records}
                           for c in report.audit.chains]}
               if report.audit.chains is not None else {}),
        },
        "provenance": report.provenance.model_dump(mode="json"),
        "signing": {
            "mode": signing.mode,
            "ephemeral": signing.ephemeral,
            "key_id": signing.key_id,
            "identity": signing.identity,
            "issuer": signing.issuer,
        },
    }


def verify_command(run_dir: str | os.PathLike[str], signing: SigningInfo) -> str:
    """The one command that verifies this report (as an auditor would type it)."""
    base = f"govchaos report verify {shlex.quote(str(run_dir))}"
    if signing.mode == "key":
        return f"{base} --key {PUBLIC_KEY_FILENAME}"
    if signing.mode == "keyless":
        identity = shlex.quote(signing.identity or "IDENTITY")
        issuer = shlex.quote(signing.issuer or "ISSUER")
        return f"{base} --cert-identity {identity} --cert-oidc-issuer {issuer}"
    return base


def write_ephemeral_key(signer: Signer, run_dir: Path, info: SigningInfo) -> Path | None:
    """Write the ephemeral key's public half into the report directory (ephemeral mode only)."""
    if info.mode != "ephemeral" or info.public_key_file is None:
        return None
    path = run_dir / info.public_key_file
    path.write_bytes(signer.public_pem)  # type: ignore[attr-defined]
    return path
