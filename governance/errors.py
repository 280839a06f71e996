"""Error hierarchy shared by every govchaos package.

    GovchaosError                 root: stable ``code``, message, optional location, exit code
     └── GovernanceError          raised by ``governance`` (engines, policy tests, audit, signing)
          ├── PolicyCompileError  a Rego or data file does not parse/compile (exit 2)
          ├── PolicyInputError    a decision input or data file is invalid (exit 2)
          ├── PolicyEngineError   the engine failed while evaluating (callers fail closed)
          ├── AuditChainError     an audit log does not verify (exit 1)
          └── SignatureError      a signature or attestation does not verify (exit 1)

``gateway.errors.GatewayError`` and ``chaos.errors.ChaosError`` also derive from
:class:`GovchaosError`, so the CLI renders every error in exactly one place via
:meth:`GovchaosError.diagnostics`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Location:
    """Where an error was found: a file, and optionally a line/column or a field path."""

    file: str | None = None
    line: int | None = None
    column: int | None = None
    field: str | None = None

    def __str__(self) -> str:
        parts: list[str] = []
        if self.file:
            parts.append(self.file)
        if self.line is not None:
            parts.append(str(self.line))
            if self.column is not None:
                parts.append(str(self.column))
        text = ":".join(parts)
        if self.field:
            text = f"{text}: {self.field}" if text else self.field
        return text


class GovchaosError(Exception):
    """Base of every error govchaos raises on purpose.

    >>> err = GovchaosError("boom", code="example", location=Location("a.rego", 3, 7))
    >>> err.diagnostics()
    'a.rego:3:7: boom'
    """

    code: str = "govchaos_error"
    exit_code: int = 2

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        location: Location | None = None,
        exit_code: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if exit_code is not None:
            self.exit_code = exit_code
        self.location = location

    def diagnostics(self) -> str:
        """One human-readable line (or a few) saying what went wrong and where."""
        where = str(self.location) if self.location else ""
        return f"{where}: {self.message}" if where else self.message

    def __str__(self) -> str:
        return self.diagnostics()


class GovernanceError(GovchaosError):
    code = "governance_error"


class PolicyCompileError(GovernanceError):
    code = "policy_compile_error"
    exit_code = 2


class PolicyInputError(GovernanceError):
    code = "policy_input_error"
    exit_code = 2


class PolicyEngineError(GovernanceError):
    code = "policy_engine_error"
    exit_code = 2


class AuditChainError(GovernanceError):
    code = "audit_chain_broken"
    exit_code = 1


class SignatureError(GovernanceError):
    code = "signature_invalid"
    exit_code = 1
