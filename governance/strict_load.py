"""Strict, bounded parsing of untrusted JSON and YAML text (data files, cases, inputs, scenarios).

``json.loads`` and ``yaml.safe_load`` accept things a policy author never means and fail in ways
a CLI must not show as tracebacks:

- YAML duplicate keys silently keep the last value: here they are an error naming both lines;
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
from typing import Any

import yaml

from governance.errors import GovchaosError, Location

# Expanded node count (scalars + collections, aliases counted as often as they are used)
# a YAML document may have. The shipped catalog has a few thousand; a million is plenty.
MAX_NODES = 1_000_000

ErrorClass = type[GovchaosError]


def loads_json(text: str | bytes, file: str, error_cls: ErrorClass) -> Any:
    """Parse JSON strictly (no NaN/Infinity). Raises ``error_cls`` with file:line:col."""

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
        return json.loads(text, parse_constant=reject_constant, parse_float=finite_float)
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
    loader = yaml.SafeLoader(text)
    try:
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
    except yaml.YAMLError as exc:
        raise error_cls(f"invalid YAML: {exc}", location=Location(file)) from exc
    except RecursionError as exc:
        raise error_cls("invalid YAML: nested too deeply", location=Location(file)) from exc
    finally:
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
