from __future__ import annotations

import pytest

from chaos.faults import FaultKindError, default_registry
from chaos.faults.base import FaultApplyError, FaultKind
from chaos.scenario.model import FaultSpec

from fault_fakes import context


def _spec(kind: str, target: str = "cloud", **params) -> FaultSpec:
    return FaultSpec(name="f", kind=kind, target=target, at_s=0, duration_s=1, params=params)


async def _apply_and_revert(kind: str, target: str = "cloud", **params):
    registry = default_registry()
    ctx = context()
    spec = _spec(kind, target, **params)
    revert = await registry.get(kind).apply(ctx, spec, registry.parse_params(spec))
    applied = list(ctx.rec.calls)
    await revert()
    return applied, ctx.rec.calls[len(applied):]


def test_every_kind_satisfies_the_protocol() -> None:
    registry = default_registry()
    required = {
        "upstream_down", "latency", "reset_peer", "bandwidth", "timeout", "error_500",
        "rate_limit_429", "malformed_output", "schema_violation", "empty_content", "stream_cut",
        "process_kill", "gpu_lost", "gpu_ecc", "gpu_throttle",
    }
    assert required <= set(registry.names())
    for name in registry.names():
        kind = registry.get(name)
        assert isinstance(kind, FaultKind)
        assert kind.params.model_validate({}) is not None  # defaults make every kind usable


def test_unknown_kind_suggests_closest_names() -> None:
    with pytest.raises(FaultKindError) as info:
        default_registry().get("gpu_lst")
    assert "'gpu_lost'" in info.value.message
    with pytest.raises(FaultKindError) as info:
        default_registry().get("zzzzzz")
    assert "known: " in info.value.message


def test_params_rejects_unknown_names_with_allowed_list() -> None:
    with pytest.raises(FaultKindError) as info:
        default_registry().parse_params(_spec("latency", latency=5))
    assert info.value.field == ("params", "latency")
    assert "latency_ms" in info.value.message


def test_register_twice_is_refused() -> None:
    registry = default_registry()
    with pytest.raises(ValueError):
        registry.register(registry.get("latency"))


async def test_upstream_down_disables_then_enables() -> None:
    applied, reverted = await _apply_and_revert("upstream_down")
    assert applied == [("enabled", "cloud", False)]
    assert reverted == [("enabled", "cloud", True)]


async def test_latency_toxic_attributes() -> None:
    applied, reverted = await _apply_and_revert("latency", latency_ms=300, jitter_ms=20)
    assert applied == [("add_toxic", "cloud", "latency", "downstream", 1.0,
                        {"latency": 300, "jitter": 20})]
    assert reverted == [("remove_toxic", "cloud")]


@pytest.mark.parametrize(
    ("kind", "params", "toxic", "attrs"),
    [
        ("reset_peer", {"after_ms": 10}, "reset_peer", {"timeout": 10}),
        ("bandwidth", {"rate_kbps": 2}, "bandwidth", {"rate": 2}),
        ("timeout", {}, "timeout", {"timeout": 0}),
    ],
)
async def test_network_toxics(kind, params, toxic, attrs) -> None:
    applied, _ = await _apply_and_revert(kind, **params)
    assert applied[0][2] == toxic and applied[0][5] == attrs


@pytest.mark.parametrize(
    ("kind", "provider_kind"),
    [("error_500", "error_500"), ("rate_limit_429", "rate_limit_429"),
     ("schema_violation", "schema_violation"), ("empty_content", "empty_content"),
     ("stream_cut", "stream_cut"), ("hang", "hang"), ("slow_stream", "slow_stream"),
     ("malformed_output", "malformed_json")],
)
async def test_provider_faults_set_then_clear(kind, provider_kind) -> None:
    applied, reverted = await _apply_and_revert(kind)
    assert applied[0][:3] == ("set_fault", "cloud", provider_kind)
    assert reverted == [("clear_fault", "cloud")]


async def test_truncated_variant() -> None:
    applied, _ = await _apply_and_revert("malformed_output", variant="truncated_json")
    assert applied[0][2] == "truncated_json"


async def test_process_kill_restarts() -> None:
    applied, reverted = await _apply_and_revert("process_kill")
    assert applied == [("kill", "cloud")] and reverted == [("restart", "cloud")]


async def test_gpu_lost_reports_xid79_then_kills_and_repairs_in_reverse() -> None:
    applied, reverted = await _apply_and_revert("gpu_lost", target="gpu")
    assert applied == [("gpu_set", 0, "lost", 79), ("kill", "gpu")]
    assert reverted == [("restart", "gpu"), ("gpu_clear", 0)]


async def test_gpu_ecc_contained_is_degraded() -> None:
    applied, _ = await _apply_and_revert("gpu_ecc", target="gpu", xid=94)
    assert applied[0] == ("gpu_set", 0, "degraded", 94)
    assert applied[1][:3] == ("set_fault", "gpu", "error_500")


async def test_gpu_throttle_degrades_and_slows() -> None:
    applied, reverted = await _apply_and_revert("gpu_throttle", target="gpu")
    assert applied[0] == ("gpu_set", 0, "degraded", None)
    assert applied[1][2] == "latency"
    assert reverted == [("remove_toxic", "gpu"), ("gpu_clear", 0)]


async def test_gpu_fault_on_cpu_upstream_fails_to_apply() -> None:
    with pytest.raises(FaultApplyError):
        await _apply_and_revert("gpu_lost", target="cloud")
