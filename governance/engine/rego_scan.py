"""A linear pre-scan of Rego text that refuses what would make a parser blow up, located.

regorus 0.13 parses ``[`` and ``{`` terms by backtracking (an array, a set, an object or a
comprehension is tried in turn), so its parse time roughly doubles per nesting level: measured
here, ``decision := [[[…]]]`` 14 deep took 0.3 s, 16 deep 1-5 s and 30 deep did not finish in
120 s; ``{"a": {…}}`` is worse. No policy needs that depth (the shipped bundle's deepest term is
3 deep, its tests' 4), so deeper nesting is an error naming the first bracket past the
limit, before any engine sees the text. Strings (``"…"``, raw `` `…` ``) and ``#`` comments are
skipped, so brackets inside them do not count.

This bounds one term's parse cost; the total parse/compile time of a bundle is bounded too,
because engines compile in a child process under a deadline (:mod:`governance.engine.isolation`).

>>> check_nesting([("p.rego", "package p\\nx := [[1]]\\n")])
>>> check_nesting([("p.rego", "package p\\nx := " + "[" * 20 + "]" * 20)])
Traceback (most recent call last):
...
governance.errors.PolicyCompileError: p.rego:2:16: brackets nested 11 deep (the limit is 10: ...
"""

from __future__ import annotations

from collections.abc import Iterable

from governance.errors import Location, PolicyCompileError

# At 10 levels one term costs regorus ~15-60 ms to parse; at 12, ~60-250 ms.
MAX_NESTING = 10

_OPEN = {"[": "]", "{": "}"}


def max_nesting(source: str) -> tuple[int, int]:
    """``(depth, offset)``: the deepest ``[``/``{`` nesting in ``source`` and where it is.

    Stops at the first bracket deeper than :data:`MAX_NESTING` (its offset is returned).
    """
    depth = best = best_at = 0
    i, n = 0, len(source)
    while i < n:
        c = source[i]
        if c == "#":
            j = source.find("\n", i)
            i = n if j < 0 else j
            continue
        if c == '"':
            i += 1
            while i < n and source[i] not in '"\n':
                i += 2 if source[i] == "\\" else 1
            i += 1
            continue
        if c == "`":
            j = source.find("`", i + 1)
            i = n if j < 0 else j + 1
            continue
        if c in _OPEN:
            depth += 1
            if depth > best:
                best, best_at = depth, i
                if depth > MAX_NESTING:
                    return best, best_at
        elif c in "]}" and depth:
            depth -= 1
        i += 1
    return best, best_at


def check_nesting(modules: Iterable[tuple[str, str]]) -> None:
    """Raises PolicyCompileError (path:line:col) for a module nested deeper than the limit."""
    for path, source in modules:
        depth, at = max_nesting(source)
        if depth > MAX_NESTING:
            line = source.count("\n", 0, at) + 1
            col = at - (source.rfind("\n", 0, at) + 1) + 1
            raise PolicyCompileError(
                f"brackets nested {depth} deep (the limit is {MAX_NESTING}: deeper terms make "
                "Rego parsing exponentially slow); flatten the term or build it from named rules",
                location=Location(path, line, col),
            )
