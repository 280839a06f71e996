"""Signing a report directory: statement over its files, DSSE, Sigstore bundle on disk."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from governance.attest._bundle import write_bundle
from governance.attest._signer import Signer
from governance.attest._statement import (
    BUNDLE_FILENAME,
    INTOTO_PAYLOAD_TYPE,
    Statement,
    statement_for_directory,
)


def sign_statement(statement: Statement, signer: Signer, path: str | os.PathLike[str]) -> Path:
    """Sign ``statement`` with ``signer`` and write the bundle to ``path``."""
    bundle = signer.sign(INTOTO_PAYLOAD_TYPE, statement.to_payload())
    return write_bundle(bundle, path)


def sign_directory(
    directory: str | os.PathLike[str],
    predicate: dict[str, Any],
    signer: Signer,
    *,
    bundle_name: str = BUNDLE_FILENAME,
) -> Path:
    """Sign every file of ``directory`` (except the bundle itself) into ``<dir>/<bundle_name>``.

    Raises :class:`StatementError` (empty directory, symlinks), :class:`SigningError`.
    """
    statement = statement_for_directory(directory, predicate, exclude=(bundle_name,))
    return sign_statement(statement, signer, Path(directory) / bundle_name)
