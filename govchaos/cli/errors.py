"""Errors in the CLI's ``--json`` outputs: one shape for every command.

The text form of an error is printed in one place (:func:`govchaos.cli.main`); this is its JSON
form, for the results a ``--json`` command prints instead.
"""

from __future__ import annotations

from typing import Any


def error_json(exc: Any) -> dict[str, Any]:
    """A :class:`~governance.errors.GovchaosError` as a JSON object (``--json`` outputs).

    Keys: ``code``, ``file``, ``line``, ``column``, ``field`` (each null when unknown) and
    ``message`` (without the location, which the other keys carry).
    """
    loc = exc.location
    return {
        "code": exc.code,
        "file": loc.file if loc else None,
        "line": loc.line if loc else None,
        "column": loc.column if loc else None,
        "field": loc.field if loc else None,
        "message": exc.message,
    }
