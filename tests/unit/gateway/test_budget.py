"""Spend budgets (gateway.budget): the sliding window, the quantised policy input, Retry-After,
carrying spend over a reload, and the config's located errors."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.budget import WINDOW_S, BudgetBook, SpendWindow
from gateway.config import BudgetConfig, load_config
from gateway.errors import ConfigError


def book(*budgets: tuple[str, str, float], t: list[float]) -> BudgetBook:
    return BudgetBook([BudgetConfig(scope=s, name=n, usd_per_hour=u) for s, n, u in budgets],
                      lambda: t[0])


def test_spend_leaves_the_window_after_an_hour() -> None:
    w = SpendWindow()
    w.add(10.2, 1.0)
    w.add(10.9, 0.5)
    w.add(500.0, 2.0)
    assert w.spent(11.0) == 3.5
    assert w.spent(10.0 + WINDOW_S + 1.0) == 2.0  # the bucket of second 10 is gone
    assert w.spent(500.0 + WINDOW_S + 1.0) == 0.0


def test_only_the_budgets_of_the_request_apply() -> None:
    t = [0.0]
    b = book(("tenant", "acme", 1.0), ("route", "chat", 10.0), t=t)
    b.charge("acme", "chat", 0.5)
    b.charge("other", "chat", 1.0)
    state = b.state("acme", "chat")
    assert state is not None and set(state) == {"tenant", "route"}
    assert state["tenant"].remaining_ratio == 0.5 and state["route"].remaining_ratio == 0.85
    assert b.state("other", "code") is None
    assert set(b.state("other", "chat") or {}) == {"route"}
    assert book(t=t).state("acme", "chat") is None


def test_ratio_rounds_up_and_is_zero_only_when_spent() -> None:
    t = [0.0]
    b = book(("tenant", "acme", 1.0), t=t)
    b.charge("acme", "r", 0.995)
    s = b.state("acme", "r")["tenant"]  # type: ignore[index]
    assert (s.remaining_ratio, s.spent_usd, s.limit_usd) == (0.01, 0.99, 1.0)
    b.charge("acme", "r", 0.005)
    assert b.state("acme", "r")["tenant"].remaining_ratio == 0.0  # type: ignore[index]


@given(st.lists(st.floats(0.0, 0.2), max_size=60))
def test_the_policy_input_takes_at_most_101_values(costs: list[float]) -> None:
    t = [0.0]
    b = book(("route", "r", 1.0), t=t)
    seen = set()
    for c in costs:
        b.charge("x", "r", c)
        s = b.state("x", "r")["route"]  # type: ignore[index]
        assert 0.0 <= s.remaining_ratio <= 1.0
        assert round(s.remaining_ratio * 100) == pytest.approx(s.remaining_ratio * 100)
        seen.add(s)
    assert len(seen) <= 101


def test_retry_after_is_when_the_window_frees_below_the_limit() -> None:
    t = [100.0]
    b = book(("tenant", "acme", 1.0), t=t)
    b.charge("acme", "r", 0.6)
    t[0] = 1000.0
    b.charge("acme", "r", 0.6)
    t[0] = 1500.0
    # the 0.6 of second 100 expires at 100 + 1 + 3600: then 0.6 < 1.0 is left
    assert b.retry_after_s("acme", "r") == 100 + 1 + WINDOW_S - 1500
    assert book(("tenant", "acme", 1.0), t=t).retry_after_s("acme", "r") == 1.0


def test_carry_keeps_spend_of_budgets_that_stay() -> None:
    t = [0.0]
    b = book(("tenant", "acme", 1.0), ("route", "chat", 1.0), t=t)
    b.charge("acme", "chat", 0.5)
    new = b.carry([BudgetConfig(scope="tenant", name="acme", usd_per_hour=2.0),
                   BudgetConfig(scope="tenant", name="globex", usd_per_hour=1.0)])
    state = new.state("acme", "chat")
    assert state is not None and set(state) == {"tenant"}
    assert state["tenant"].remaining_ratio == 0.75  # 0.5 of the new 2.0 limit spent
    new.charge("acme", "chat", 0.5)
    assert b.state("acme", "chat")["tenant"].remaining_ratio == 0.0  # type: ignore[index]


def _config(tmp_path, budgets: str) -> ConfigError:
    path = tmp_path / "gw.yaml"
    path.write_text("auth: {keys_env: K}\nroutes: {chat: {}}\nbudgets:\n" + budgets)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    return info.value


def test_duplicate_budget_is_a_located_error(tmp_path) -> None:
    err = _config(tmp_path, "  - {scope: tenant, name: a, usd_per_hour: 1}\n"
                            "  - {scope: tenant, name: a, usd_per_hour: 2}\n")
    assert err.location.field == "budgets.1" and "duplicate budget for tenant 'a'" in err.message
    assert "budgets.0" in err.message


def test_budget_for_an_unknown_route_is_a_located_error(tmp_path) -> None:
    err = _config(tmp_path, "  - {scope: route, name: chaat, usd_per_hour: 1}\n")
    assert err.location.field == "budgets.0.name" and "unknown route 'chaat'" in err.message


@pytest.mark.parametrize("entry, field", [
    ("{scope: team, name: a, usd_per_hour: 1}", "budgets.0.scope"),
    ("{scope: tenant, name: a, usd_per_hour: 0}", "budgets.0.usd_per_hour"),
    ("{scope: tenant, name: a, usd_per_hour: .inf}", "budgets.0.usd_per_hour"),
    ("{scope: tenant, name: a}", "budgets.0.usd_per_hour"),
])
def test_bad_budget_fields_are_located(tmp_path, entry: str, field: str) -> None:
    assert _config(tmp_path, f"  - {entry}\n").location.field == field
