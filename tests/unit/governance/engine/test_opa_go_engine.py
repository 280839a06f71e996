"""The ``opa-go`` engine: the real OPA in-process (opa-golib-python-bindings)."""

from __future__ import annotations

import sys

import pytest

from governance.engine import create_engine, load_bundle
from governance.engine.opa_go_engine import INSTALL_HINT, OpaGoEngine, OpaGoUnavailable, load_bindings
from governance.engine.protocol import FAIL_CLOSED_PREFIXES, REASON_ERROR, REASON_UNDEFINED
from governance.errors import PolicyCompileError


def _bundle(tmp_path, body: str, name: str = "p.rego"):
    (tmp_path / name).write_text(f"package govchaos.gateway\n\n{body}\n")
    return load_bundle(tmp_path)


async def test_decides_like_the_contract_says(fixtures, make_input) -> None:
    engine = create_engine("opa-go", load_bundle(fixtures / "basic"))
    assert isinstance(engine, OpaGoEngine)
    d = await engine.decide(make_input("private-a", "cloud-a"))
    assert d.allow and d.allowed == ("private-a",)
    assert d.denied == {"cloud-a": ("data_class_ceiling",)}


def test_parse_error_is_located_with_the_caret_column(fixtures) -> None:
    with pytest.raises(PolicyCompileError) as err:
        create_engine("opa-go", load_bundle(fixtures / "broken"))
    loc = err.value.location
    assert loc.file.endswith("broken/bad.rego") and (loc.line, loc.column) == (7, 1)
    assert "unexpected } token" in err.value.message


def test_unsafe_variable_is_found_at_load_not_first_eval(tmp_path) -> None:
    # The binding compiles lazily; the engine's probe evaluation makes it a load error.
    bundle = _bundle(tmp_path, 'decision := {"allow": true} if {\n\tx > 1\n}')
    with pytest.raises(PolicyCompileError) as err:
        create_engine("opa-go", bundle)
    assert (err.value.location.line, err.value.location.column) == (4, 2)
    assert "var x is unsafe" in err.value.message and "rego_unsafe_var_error" in err.value.message


def test_recursion_is_rejected(tmp_path) -> None:
    bundle = _bundle(tmp_path, "a if b\n\nb if a\n\ndecision := {\"allow\": a}")
    # regorus 0.13 would accept it and overflow its stack: the static check refuses it first.
    with pytest.raises(PolicyCompileError, match="is recursive"):
        create_engine("regorus", bundle)
    with pytest.raises(PolicyCompileError, match="recursive") as err:
        create_engine("opa-go", bundle)
    # OPA reports both rules of the cycle; which comes first varies between processes.
    assert err.value.location.line in (3, 5) and "(and 1 more)" in err.value.message


async def test_failed_reload_keeps_old_policy_and_a_fresh_engine_serves_the_next(
    fixtures, tmp_path, make_input
) -> None:
    # Inline: this checks the lifecycle of the OPA engine object itself.
    engine = create_engine("opa-go", load_bundle(fixtures / "basic"), isolation="inline")
    before, state = engine.bundle, engine._current[0]
    with pytest.raises(PolicyCompileError):
        await engine.reload(_bundle(tmp_path, 'decision := {"allow": true} if { y }'))
    # The poisoned OPA engine was thrown away: the old one still answers.
    assert engine.bundle is before and engine._current[0] is state
    assert (await engine.decide(make_input("private-a"))).allow
    good = tmp_path / "good"
    good.mkdir()
    await engine.reload(_bundle(good, 'decision := {"allow": false, "reasons": ["closed"]}'))
    assert engine._current[0] is not state and state._handle is None  # old one released
    assert (await engine.decide(make_input("private-a"))).reasons == ("closed",)


async def test_cache_hit_and_invalidated_on_reload(fixtures, tmp_path, make_input) -> None:
    engine = create_engine("opa-go", load_bundle(fixtures / "basic"))
    inp = make_input("private-a")
    first = await engine.decide(inp)
    assert await engine.decide(inp) is first and engine.cache.hits == 1
    await engine.reload(_bundle(tmp_path, 'decision := {"allow": false, "reasons": ["closed"]}'))
    assert len(engine.cache) == 0


async def test_nondeterministic_policy_is_never_cached(fixtures, make_input) -> None:
    engine = create_engine("opa-go", load_bundle(fixtures / "nondeterministic"))
    assert not engine.cacheable
    await engine.decide(make_input("m"))
    await engine.decide(make_input("m"))
    assert len(engine.cache) == 0


async def test_undefined_and_errors_fail_closed_and_are_not_cached(tmp_path, make_input) -> None:
    undefined = create_engine("opa-go", _bundle(tmp_path, 'decision := {"allow": true} if input.nope'))
    d = await undefined.decide(make_input("private-a"))
    assert not d.allow and d.reasons == (REASON_UNDEFINED,) and len(undefined.cache) == 0
    other = tmp_path / "err"
    other.mkdir()
    erroring = create_engine("opa-go", _bundle(other, 'decision := {"allow": 1 / count(input.candidates[0].tags)}'))
    d = await erroring.decide(make_input("private-a"))
    assert not d.allow and d.reasons[0].startswith(REASON_ERROR) and "divide by zero" in d.reasons[0]
    assert len(erroring.cache) == 0


async def test_closed_engine_fails_closed(fixtures, make_input) -> None:
    engine = create_engine("opa-go", load_bundle(fixtures / "basic"))
    await engine.close()
    d = await engine.decide(make_input("private-a"))
    assert not d.allow and d.reasons[0].startswith(FAIL_CLOSED_PREFIXES)


def test_missing_binding_says_how_to_install(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "opa_bindings", None)  # import fails as if not installed
    with pytest.raises(OpaGoUnavailable) as err:
        load_bindings()
    assert INSTALL_HINT in err.value.message
    assert "--ignore-requires-python opa-golib-python-bindings==0.4.4" in INSTALL_HINT
