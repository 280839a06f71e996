"""Strict, bounded parsing of untrusted JSON and YAML text (data files, cases, inputs, scenarios).

``json.loads`` and ``yaml.safe_load`` accept things a policy author never means and fail in ways
a CLI must not show as tracebacks:

- duplicate keys (JSON and YAML) silently keep the last value: here they are an error naming
  both places (``{"x": deny, "x": allow}`` must not quietly mean allow);
- YAML aliases make "billion laughs" documents (a few hundred bytes that expand to gigabytes
  when anything walks or serialises them): the expanded size is bounded (:data:`MAX_NODES`);
- JSON ``NaN``/``Infinity`` are not JSON (RFC 8259) and have no Rego equivalent: rejected;
- integers over Python's 4300-digit limit raise ``ValueError`` and very deep nesting raises
  ``RecursionError``: both become located errors.

Every function raises ``error_cls(message, location=Location(file, line, col))``; the caller
chooses the class (``PolicyInputError`` for governance, ``ScenarioError`` for chaos).
"""

from __future__ import annotations

import json
import math
from json.decoder import scanstring
from typing import Any

import yaml

from governance.errors import GovchaosError, Location

# Expanded node count (scalars + collections, aliases counted as often as they are used)
# a YAML document may have. The shipped catalog has a few thousand; a million is plenty.
MAX_NODES = 1_000_000

ErrorClass = type[GovchaosError]


def loads_json(text: str | bytes, file: str, error_cls: ErrorClass) -> Any:
    """Parse JSON strictly (no NaN/Infinity, no duplicate keys).

    Raises ``error_cls`` with file:line:col (a duplicate key: where its second occurrence is).
    """

    def reject_constant(name: str) -> Any:
        raise ValueError(f"{name} is not valid JSON (numbers must be finite)")

    def finite_float(literal: str) -> float:
        value = float(literal)
        if math.isinf(value):
            raise ValueError(f"number {literal[:40]} is out of range for a 64-bit float")
        return value

    try:
        if isinstance(text, bytes):
            text = text.decode("utf-8")
        return json.loads(text, parse_constant=reject_constant, parse_float=finite_float,
                          object_pairs_hook=_unique_object)
    except _DuplicateKey:
        key, first, second = _locate_duplicate(text)
        line, col = _line_col(text, second)
        fline, fcol = _line_col(text, first)
        raise error_cls(f"invalid JSON: duplicate key {key!r} (first at line {fline}:{fcol})",
                        location=Location(file, line, col)) from None
    except UnicodeDecodeError as exc:
        raise error_cls(f"not UTF-8 text: {exc.reason} at byte {exc.start}",
                        location=Location(file)) from exc
    except json.JSONDecodeError as exc:
        raise error_cls(
            f"invalid JSON: {exc.msg}", location=Location(file, exc.lineno, exc.colno)
        ) from exc
    except RecursionError as exc:
        raise error_cls("invalid JSON: nested too deeply", location=Location(file)) from exc
    except ValueError as exc:  # NaN/Infinity/1e999, or an integer with more than 4300 digits
        reason = str(exc)
        if "integer string conversion" in reason:
            reason = "an integer has more than 4300 digits"
        raise error_cls(f"invalid JSON: {reason}", location=Location(file)) from exc


class _DuplicateKey(Exception):
    """Raised inside json.loads; the text is then scanned again to locate both keys."""


def _unique_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        raise _DuplicateKey()
    return obj


def _locate_duplicate(text: str) -> tuple[str, int, int]:
    """``(key, first offset, second offset)`` of the first repeated key in document order.

    Only called on text json.loads parsed up to a duplicate, so a simple token walk suffices:
    a string is a key when it directly follows ``{`` or ``,`` inside an object.
    """
    stack: list[dict[str, int] | None] = []  # keys seen per open object; None for arrays
    prev = ""
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == '"':
            value, end = scanstring(text, i + 1)
            top = stack[-1] if stack else None
            if top is not None and prev in "{,":
                if value in top:
                    return value, top[value], i
                top[value] = i
            prev, i = '"', end
            continue
        if c == "{":
            stack.append({})
        elif c == "[":
            stack.append(None)
        elif c in "]}":
            if stack:
                stack.pop()
        if not c.isspace():
            prev = c
        i += 1
    return "?", 0, 0  # unreachable for text that raised _DuplicateKey


def _line_col(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def loads_yaml(text: str | bytes, file: str, error_cls: ErrorClass) -> tuple[Any, yaml.Node | None]:
    """Parse one YAML document strictly; returns ``(data, node)`` (``node`` for line lookups).

    Raises ``error_cls``: not UTF-8, a syntax error (line:col), a duplicate key (line of the
    second one), more than :data:`MAX_NODES` expanded nodes (alias bombs), a recursive alias, or
    nesting too deep.
    """
    try:
        if isinstance(text, bytes):
            text = text.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error_cls(f"not UTF-8 text: {exc.reason} at byte {exc.start}",
                        location=Location(file)) from exc
    loader = None
    try:
        # The reader refuses some characters (NUL, other C0 controls) as soon as it is built.
        loader = yaml.SafeLoader(text)
        node = loader.get_single_node()
        if node is None:
            return None, None
        _check_tree(node, file, error_cls)
        return loader.construct_document(node), node
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise error_cls(
            f"invalid YAML: {exc.problem or exc.context or exc}",
            location=Location(file, mark.line + 1 if mark else None, mark.column + 1 if mark else None),
        ) from exc
    except yaml.reader.ReaderError as exc:
        at = exc.position if isinstance(text, str) else 0
        line = text.count("\n", 0, at) + 1 if isinstance(text, str) else None
        col = at - (text.rfind("\n", 0, at) + 1) + 1 if isinstance(text, str) else None
        raise error_cls(f"invalid YAML: character U+{exc.character:04X} is not allowed in YAML",
                        location=Location(file, line, col)) from exc
    except yaml.YAMLError as exc:
        raise error_cls(f"invalid YAML: {exc}", location=Location(file)) from exc
    except RecursionError as exc:
        raise error_cls("invalid YAML: nested too deeply", location=Location(file)) from exc
    finally:
        if loader is not None:
            loader.dispose()


def _check_tree(root: yaml.Node, file: str, error_cls: ErrorClass) -> None:
    """Duplicate keys and the expanded size, in one pass over distinct nodes (memoised by id)."""
    size: dict[int, int] = {}
    # Iterative post-order walk: (node, children_done). Aliases share node objects, so a node's
    # expanded size is computed once and reused, which keeps this linear in the *text* size.
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    active: set[int] = set()
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            active.discard(key)
            total = 1 + sum(size[id(c)] for c in _children(node))
            if total > MAX_NODES:
                raise error_cls(
                    f"document expands to more than {MAX_NODES:,} nodes (YAML alias bomb?)",
                    location=Location(file, node.start_mark.line + 1, node.start_mark.column + 1),
                )
            size[key] = total
            continue
        if key in size:
            continue
        if key in active:
            raise error_cls(
                "recursive YAML alias (a node contains itself)",
                location=Location(file, node.start_mark.line + 1, node.start_mark.column + 1),
            )
        active.add(key)
        if isinstance(node, yaml.MappingNode):
            _check_duplicate_keys(node, file, error_cls)
        stack.append((node, True))
        for child in _children(node):
            if id(child) not in size:
                stack.append((child, False))


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _check_duplicate_keys(node: yaml.MappingNode, file: str, error_cls: ErrorClass) -> None:
    seen: dict[str, int] = {}
    for key_node, _ in node.value:
        if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
            continue
        line = key_node.start_mark.line + 1
        if key_node.value in seen:
            raise error_cls(
                f"duplicate key {key_node.value!r} (first on line {seen[key_node.value]})",
                location=Location(file, line, key_node.start_mark.column + 1),
            )
        seen[key_node.value] = line
