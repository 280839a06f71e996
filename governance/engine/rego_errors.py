"""Turn the engines' error text into :class:`PolicyCompileError` with a ``Location``.

regorus reports problems as::

    --> policies/gateway.rego:5:1
      |
    5 | }
      | ^
    error: expecting expression
    <Stack backtrace: ... when RUST_BACKTRACE is set>

rego-cpp (regopy) reports an error node holding the file name and a byte offset into it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from governance.errors import Location, PolicyCompileError

_ARROW = re.compile(r"-->\s*(?P<file>.+?):(?P<line>\d+):(?P<col>\d+)\s*$", re.M)
_MESSAGE = re.compile(r"^error:\s*(?P<msg>.+)$", re.M)
_REGOPY_ERR = re.compile(r"\(error\s+\d+:(?P<file>[^|\s]+)\|(?P<offset>\d+)\|")
_REGOPY_MSG = re.compile(r"\(errormsg\s+\d+:(?P<msg>[^)]*)\)")


def strip_backtrace(text: str) -> str:
    """Drop the Rust backtrace regorus appends when ``RUST_BACKTRACE`` is set."""
    head, _, _ = text.partition("Stack backtrace:")
    return head.strip()


def regorus_compile_error(
    exc: BaseException, *, entry_points: tuple[str, ...] = (), root: str | None = None
) -> PolicyCompileError:
    """Translate a regorus exception raised while parsing/compiling into a located error.

    ``entry_points`` are the rules the compile was asked for: regorus says only "not a valid
    rule path" when one is not defined by any module, which is rewritten to name the rule.
    """
    text = strip_backtrace(str(exc))
    if "not a valid rule path" in text and entry_points:
        names = ", ".join(entry_points)
        return PolicyCompileError(
            f"no module defines {names} (the rule the gateway queries): add it to its package",
            location=Location(root) if root else None,
        )
    arrow = _ARROW.search(text)
    msg = _MESSAGE.search(text)
    message = msg.group("msg").strip() if msg else (text.splitlines() or ["compile failed"])[-1]
    if arrow:
        loc = Location(arrow.group("file"), int(arrow.group("line")), int(arrow.group("col")))
        return PolicyCompileError(message, location=loc)
    return PolicyCompileError(message)


def regopy_compile_error(
    exc: BaseException, sources: Mapping[str, str]
) -> PolicyCompileError:
    """Translate a regopy ``RegoError``; the offset is mapped to line:col via the module source."""
    text = str(exc)
    msg = _REGOPY_MSG.search(text)
    message = msg.group("msg").strip() if msg else text.strip()
    m = _REGOPY_ERR.search(text)
    if not m:
        return PolicyCompileError(message)
    file = m.group("file")
    offset = int(m.group("offset"))
    source = sources.get(file)
    if source is None:
        return PolicyCompileError(message, location=Location(file))
    before = source.encode("utf-8")[:offset].decode("utf-8", "replace")
    line = before.count("\n") + 1
    col = len(before) - (before.rfind("\n") + 1) + 1
    return PolicyCompileError(message, location=Location(file, line, col))
