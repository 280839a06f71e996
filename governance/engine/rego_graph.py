"""Static checks over a bundle's parsed Rego: what OPA's compiler rejects and regorus does not.

Works on the AST regorus produces (``Engine.get_ast_as_json``) for every module at once, so a
reference across packages and files counts like one inside a file:

- **recursion** — a rule or function that depends on itself, directly or through other rules,
  functions or packages (``a := b``, ``b := a``; ``f(x) := g(x)``, ``g(x) := f(x)``; a rule
  that reads ``data.<its own package>``). OPA rejects these at compile time
  (``rego_recursion_error``); regorus 0.13 recurses until its stack overflows and kills the
  process (SIGSEGV), so no engine may ever be handed one;
- **conflicting definitions** — a complete rule defined unconditionally more than once with
  different values. OPA fails every evaluation of it (``eval_conflict_error``); the regorus VM
  answers undefined;
- **the entry point** — when asked for (``require``), the rule must exist and be a complete rule
  (``decision := {...}``), not a set, a partial object or a function the gateway cannot query.

What a rule reads (references, scopes, computed parts) is extracted by
:mod:`governance.engine.rego_rules`.

Every function raises :class:`~governance.errors.PolicyCompileError` located path:line:col.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from governance.errors import Location, PolicyCompileError

from governance.engine.rego_rules import Path, Rule, module_rules


def check_rules(asts: Sequence[dict[str, Any]], *, require: Iterable[str] = ()) -> None:
    """Check modules parsed by regorus (each an element of ``get_ast_as_json()``).

    ``require``: entry points (``data.govchaos.gateway.decision``) that must be complete rules.

    Raises:
        PolicyCompileError: a missing or non-complete entry point, conflicting unconditional
            definitions, or recursion — the first found, with the rule's location.
    """
    rules = [rule for module in asts for rule in module_rules(module)]
    for entry in require:
        _check_entry(entry, rules)
    _check_conflicts(rules)
    _check_recursion(rules)


def _dotted(path: Path) -> str:
    return "data." + ".".join(path)


def _check_entry(entry: str, rules: list[Rule]) -> None:
    path = tuple(entry.removeprefix("data.").split("."))
    defs = [r for r in rules if r.path == path]
    if not defs:
        where = rules[0].file if rules else None
        raise PolicyCompileError(
            f"no module defines {entry} (the rule the gateway queries): add it to its package",
            location=Location(where) if where else None,
        )
    for r in defs:
        if r.kind not in ("complete", "default"):
            raise PolicyCompileError(
                f"{entry} must be a complete rule (`decision := {{...}}`), not a {r.kind} rule: "
                "the gateway reads one decision object",
                location=Location(r.file, r.line, r.col),
            )


def _check_conflicts(rules: list[Rule]) -> None:
    first: dict[Path, Rule] = {}
    for r in rules:
        if r.unconditional_value is None:
            continue
        seen = first.setdefault(r.path, r)
        if seen is not r and seen.unconditional_value != r.unconditional_value:
            raise PolicyCompileError(
                f"rule {_dotted(r.path)} is defined unconditionally with different values here "
                f"and at {seen.file}:{seen.line}:{seen.col}: a complete rule has one value "
                "(OPA fails every evaluation with eval_conflict_error)",
                location=Location(r.file, r.line, r.col),
            )


def _check_recursion(rules: list[Rule]) -> None:
    paths = sorted({r.path for r in rules})
    by_first: dict[str, list[Path]] = {}
    for p in paths:
        by_first.setdefault(p[0] if p else "", []).append(p)
    edges: dict[Path, set[Path]] = {p: set() for p in paths}
    for r in rules:
        for ref, _computed in r.refs:
            candidates = by_first.get(ref[0], ()) if ref else paths
            for target in candidates:
                n = min(len(ref), len(target))
                if ref[:n] == target[:n]:  # ref reads into target, or target lies below ref
                    edges[r.path].add(target)
    cycle = _find_cycle(paths, edges)
    if cycle is None:
        return
    start = min((r for r in rules if r.path in set(cycle)), key=lambda r: (r.file, r.line, r.col))
    ring = cycle[:-1]
    i = ring.index(start.path)
    ordered = ring[i:] + ring[:i] + [start.path]
    chain = " -> ".join(_dotted(p) for p in ordered)
    raise PolicyCompileError(
        f"rule {_dotted(start.path)} is recursive: {chain} (Rego forbids recursion; "
        "OPA rejects it as rego_recursion_error)",
        location=Location(start.file, start.line, start.col),
    )


def _find_cycle(nodes: list[Path], edges: dict[Path, set[Path]]) -> list[Path] | None:
    """A cycle as ``[a, b, …, a]``, or None (iterative DFS, colours white/grey/black)."""
    colour: dict[Path, int] = {}
    for root in nodes:
        if colour.get(root):
            continue
        stack: list[tuple[Path, Iterator[Path]]] = [(root, iter(sorted(edges[root])))]
        trail = [root]
        colour[root] = 1
        while stack:
            node, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                colour[node] = 2
                stack.pop()
                trail.pop()
                continue
            state = colour.get(nxt, 0)
            if state == 1:
                return trail[trail.index(nxt):] + [nxt]
            if state == 0:
                colour[nxt] = 1
                trail.append(nxt)
                stack.append((nxt, iter(sorted(edges[nxt]))))
    return None
