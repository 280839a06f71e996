"""The generic registry and the one "did you mean" hint (governance/registry.py)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from governance.registry import Registry, closest, did_you_mean, suggestion


class LookupFailed(Exception):
    pass


def _registry() -> Registry[int]:
    registry: Registry[int] = Registry("fault kind", LookupFailed)
    for value, name in enumerate(["latency", "bandwidth", "reset_peer"]):
        registry.register(name, value)
    return registry


def test_get_returns_the_registered_item() -> None:
    registry = _registry()
    assert registry.get("bandwidth") == 1
    assert "latency" in registry and "nope" not in registry
    assert len(registry) == 3


def test_names_are_sorted_and_iteration_follows_them() -> None:
    registry = _registry()
    assert registry.names() == ("bandwidth", "latency", "reset_peer")
    assert list(registry) == [1, 0, 2]


def test_unknown_name_raises_the_registry_error_with_the_closest_names() -> None:
    with pytest.raises(LookupFailed) as info:
        _registry().get("latncy")
    assert str(info.value) == "unknown fault kind 'latncy' (did you mean 'latency'?)"


def test_unknown_name_with_nothing_close_lists_every_name() -> None:
    with pytest.raises(LookupFailed) as info:
        _registry().get("zzzzzz")
    assert str(info.value) == "unknown fault kind 'zzzzzz' (known: bandwidth, latency, reset_peer)"


def test_an_unhashable_name_is_an_unknown_name_not_a_type_error() -> None:
    registry = _registry()
    with pytest.raises(LookupFailed, match="unknown fault kind"):
        registry.get(["latency"])  # type: ignore[arg-type]
    assert ["latency"] not in registry


def test_registering_a_name_twice_is_a_programming_error() -> None:
    registry = _registry()
    with pytest.raises(ValueError, match="fault kind 'latency' registered twice"):
        registry.register("latency", 9)
    assert registry.get("latency") == 0


def test_unknown_can_be_overridden_for_a_foreign_error_shape() -> None:
    class Toxics(Registry[int]):
        def unknown(self, name: str) -> Exception:
            return KeyError(f"invalid toxic type: {name!r}{did_you_mean(name, self.names())}")

    toxics = Toxics("toxic", LookupFailed)
    toxics.register("slicer", 1)
    with pytest.raises(KeyError, match=r"invalid toxic type: 'slicr' \(did you mean 'slicer'\?\)"):
        toxics.get("slicr")


def test_did_you_mean_joins_several_close_names_best_first() -> None:
    assert did_you_mean("keys", ["key", "keyless", "ephemeral"], n=2, cutoff=0.6) == (
        " (did you mean 'key' or 'keyless'?)"
    )
    assert did_you_mean("zzz", ["key"]) == ""
    assert suggestion("zzz", ["b", "a"]) == " (known: a, b)"


@given(st.lists(st.text(min_size=1, max_size=8), min_size=1, max_size=6, unique=True))
def test_an_exact_name_is_always_its_own_closest(names: list[str]) -> None:
    for name in names:
        assert closest(name, names)[0] == name
