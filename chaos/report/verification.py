"""What ``govchaos report verify`` answers: one :class:`Check` per check of
:mod:`chaos.report.verify` (``ok``, ``fail`` or ``skip``, with the file, line, field or audit
seq it is about) and the :class:`Verification` they add up to.

>>> failed("completeness", detail="x.json is missing").status
'fail'
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from governance.errors import GovchaosError

Status = Literal["ok", "fail", "skip"]
CHECKS = ("bundle signature", "signer origin", "subject digests", "completeness", "audit chain",
          "report schema", "predicate consistency")
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


def failed(name: str, exc: GovchaosError | None = None, detail: str = "", **kw: Any) -> Check:
    if exc is not None:
        loc = exc.location
        return Check(name=name, status="fail", detail=detail or exc.message, code=exc.code,
                     file=kw.pop("file", None) or (loc.file if loc else None),
                     line=loc.line if loc else None, field=loc.field if loc else None, **kw)
    return Check(name=name, status="fail", detail=detail, **kw)
