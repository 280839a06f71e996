"""in-toto Statement v1 over the files of a directory.

>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp()); _ = (d / "report.json").write_text("{}")
>>> st = statement_for_directory(d, {"verdict": "pass"})
>>> [s.name for s in st.subject], st.predicate_type == CHAOS_REPORT_PREDICATE
(['report.json'], True)

Subjects are every regular file under the directory, named by their relative POSIX path,
sorted, with their sha256. Symbolic links and other special files are refused: what is signed
must be exactly what an auditor reads.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from governance.attest._errors import StatementError
from governance.errors import Location

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
CHAOS_REPORT_PREDICATE = "https://govchaos.dev/attestation/chaos-report/v1"
INTOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json"
BUNDLE_FILENAME = "report.sigstore.json"


class Subject(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    digest: dict[str, str]


class Statement(BaseModel):
    """An in-toto Statement v1. Serialize with :meth:`to_payload` (canonical JSON bytes)."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    type_: str = Field(default=STATEMENT_TYPE, alias="_type")
    subject: tuple[Subject, ...] = Field(min_length=1)
    predicate_type: str = Field(alias="predicateType")
    predicate: dict[str, Any] = Field(default_factory=dict)

    def to_payload(self) -> bytes:
        """The bytes that get signed: compact JSON with sorted keys."""
        return orjson.dumps(self.model_dump(by_alias=True, mode="json"), option=orjson.OPT_SORT_KEYS)

    @classmethod
    def from_payload(cls, payload: bytes) -> Statement:
        """Parse a signed payload. Raises :class:`StatementError` naming the bad field."""
        try:
            data = orjson.loads(payload)
        except orjson.JSONDecodeError as exc:
            raise StatementError(f"signed payload is not JSON: {exc}") from exc
        try:
            statement = cls.model_validate(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(p) for p in first["loc"])
            raise StatementError(
                f"signed payload is not an in-toto Statement: {first['msg']}",
                location=Location(field=field or None),
            ) from exc
        if statement.type_ != STATEMENT_TYPE:
            raise StatementError(
                f"statement _type is {statement.type_!r}, expected {STATEMENT_TYPE!r}",
                location=Location(field="_type"),
            )
        return statement


def sha256_file(path: Path) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def directory_files(directory: Path, exclude: Iterable[str] = ()) -> dict[str, Path]:
    """Regular files under ``directory`` by relative POSIX name, sorted, minus ``exclude``.

    Raises :class:`StatementError` for a symbolic link or special file, or a missing directory.
    """
    root = Path(directory)
    if not root.is_dir():
        raise StatementError("not a directory", location=Location(str(root)))
    skip = set(exclude)
    found: dict[str, Path] = {}
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        base = Path(dirpath)
        for name in dirnames:
            if (base / name).is_symlink():
                rel_dir = (base / name).relative_to(root).as_posix()
                raise StatementError(
                    f"{rel_dir}: a symbolic link to a directory (only regular files are signed)",
                    location=Location(str(base / name)),
                )
        for name in filenames:
            path = base / name
            rel = path.relative_to(root).as_posix()
            if rel in skip:
                continue
            if path.is_symlink() or not path.is_file():
                what = "a symbolic link" if path.is_symlink() else "not a regular file"
                raise StatementError(
                    f"{rel}: {what} (only regular files are signed)",
                    location=Location(str(path)),
                )
            found[rel] = path
    return dict(sorted(found.items()))


def statement_for_directory(
    directory: str | os.PathLike[str],
    predicate: dict[str, Any],
    *,
    exclude: Iterable[str] = (BUNDLE_FILENAME,),
    predicate_type: str = CHAOS_REPORT_PREDICATE,
) -> Statement:
    """A Statement whose subjects are every file under ``directory`` (except ``exclude``).

    Raises :class:`StatementError` for an empty directory, a symbolic link or special file.
    """
    files = directory_files(Path(directory), exclude)
    if not files:
        raise StatementError("nothing to sign: the directory has no files", location=Location(str(directory)))
    subjects = tuple(
        Subject(name=name, digest={"sha256": sha256_file(path)}) for name, path in files.items()
    )
    return Statement(subject=subjects, predicate_type=predicate_type, predicate=predicate)
