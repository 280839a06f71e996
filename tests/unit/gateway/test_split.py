"""Weighted splits: shares, renormalisation among the allowed, stickiness, minimal movement."""

from __future__ import annotations

import types

from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.split import WeightedSplit


def ups(*models: str) -> list[types.SimpleNamespace]:
    return [types.SimpleNamespace(model=m, name=f"{m}-{i}") for i, m in enumerate(models)]


def shares(split: WeightedSplit, plan, n: int = 20000) -> dict[str, float]:
    counts: dict[str, int] = {}
    for i in range(n):
        model = split.pick(plan, f"key-{i}")
        counts[model] = counts.get(model, 0) + 1
    return {m: c / n for m, c in counts.items()}


def test_shares_follow_the_weights() -> None:
    got = shares(WeightedSplit("r", [("a", 70), ("b", 20), ("c", 10)]), ups("a", "b", "c"))
    assert abs(got["a"] - 0.7) < 0.015 and abs(got["b"] - 0.2) < 0.015
    assert abs(got["c"] - 0.1) < 0.015


def test_weights_renormalise_among_the_members_in_the_plan() -> None:
    split = WeightedSplit("r", [("a", 60), ("b", 30), ("c", 10)])
    got = shares(split, ups("a", "c"))  # b denied or down: its share goes to the others
    assert set(got) == {"a", "c"} and abs(got["a"] - 60 / 70) < 0.015
    assert split.pick(ups("d"), "k") is None  # no member in the plan: no opinion


def test_a_zero_weight_member_is_only_a_failover_target() -> None:
    split = WeightedSplit("r", [("a", 1), ("b", 0)])
    assert set(shares(split, ups("a", "b"), 2000)) == {"a"}
    assert split.pick(ups("b"), "k") is None


def test_order_puts_the_pick_first_and_keeps_the_rest_in_rank_order() -> None:
    plan = ups("a", "b", "a", "c")
    split = WeightedSplit("r", [("b", 1)])
    ordered = split.order(plan, "k")
    assert [u.name for u in ordered] == ["b-1", "a-0", "a-2", "c-3"]


def test_raising_the_canary_weight_only_moves_keys_onto_the_canary() -> None:
    plan = ups("stable", "canary")
    before = WeightedSplit("r", [("stable", 95), ("canary", 5)])
    after = WeightedSplit("r", [("stable", 90), ("canary", 10)])
    moved = 0
    for i in range(5000):
        old, new = before.pick(plan, f"u{i}"), after.pick(plan, f"u{i}")
        if old != new:
            assert (old, new) == ("stable", "canary")
            moved += 1
    assert 0.03 < moved / 5000 < 0.07  # about the 5 % that must move, not a reshuffle


@settings(max_examples=50, deadline=None)
@given(st.text(min_size=1, max_size=40))
def test_the_pick_is_stable_for_a_key(key: str) -> None:
    split = WeightedSplit("r", [("a", 3), ("b", 1)])
    plan = ups("a", "b")
    assert split.pick(plan, key) == split.pick(list(reversed(plan)), key)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from("abcd"), min_size=1, max_size=8),
       st.dictionaries(st.sampled_from("abcde"), st.integers(0, 100), max_size=5),
       st.text(max_size=20))
def test_order_only_ever_reorders_the_plan(models, weights, key) -> None:
    # the split may never add an upstream the policy did not allow, nor drop one (failover)
    plan = ups(*models)
    ordered = WeightedSplit("r", list(weights.items())).order(plan, key)
    assert sorted(u.name for u in ordered) == sorted(u.name for u in plan)
    picked = WeightedSplit("r", list(weights.items())).pick(plan, key)
    if picked is not None:
        assert ordered[0].model == picked and weights[picked] > 0
