"""JSON Lines files read back into models, with every error located (file, line).

One reader for the JSONL files the chaos side writes and reads again: the load generator's
request records and the simulated upstreams' request logs. Blank lines are skipped; each other
line must be a JSON value its model accepts.

>>> import tempfile, pathlib
>>> from pydantic import BaseModel
>>> class Row(BaseModel):
...     n: int
>>> path = pathlib.Path(tempfile.mkdtemp()) / "rows.jsonl"
>>> _ = path.write_bytes(b'{"n": 1}\\n\\n{"n": "x"}\\n')
>>> read_jsonl(path, Row, what="row", source="rows", error=ChaosError)
Traceback (most recent call last):
...
chaos.errors.ChaosError: .../rows.jsonl:3: invalid row: 1 validation error for Row...
"""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

import orjson
from pydantic import BaseModel, ValidationError

from governance.errors import GovchaosError, Location

from chaos.errors import ChaosError

M = TypeVar("M", bound=BaseModel)

__all__ = ["read_jsonl"]


def read_jsonl(
    path: str | Path,
    model: type[M],
    *,
    what: str,
    source: str,
    error: type[GovchaosError],
    torn_tail: bool = False,
) -> list[M]:
    """Every line of ``path`` validated as ``model``.

    ``what`` names one line in messages ("request record"), ``source`` the file ("request
    log"). ``torn_tail``: a last line without its newline is a write cut short (the writer was
    killed), ignored rather than an error.

    Raises:
        error: the file cannot be read (located at the file), or a line is not JSON or not a
            valid ``model`` (located at the file and line).
    """
    file = Path(path)
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise error(f"cannot read {source}: {exc}", location=Location(str(file))) from exc
    lines = data.split(b"\n")
    if torn_tail or not lines[-1].strip():
        lines = lines[:-1]
    out: list[M] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            out.append(model.model_validate(orjson.loads(line)))
        except (orjson.JSONDecodeError, ValidationError) as exc:
            raise error(f"invalid {what}: {exc}", location=Location(str(file), number)) from exc
    return out
