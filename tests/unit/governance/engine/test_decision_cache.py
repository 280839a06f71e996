from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from governance.decision import Decision
from governance.engine.bundle import RegoModule
from governance.engine.cache import DecisionCache, uses_nondeterminism
from governance.engine.protocol import canonical_input


json_scalars = st.none() | st.booleans() | st.integers(-1000, 1000) | st.text(max_size=5)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=4),
    max_leaves=12,
)


@given(st.dictionaries(st.text(max_size=6), json_values, max_size=6), st.randoms())
def test_canonical_key_ignores_dict_key_order(doc, rnd) -> None:
    def shuffled(value):
        if isinstance(value, dict):
            items = list(value.items())
            rnd.shuffle(items)
            return {k: shuffled(v) for k, v in items}
        if isinstance(value, list):
            return [shuffled(v) for v in value]
        return value

    assert canonical_input(doc) == canonical_input(shuffled(doc))


@given(
    st.dictionaries(st.text(max_size=6), json_values, max_size=5),
    st.dictionaries(st.text(max_size=6), json_values, max_size=5),
)
def test_canonical_key_differs_for_different_inputs(a, b) -> None:
    if a != b:
        assert canonical_input(a) != canonical_input(b)


def test_canonical_key_of_model_matches_its_json(make_input) -> None:
    inp = make_input("private-a", "cloud-a")
    assert canonical_input(inp) == canonical_input(inp.model_dump(mode="json"))
    assert canonical_input(inp) != canonical_input(make_input("cloud-a", "private-a"))


def test_lru_bound_and_eviction_order() -> None:
    cache = DecisionCache(max_entries=2)
    d = Decision.deny("x")
    cache.put(b"a", d)
    cache.put(b"b", d)
    assert cache.get(b"a") is d  # a is now most recent
    cache.put(b"c", d)
    assert cache.get(b"b") is None and cache.get(b"a") is d and len(cache) == 2
    assert cache.hits == 2 and cache.misses == 1
    cache.clear()
    assert len(cache) == 0


def test_nondeterminism_scan() -> None:
    pure = RegoModule("a.rego", "package a\nx := 1 # time.now_ns() only in a comment\n")
    assert uses_nondeterminism([pure]) == ()
    impure = RegoModule("b.rego", "package b\nx := time.now_ns()\ny := rand.intn(\"k\", 3)\n")
    assert set(uses_nondeterminism([impure])) >= {"time.now_ns", "rand.intn"}
    http = RegoModule("c.rego", "package c\nr := http.send({})\nu := uuid.rfc4122(\"x\")\n")
    assert {"http.send", "uuid.rfc4122"} <= set(uses_nondeterminism([http]))
