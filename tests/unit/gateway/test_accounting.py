"""Token and cost accounting (gateway.accounting): usage or an estimate, prices, counters."""

from __future__ import annotations

from types import SimpleNamespace

from prometheus_client import CollectorRegistry

from gateway.accounting import (
    Accountant,
    AccountingMetrics,
    answer_chars,
    catalog_prices,
    measure,
    prompt_chars,
)


def test_usage_is_taken_as_reported() -> None:
    assert measure({"prompt_tokens": 0, "completion_tokens": 9}, prompt_chars=99,
                   completion_chars=99) == (0, 9, False)


def test_unusable_usage_is_estimated() -> None:
    for usage in (None, {}, {"prompt_tokens": 1}, {"prompt_tokens": -1, "completion_tokens": 1},
                  {"prompt_tokens": 1.5, "completion_tokens": 1}, {"prompt_tokens": True,
                                                                   "completion_tokens": 1}, "x"):
        assert measure(usage, prompt_chars=8, completion_chars=9) == (2, 3, True)


def test_prompt_and_answer_characters() -> None:
    body = {"messages": [{"role": "user", "content": "abcd"},
                         {"role": "user", "content": [{"type": "text", "text": "ef"},
                                                      {"type": "image_url"}]},
                         "junk"]}
    assert prompt_chars(body) == 6
    assert answer_chars({"choices": [{"message": {"content": "hello"}}]}) == 5
    assert answer_chars({"choices": []}) == 0 and answer_chars(None) == 0


def test_catalog_prices_win_over_configured_ones() -> None:
    bundle = SimpleNamespace(data={"govchaos": {"catalog": {"models": {
        "a": {"cost_per_1k_tokens": 0.5}, "b": {"cost_per_1k_tokens": "free"}, "c": 3}}}})
    assert catalog_prices(bundle) == {"a": 0.5}
    assert catalog_prices(None) == {}
    acc = Accountant.for_models(AccountingMetrics(CollectorRegistry()), [("a", 9.0), ("b", 2.0)],
                                bundle)
    assert acc.prices == {"a": 0.5, "b": 2.0}


def test_charge_books_counters_and_spend() -> None:
    registry = CollectorRegistry()
    spent: list[tuple[str, str, float]] = []
    acc = Accountant(AccountingMetrics(registry), {"m": 2.0},
                     lambda t, r, usd: spent.append((t, r, usd)))
    usage = acc.charge("chat", "acme", "m", {"prompt_tokens": 300, "completion_tokens": 200},
                       prompt_chars=0, completion_chars=0)
    assert (usage.prompt_tokens, usage.completion_tokens, usage.estimated, usage.cost_usd) == (
        300, 200, False, 1.0)
    acc.charge("chat", "acme", "unpriced", None, prompt_chars=4, completion_chars=4)
    labels = {"route": "chat", "tenant": "acme", "model": "m"}
    assert registry.get_sample_value("govchaos_tokens_total", {**labels, "kind": "prompt"}) == 300
    assert registry.get_sample_value("govchaos_cost_usd_total", labels) == 1.0
    assert registry.get_sample_value(
        "govchaos_tokens_total", {**labels, "model": "unpriced", "kind": "completion_estimated"}) == 1
    assert spent == [("acme", "chat", 1.0)]  # an unpriced model costs nothing, books no spend


def test_reported_usage_is_what_measure_trusts() -> None:
    """The router decides whether to measure the prompt from the same check measure() uses:
    negative or non-integer counts are not reported usage (they are estimated)."""
    from gateway.accounting import measure, reported

    for usage in ({"prompt_tokens": -1, "completion_tokens": 2}, {"prompt_tokens": 1.0,
                  "completion_tokens": 2}, {"prompt_tokens": True, "completion_tokens": 2},
                  None, [], {"completion_tokens": 2}):
        assert reported(usage) is None
        assert measure(usage, prompt_chars=8, completion_chars=4) == (2, 1, True)
    assert reported({"prompt_tokens": 3, "completion_tokens": 0}) == (3, 0)
