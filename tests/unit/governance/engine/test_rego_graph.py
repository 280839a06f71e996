"""Static checks over parsed Rego: recursion, conflicting definitions, the entry point, nesting.

Each recursion case is one OPA rejects with rego_recursion_error (checked against the real OPA
where its in-process binding is installed: ``test_recursion_verdicts_match_opa``).
"""

from __future__ import annotations

import time

import pytest

from governance.engine.bundle import RegoModule, build_bundle
from governance.engine.rego_scan import MAX_NESTING, max_nesting
from governance.engine.regorus_engine import check_static
from governance.errors import PolicyCompileError

H = "package govchaos.gateway\n"
DECISION = 'decision := {"allow": false}\n'
ENTRY = ("data.govchaos.gateway.decision",)

RECURSIVE = {
    "rules": H + "a := b\nb := a\ndecision := a\n",
    "self": H + "a := a\n" + DECISION,
    "functions": H + "f(x) := g(x)\ng(x) := f(x)\ndecision := f(1)\n",
    "function self-call": H + "f(x) := y if { y := f(x) }\n" + DECISION,
    "partial set": H + "xs contains 1\nxs contains y if { some y in xs }\n" + DECISION,
    "whole package": H + "x := count(data.govchaos.gateway)\n" + DECISION,
    "computed ref": H + "a := data.govchaos[input.p]\n" + DECISION,
    "else branch": H + "a := 1 if { false } else := b\nb := a\n" + DECISION,
    "ref heads": H + "r[k] := v if { some k, v in s }\ns[k] := v if { some k, v in r }\n" + DECISION,
    "comprehensions": H + "a := [x | some x in b]\nb := {y | some y in a}\n" + DECISION,
    # Found by the fuzz suite: a local `b` inside the comprehension must not hide the outer `b`.
    "outer ref beside a shadowing comprehension": H + "a := [b, [y | some b in [1]; y := b]]\nb := a\n" + DECISION,
    "through the decision": H + 'decision := {"allow": false, "n": n}\nn := count(decision)\n',
}

FINE = {
    "shadowing some": H + "a := 1\nb := x if { some a in [1]; x := a }\n" + DECISION,
    "shadowing :=": H + "f(a) := a\nv := y if { a := 2; y := f(a) }\n" + DECISION,
    "exclusive bodies": H + 'decision := {"allow": true} if input.a\n'
                            'decision := {"allow": false} if not input.a\n',
    "same value twice": H + DECISION + DECISION,
    "default plus rule": H + 'default decision := {"allow": false}\n'
                             'decision := {"allow": true} if input.a\n',
    "every": H + "ok if { every k, v in input.m { v > k } }\n" + DECISION,
    "data documents": H + "m := data.govchaos.catalog.models[input.id]\n" + DECISION,
}


def _check(*sources: str, require=ENTRY) -> None:
    mods = [RegoModule(f"m{i}.rego", s) for i, s in enumerate(sources)]
    check_static(mods, require=require)


@pytest.mark.parametrize("name", sorted(RECURSIVE))
def test_recursion_is_a_located_compile_error(name) -> None:
    with pytest.raises(PolicyCompileError) as info:
        _check(RECURSIVE[name])
    err = info.value
    assert "is recursive: data.govchaos.gateway." in err.message
    assert err.location.file == "m0.rego" and err.location.line >= 2 and err.location.column == 1


@pytest.mark.parametrize("name", sorted(FINE))
def test_non_recursive_shapes_pass(name) -> None:
    _check(FINE[name])


def test_recursion_across_packages_and_imports() -> None:
    p = H + "import data.govchaos.other\ndecision := other.x\n"
    q = "package govchaos.other\nimport data.govchaos.gateway as g\nx := g.decision\n"
    with pytest.raises(PolicyCompileError, match="decision -> data.govchaos.other.x -> data.govchaos.gateway.decision"):
        _check(p, q)
    _check(H + "decision := data.govchaos.other.x\n", 'package govchaos.other\nx := {"allow": false}\n')


def test_shipped_policy_passes(tmp_path) -> None:
    from governance.engine.bundle import load_bundle

    bundle = load_bundle("policies")
    check_static(bundle.modules, require=ENTRY)


@pytest.mark.parametrize(("source", "needle"), [
    (H + "x := 1\n", "no module defines data.govchaos.gateway.decision"),
    (H + "decision contains 1\n", "must be a complete rule"),
    (H + "decision(x) := 1\n", "not a function rule"),
    (H + 'decision := {"allow": true}\ndecision := {"allow": false}\n',
     "defined unconditionally with different values here and at m0.rego:2:1"),
])
def test_entry_point_and_conflicts(source, needle) -> None:
    with pytest.raises(PolicyCompileError, match=needle.replace("(", r"\(")):
        _check(source)


def test_recursive_policy_never_reaches_the_engine(tmp_path) -> None:
    """The probe's reproduction: this used to kill the process with SIGSEGV on evaluation."""
    from governance.engine import create_engine, load_bundle

    (tmp_path / "p.rego").write_text(RECURSIVE["rules"])
    for isolation in ("inline", "process"):
        with pytest.raises(PolicyCompileError, match="p.rego:2:1: rule data.govchaos.gateway.a is recursive"):
            create_engine("regorus", load_bundle(tmp_path), isolation=isolation)


def test_recursion_verdicts_match_opa() -> None:
    engine_mod = pytest.importorskip("opa_bindings.engine")
    for name, source in {**RECURSIVE, **FINE}.items():
        opa = engine_mod.OpaEngine()
        try:
            opa.add_policy("p.rego", source)
            opa.eval_query("x := data.govchaos.gateway.decision", input={"a": True, "m": {}, "p": "q"})
            opa_recursive = False
        except engine_mod.OpaError as exc:
            opa_recursive = "rego_recursion_error" in str(exc)
        finally:
            opa.close()
        try:
            _check(source)
            ours = False
        except PolicyCompileError as exc:
            ours = "is recursive" in exc.message
        assert ours == opa_recursive, name


# -- nesting ---------------------------------------------------------------------------------


def test_deep_nesting_is_refused_before_parsing_and_fast() -> None:
    deep = H + "decision := " + "[" * 30 + "1" + "]" * 30 + "\n"
    start = time.monotonic()
    with pytest.raises(PolicyCompileError) as info:
        build_bundle("b", [RegoModule("p.rego", deep)], {})
    assert time.monotonic() - start < 1
    loc = info.value.location
    assert (loc.file, loc.line, loc.column) == ("p.rego", 2, 12 + MAX_NESTING + 1)
    assert f"nested {MAX_NESTING + 1} deep" in info.value.message


def test_nesting_ignores_strings_comments_and_counts_objects() -> None:
    assert max_nesting('x := "[[[[[[[[[[[[[[" # {{{{{{{{{{{{{{{{\ny := `[[[[[[[[[[[[`')[0] == 0
    assert max_nesting('x := {"a": [{"b": {1}}]}')[0] == 4
    assert max_nesting('x := "\\"[" ')[0] == 0
