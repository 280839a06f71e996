"""Spend budgets: US dollars per sliding hour, per tenant or per route; their state is policy input.

Config (``budgets:`` in the gateway config, :class:`gateway.config.BudgetConfig`)::

    budgets:
      - {scope: tenant, name: globex-retail, usd_per_hour: 2.0}
      - {scope: route, name: customer-chat, usd_per_hour: 5.0}

Every served attempt's cost (:mod:`gateway.accounting`) is added to the budgets of its tenant
and its route. Each decision carries the state of the budgets that apply to the request as
``input.budget`` — ``{"tenant": {...}, "route": {...}}``, only the scopes that have a budget,
absent when none does — each ``{"spent_usd", "limit_usd", "remaining_ratio"}``. The policy
decides what that means (the shipped one: below 20 % only cheap models, at 0 a deny whose
reason starts with ``budget_exceeded:``); the gateway answers such a deny with 429
``budget_exceeded`` and a ``Retry-After`` of when the window will have freed enough
(:meth:`BudgetBook.retry_after_s`).

Quantised for the decision cache: ``remaining_ratio`` is rounded **up** to the next 1 % of the
limit (0 only when nothing is left) and ``spent_usd`` is the limit minus that share, so one
budget gives at most 101 distinct inputs an hour instead of a new one per request. The ratio
therefore reads up to 1 % of the limit high, never low enough to deny before the limit is
spent.

The window is one hour in one-second buckets (at most 3,600 per budget). Spend is booked when
an attempt has been served, so requests in flight when the limit is reached can still overspend
it by their own cost. State is **per process** (docs/gateway.md, "Budgets"): it survives a
config reload (:meth:`BudgetBook.carry`), not a restart.

>>> t = [0.0]
>>> book = BudgetBook([BudgetConfig(scope="tenant", name="acme", usd_per_hour=1.0)], lambda: t[0])
>>> book.charge("acme", "chat", 0.85); book.state("acme", "chat")["tenant"].remaining_ratio
0.15
>>> book.charge("acme", "chat", 0.2); book.state("acme", "chat")["tenant"].remaining_ratio
0.0
>>> t[0] = 10.0; book.retry_after_s("acme", "chat")
3591.0
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

from gateway.config import BudgetConfig
from governance.decision import BudgetState

WINDOW_S = 3600.0
STEPS = 100  # remaining_ratio is quantised to 1/STEPS of the limit
_EPS = 1e-9


class SpendWindow:
    """Dollars spent in the last :data:`WINDOW_S` seconds, in one-second buckets."""

    __slots__ = ("_buckets", "_total")

    def __init__(self) -> None:
        self._buckets: deque[list[float]] = deque()  # [second, usd], oldest first
        self._total = 0.0

    def add(self, now: float, usd: float) -> None:
        second = float(math.floor(now))
        buckets = self._buckets
        if buckets and buckets[-1][0] == second:
            buckets[-1][1] += usd
        else:
            buckets.append([second, usd])
        self._total += usd

    def spent(self, now: float) -> float:
        buckets = self._buckets
        # a bucket holds spends of [second, second + 1): gone once the newest of them is
        horizon = now - WINDOW_S - 1.0
        while buckets and buckets[0][0] <= horizon:
            self._total -= buckets.popleft()[1]
        if not buckets:
            self._total = 0.0
        return max(self._total, 0.0)

    def seconds_until_below(self, now: float, limit: float) -> float:
        """Seconds until the spend in the window is below ``limit`` (0: it is already)."""
        left = self.spent(now)
        if left < limit:
            return 0.0
        for second, usd in self._buckets:
            left -= usd
            if left < limit:
                return max(second + 1.0 + WINDOW_S - now, 0.0)
        return WINDOW_S  # unreachable: an empty window spends 0 < limit


class Budget:
    __slots__ = ("scope", "name", "limit_usd", "window", "_states")

    def __init__(self, cfg: BudgetConfig, window: SpendWindow | None = None) -> None:
        self.scope = cfg.scope
        self.name = cfg.name
        self.limit_usd = cfg.usd_per_hour
        self.window = window if window is not None else SpendWindow()
        self._states: dict[int, BudgetState] = {}

    def state(self, now: float) -> BudgetState:
        """The quantised state (module docstring); one object per step, reused."""
        limit = self.limit_usd
        remaining = (limit - self.window.spent(now)) / limit
        step = max(0, min(STEPS, math.ceil(remaining * STEPS - _EPS)))
        state = self._states.get(step)
        if state is None:
            ratio = step / STEPS
            state = self._states[step] = BudgetState.model_construct(
                spent_usd=round(limit * (1.0 - ratio), 6), limit_usd=limit,
                remaining_ratio=ratio)
        return state

    def exhausted(self, now: float) -> bool:
        return self.window.spent(now) >= self.limit_usd * (1.0 - _EPS)


class BudgetBook:
    """The budgets of one gateway process, looked up per request by tenant and route."""

    def __init__(self, budgets: Iterable[BudgetConfig], clock: Callable[[], float],
                 windows: dict[tuple[str, str], SpendWindow] | None = None) -> None:
        self.clock = clock
        self.tenants: dict[str, Budget] = {}
        self.routes: dict[str, Budget] = {}
        for cfg in budgets:
            window = (windows or {}).get((cfg.scope, cfg.name))
            (self.tenants if cfg.scope == "tenant" else self.routes)[cfg.name] = Budget(cfg, window)
        self.active = bool(self.tenants or self.routes)

    def carry(self, budgets: Iterable[BudgetConfig]) -> "BudgetBook":
        """A book for a reloaded config: a budget with the same scope and name keeps its
        window (what was spent this hour); its new limit applies at once."""
        windows = {(b.scope, b.name): b.window for b in self.all()}
        return BudgetBook(budgets, self.clock, windows)

    def all(self) -> list[Budget]:
        return [*self.tenants.values(), *self.routes.values()]

    def state(self, tenant: str, route: str) -> dict[str, BudgetState] | None:
        """``input.budget`` for a request (None when no budget applies)."""
        if not self.active:
            return None
        now = self.clock()
        out = {}
        b = self.tenants.get(tenant)
        if b is not None:
            out["tenant"] = b.state(now)
        b = self.routes.get(route)
        if b is not None:
            out["route"] = b.state(now)
        return out or None

    def charge(self, tenant: str, route: str, usd: float) -> None:
        if not self.active:
            return
        now = self.clock()
        b = self.tenants.get(tenant)
        if b is not None:
            b.window.add(now, usd)
        b = self.routes.get(route)
        if b is not None:
            b.window.add(now, usd)

    def retry_after_s(self, tenant: str, route: str) -> float:
        """Whole seconds until every exhausted budget of this request is below its limit again
        (at least 1)."""
        now = self.clock()
        waits = [b.window.seconds_until_below(now, b.limit_usd)
                 for b in (self.tenants.get(tenant), self.routes.get(route))
                 if b is not None and b.exhausted(now)]
        return float(max(1, math.ceil(max(waits, default=1.0))))

    def export(self, metrics: Any) -> None:
        """Set the budget gauges of ``metrics`` (gateway.metrics) at scrape time."""
        now = self.clock()
        for b in self.all():
            spent = b.window.spent(now)
            metrics.budget_spent.labels(b.scope, b.name).set(spent)
            metrics.budget_limit.labels(b.scope, b.name).set(b.limit_usd)
            metrics.budget_remaining.labels(b.scope, b.name).set(
                max(0.0, (b.limit_usd - spent) / b.limit_usd))
