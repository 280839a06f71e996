from __future__ import annotations

import pytest

from governance.decision import Decision
from governance.engine import create_engine, load_bundle
from governance.engine.base import CompiledEngine
from governance.engine.protocol import REASON_ERROR, REASON_INVALID, REASON_UNDEFINED, PolicyEngine
from governance.engine.regorus_engine import RegorusEngine, vm_unsafe_rules
from governance.engine.registry import UnknownEngineError
from governance.errors import PolicyCompileError


EMBEDDED = ["regorus", "regopy", "opa-go"]


@pytest.mark.parametrize("kind", EMBEDDED)
async def test_pii_only_reaches_private_models(kind, fixtures, make_input) -> None:
    engine = create_engine(kind, load_bundle(fixtures / "basic"))
    assert isinstance(engine, PolicyEngine)
    d = await engine.decide(make_input("private-a", "cloud-a"))
    assert d.allow and d.allowed == ("private-a",)
    assert d.denied == {"cloud-a": ("data_class_ceiling",)}
    assert d.obligations.log_prompts is False


@pytest.mark.parametrize("kind", EMBEDDED)
async def test_no_candidates_is_deny_with_reason(kind, fixtures, make_input) -> None:
    engine = create_engine(kind, load_bundle(fixtures / "basic"))
    d = await engine.decide(make_input())
    assert not d.allow and d.reasons == ("no_allowed_candidate",)


@pytest.mark.parametrize("kind", EMBEDDED)
def test_compile_error_is_located(kind, fixtures) -> None:
    with pytest.raises(PolicyCompileError) as err:
        create_engine(kind, load_bundle(fixtures / "broken"))
    loc = err.value.location
    assert loc.file.endswith("broken/bad.rego") and loc.line in (6, 7) and loc.column


def test_vm_bug_guard_picks_interpreter_for_ref_head_contains(fixtures) -> None:
    bundle = load_bundle(fixtures / "basic")
    assert vm_unsafe_rules(bundle.decision_modules)
    assert RegorusEngine(bundle).backend == "interpreter"


async def test_vm_used_when_safe_and_agrees(tmp_path, make_input) -> None:
    (tmp_path / "p.rego").write_text(
        "package govchaos.gateway\nimport rego.v1\n"
        'allowed contains c.id if { some c in input.candidates; c.hosting == "private" }\n'
        'decision := {"allow": count(allowed) > 0, "allowed": sort([x | some x in allowed])}\n'
    )
    bundle = load_bundle(tmp_path)
    vm, interp = RegorusEngine(bundle), RegorusEngine(bundle, mode="interpreter")
    assert vm.backend == "vm" and interp.backend == "interpreter"
    inp = make_input("private-a", "cloud-a")
    assert await vm.decide(inp) == await interp.decide(inp)


def _bundle_with(tmp_path, body: str):
    (tmp_path / "p.rego").write_text(f"package govchaos.gateway\nimport rego.v1\n{body}\n")
    return load_bundle(tmp_path)


@pytest.mark.parametrize("kind", EMBEDDED)
async def test_undefined_decision_fails_closed(kind, tmp_path, make_input) -> None:
    engine = create_engine(kind, _bundle_with(tmp_path, 'decision := {"allow": true} if input.nope'))
    d = await engine.decide(make_input("private-a"))
    assert not d.allow and d.reasons == (REASON_UNDEFINED,)


@pytest.mark.parametrize("kind", EMBEDDED)
async def test_output_not_a_decision_fails_closed(kind, tmp_path, make_input) -> None:
    engine = create_engine(kind, _bundle_with(tmp_path, 'decision := {"allow": "yes"}'))
    d = await engine.decide(make_input("private-a"))
    assert not d.allow and d.reasons[0].startswith(REASON_INVALID)


async def test_engine_exception_fails_closed(fixtures, make_input) -> None:
    class Exploding(CompiledEngine):
        def _compile(self, bundle):
            return None

        def _evaluate(self, state, input_json):
            raise RuntimeError("kaboom")

    d = await Exploding(load_bundle(fixtures / "basic"), isolation="inline").decide(make_input("private-a"))
    assert d == Decision.deny(d.reasons[0]) and d.reasons[0].startswith(REASON_ERROR)
    assert "kaboom" in d.reasons[0]


async def test_builtin_error_fails_closed(tmp_path, make_input) -> None:
    engine = create_engine("regorus", _bundle_with(tmp_path, 'decision := {"allow": 1 / count(input.nothing_here)}'))
    d = await engine.decide(make_input("private-a"))
    assert not d.allow and d.reasons[0].startswith("policy_")


async def test_cache_hit_and_invalidated_on_reload(fixtures, tmp_path, make_input) -> None:
    engine = create_engine("regorus", load_bundle(fixtures / "basic"))
    inp = make_input("private-a", "cloud-a")
    first = await engine.decide(inp)
    assert await engine.decide(inp) is first and engine.cache.hits == 1
    other = _bundle_with(tmp_path, 'decision := {"allow": false, "reasons": ["closed"]}')
    await engine.reload(other)
    assert len(engine.cache) == 0
    d = await engine.decide(inp)
    assert d.reasons == ("closed",) and engine.bundle is other


async def test_failed_reload_keeps_old_policy(fixtures, make_input) -> None:
    engine = create_engine("regorus", load_bundle(fixtures / "basic"))
    before = engine.bundle
    with pytest.raises(PolicyCompileError):
        await engine.reload(load_bundle(fixtures / "broken"))
    assert engine.bundle is before
    assert (await engine.decide(make_input("private-a"))).allow


async def test_nondeterministic_policy_is_never_cached(fixtures, make_input) -> None:
    engine = create_engine("regorus", load_bundle(fixtures / "nondeterministic"))
    assert not engine.cacheable
    inp = make_input("m")
    await engine.decide(inp)
    await engine.decide(inp)
    assert len(engine.cache) == 0


async def test_fail_closed_decisions_are_not_cached(tmp_path, make_input) -> None:
    engine = create_engine("regorus", _bundle_with(tmp_path, 'decision := 1 if input.nope'))
    await engine.decide(make_input("private-a"))
    assert len(engine.cache) == 0


def test_unknown_engine_suggests_closest() -> None:
    with pytest.raises(UnknownEngineError, match="did you mean 'regorus'"):
        create_engine("regorous")
    with pytest.raises(UnknownEngineError, match="known: "):
        create_engine("zzz")
