"""The rules of parsed Rego and what each reads: the input of the static checks
(:mod:`governance.engine.rego_graph`).

Works on the AST regorus produces (``Engine.get_ast_as_json``). A reference is a chain
``name.field["key"]…``: ``data.…`` is absolute, an import alias expands to its path, a name that
is a rule of the module's package is relative to it, and names declared locally (function
arguments, ``some``, ``every``, ``:=``) are not references *in the scope that declares them* (a
body, a comprehension, an ``every``), so ``a := [b, [y | some b in xs]]`` still depends on rule
``b``. A chain with a computed part (``data.govchaos[x]``) depends on every rule below its
constant prefix, so the analysis over-approximates dependencies rather than missing a cycle.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

Path = tuple[str, ...]
_IGNORED_ROOTS = frozenset({"input", "future", "rego", "_"})


@dataclass
class Rule:
    """One rule definition: its path below ``data``, kind, location and what it reads."""

    path: Path
    kind: str  # "complete" | "default" | "set" | "object" | "function"
    file: str
    line: int
    col: int
    unconditional_value: str | None = None  # source text of the value when it has no body
    refs: list[tuple[Path, bool]] = field(default_factory=list)  # (absolute path, computed tail)


def module_rules(module: dict[str, Any]) -> Iterator[Rule]:
    """The rules of one module parsed by regorus (an element of ``get_ast_as_json()``)."""
    source = module.get("source", {})
    file = source.get("file", "?")
    text = source.get("contents", "")
    ast = module["ast"]
    package = _static_path(ast["package"]["refr"])[0]
    aliases: dict[str, Path] = {}
    for imp in ast.get("imports", ()):
        path, _ = _static_path(imp["refr"])
        if not path or path[0] != "data":
            continue  # input, future.keywords, rego.v1
        alias = imp.get("as")
        name = text[alias["start"] : alias["end"]] if alias else path[-1]
        aliases[name] = path[1:]
    rule_names = set()
    raw = ast.get("rules", ())
    for item in raw:
        rule_names.add(_head_path(item)[0])
    for item in raw:
        yield _rule(item, file, text, package, aliases, rule_names)


def _head_path(item: dict[str, Any]) -> Path:
    if "Default" in item:
        return _static_path(item["Default"]["refr"])[0]
    head = item["Spec"]["head"]
    (variant,) = head.values()
    return _static_path(variant["refr"])[0]


def _rule(
    item: dict[str, Any], file: str, text: str, package: Path, aliases: dict[str, Path],
    rule_names: set[str],
) -> Rule:
    base: frozenset[str] = frozenset()
    head_parts: list[Any] = []
    bodies: list[Any] = []
    if "Default" in item:
        spec = item["Default"]
        kind, refr = "default", spec["refr"]
        head_parts += [spec.get("args"), spec.get("value")]
        span, value_text = spec["span"], None
    else:
        spec = item["Spec"]
        ((variant, head),) = spec["head"].items()
        refr = head["refr"]
        span = head["span"]
        if variant == "Func":
            kind = "function"
            base = frozenset(v for arg in head.get("args") or () for v in _vars(arg))
        elif variant == "Set":
            kind = "set"
        else:
            kind = "object" if _static_path(refr)[1] else "complete"
        head_parts += [head.get("key"), head.get("assign")]
        bodies = list(spec.get("bodies") or ())
        value_text = None
        assign = head.get("assign")
        if kind == "complete" and assign and _unconditional(bodies):
            vspan = _span_of(assign.get("value"))
            value_text = text[vspan["start"] : vspan["end"]] if vspan else None
    # The head's own name is not a reference; computed parts of a ref head (`r[c.id]`) are.
    head_parts.append(_computed_parts(refr))
    # Each body declares its own locals; the head is read in the scope of every body, so a
    # name in it is local only if every body declares it (otherwise it may mean the rule).
    body_scopes = [base | _declared_top(b.get("query"), text) for b in bodies]
    head_scope = frozenset.intersection(*body_scopes) if body_scopes else base
    items: list[tuple[Any, frozenset[str]]] = [(part, head_scope) for part in head_parts]
    for body, scope in zip(bodies, body_scopes):
        items += [(body.get("query"), scope), (body.get("assign"), scope)]
    rule = Rule(
        path=package + _static_path(refr)[0], kind=kind, file=file,
        line=span["line"], col=span["col"], unconditional_value=value_text,
    )
    for name, fields, computed in _scoped_refs(items, text):
        if name in _IGNORED_ROOTS:
            continue
        if name == "data":
            rule.refs.append((fields, computed))
        elif name in aliases:
            rule.refs.append((aliases[name] + fields, computed))
        elif name in rule_names:
            rule.refs.append((package + (name,) + fields, computed))
        # anything else is a builtin (count, object.get, ...) or an error the compiler reports
    return rule


def _unconditional(bodies: Any) -> bool:
    if not bodies:
        return True
    if len(bodies) != 1 or bodies[0].get("assign") is not None:
        return False
    stmts = bodies[0].get("query", {}).get("stmts", ())
    return all(
        s.get("literal", {}).get("Expr", {}).get("expr", {}).get("Bool", {}).get("value") is True
        and not s.get("with_mods")
        for s in stmts
    )


def _static_path(node: Any) -> tuple[Path, bool]:
    """``(constant path, has a computed part)`` of a ``Var``/``RefDot``/``RefBrack`` chain."""
    parts: list[str] = []
    computed = False
    while isinstance(node, dict):
        if "RefDot" in node:
            parts.append(node["RefDot"]["field"][1])
            node = node["RefDot"]["refr"]
        elif "RefBrack" in node:
            index = node["RefBrack"]["index"]
            if "String" in index:
                parts.append(index["String"]["value"])
            else:
                parts, computed = [], True  # everything after a computed key is unknown
            node = node["RefBrack"]["refr"]
        elif "Var" in node:
            parts.append(node["Var"]["value"])
            break
        else:
            return (), True
    return tuple(reversed(parts)), computed


def _computed_parts(node: Any) -> list[Any]:
    out = []
    while isinstance(node, dict):
        if "RefBrack" in node:
            out.append(node["RefBrack"]["index"])
            node = node["RefBrack"]["refr"]
        elif "RefDot" in node:
            node = node["RefDot"]["refr"]
        else:
            break
    return out


def _refs(node: Any) -> Iterator[tuple[str, Path, bool]]:
    """Every reference chain in ``node``: ``(root name, constant fields, computed tail)``."""
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, list):
            stack.extend(n)
            continue
        if not isinstance(n, dict):
            continue
        if "Var" in n and len(n) == 1:
            yield n["Var"]["value"], (), False
            continue
        if ("RefDot" in n or "RefBrack" in n) and len(n) == 1:
            path, computed = _static_path(n)
            root = _chain_root(n)
            if path:
                yield path[0], path[1:], computed
            elif root is not None:
                stack.append(root)  # e.g. f(x).y or [1][0]: the root is an ordinary term
            stack.extend(_computed_parts(n))
            continue
        for key, value in n.items():
            if key != "span":
                stack.append(value)


def _chain_root(node: Any) -> Any:
    while isinstance(node, dict) and ("RefDot" in node or "RefBrack" in node):
        node = (node.get("RefDot") or node.get("RefBrack"))["refr"]
    return None if isinstance(node, dict) and "Var" in node else node


def _vars(node: Any) -> Iterator[str]:
    for name, fields, _ in _refs(node):
        if not fields:
            yield name


_COMPREHENSIONS = ("ArrayCompr", "SetCompr", "ObjectCompr")


def _scoped_refs(items: list[tuple[Any, frozenset[str]]], text: str
                 ) -> Iterator[tuple[str, Path, bool]]:
    """Like :func:`_refs`, skipping names local where they are used.

    A comprehension's query and an ``every`` body open a scope of their own (their ``some``,
    ``:=`` and ``every`` variables are local there and only there). An explicit stack, not
    recursion: an expression chain like ``1 + 1 + …`` can be thousands of nodes deep.
    """
    stack = list(items)
    while stack:
        n, scope = stack.pop()
        if isinstance(n, list):
            stack.extend((x, scope) for x in n)
            continue
        if not isinstance(n, dict):
            continue
        if len(n) == 1:
            ((tag, inner),) = n.items()
            if tag == "Var":
                if inner["value"] not in scope:
                    yield inner["value"], (), False
                continue
            if tag in ("RefDot", "RefBrack"):
                path, computed = _static_path(n)
                if path:
                    if path[0] not in scope:
                        yield path[0], path[1:], computed
                else:
                    root = _chain_root(n)
                    if root is not None:
                        stack.append((root, scope))
                stack.extend((part, scope) for part in _computed_parts(n))
                continue
            if tag in _COMPREHENSIONS:
                inner_scope = scope | _declared_top(inner.get("query"), text)
                stack.extend((inner.get(k), inner_scope) for k in ("term", "key", "value", "query"))
                continue
            if tag == "Every":
                stack.append((inner.get("domain"), scope))
                names = {text[s["start"] : s["end"]] for s in (inner.get("key"), inner.get("value"))
                         if isinstance(s, dict) and "start" in s}
                stack.append((inner.get("query"),
                              scope | names | _declared_top(inner.get("query"), text)))
                continue
        stack.extend((v, scope) for k, v in n.items() if k != "span")


def _declared_top(query: Any, text: str) -> frozenset[str]:
    """Names a query declares for itself: ``some``, ``some … in``, ``:=`` targets.

    Only its own statements count; a nested comprehension or ``every`` declares for itself.
    """
    out: set[str] = set()
    if not isinstance(query, dict):
        return frozenset()
    for stmt in query.get("stmts") or ():
        literal = stmt.get("literal") or {}
        if "SomeVars" in literal:
            out |= {text[s["start"] : s["end"]] for s in literal["SomeVars"].get("vars", ())}
        elif "SomeIn" in literal:
            for part in ("key", "value"):
                out |= set(_vars(literal["SomeIn"].get(part)))
        elif "Expr" in literal:
            expr = literal["Expr"].get("expr") or {}
            if "AssignExpr" in expr and expr["AssignExpr"].get("op") == "ColEq":
                out |= set(_vars(expr["AssignExpr"].get("lhs")))
    return frozenset(out)


def _span_of(node: Any) -> dict[str, int] | None:
    if isinstance(node, dict) and len(node) == 1:
        inner = next(iter(node.values()))
        if isinstance(inner, dict) and isinstance(inner.get("span"), dict):
            return inner["span"]
    return None


# -- checks ----------------------------------------------------------------------------------
