"""Weighted version splits (``routes.<r>.split``): which allowed model a request goes to first.

A split is applied to the request's ranked plan — the route's upstreams the policy allowed
(``decision.allowed``) and usable now — so it can only reorder what the policy already allows:

- weights are renormalised among the split members present in that plan: a member the policy
  denied, whose upstreams are all down or ejected, gets weight 0 and its share goes to the others;
- the picked member's upstreams move to the front (in the strategy's order); every other
  upstream keeps its rank behind them, so failover works exactly as without a split;
- the pick is weighted rendezvous hashing over a request key: the sticky key (the body's
  ``user`` or a header, ``routes.<r>.sticky``) when the request has one, else the request id.
  The same key keeps its version while the weights and the healthy set stay the same, and a
  weight change only moves the keys it must (no global reshuffle).

>>> import types
>>> split = WeightedSplit("r", [("a", 95.0), ("b", 5.0)])
>>> ups = [types.SimpleNamespace(model="a"), types.SimpleNamespace(model="b")]
>>> picks = [split.pick(ups, f"req-{i}") for i in range(2000)]
>>> 0.92 < picks.count("a") / 2000 < 0.98
True
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from typing import Any, Protocol

_SCALE = float(1 << 64)


class _HasModel(Protocol):
    model: str


def unit(key: str, model: str) -> float:
    """A uniform number in (0, 1) from ``key`` and ``model`` (stable across processes)."""
    digest = hashlib.blake2b(f"{key}\x00{model}".encode(), digest_size=8).digest()
    return (int.from_bytes(digest, "big") + 0.5) / _SCALE


class WeightedSplit:
    """One route's split: ``members`` are (model id, weight) pairs from the config."""

    __slots__ = ("route", "weights", "_picked", "_metrics")

    def __init__(self, route: str, members: Sequence[tuple[str, float]],
                 metrics: Any = None) -> None:
        self.route = route
        self.weights = {model: float(weight) for model, weight in members}
        self._metrics = metrics
        self._picked: dict[str, Any] = {}  # model -> labelled counter, once used

    def pick(self, plan: Sequence[_HasModel], key: str) -> str | None:
        """The split member ``key`` goes to among the models of ``plan`` (None: no split
        member with a positive weight is in the plan)."""
        best: str | None = None
        best_score = -1.0
        weights = self.weights
        for model in {up.model for up in plan}:
            weight = weights.get(model, 0.0)
            if weight <= 0.0:
                continue
            # weighted rendezvous: the largest w / -ln(u) wins with probability w / sum(w)
            score = weight / -math.log(unit(key, model))
            if score > best_score or (score == best_score and best is not None and model < best):
                best, best_score = model, score
        return best

    def order(self, ranked: list[Any], key: str) -> list[Any]:
        """``ranked`` with the picked member's upstreams first (each group keeps its order)."""
        model = self.pick(ranked, key)
        if model is None:
            return ranked
        if self._metrics is not None:
            counter = self._picked.get(model)
            if counter is None:
                counter = self._picked[model] = self._metrics.split_picks.labels(
                    self.route, model)
            counter.inc()
        if ranked[0].model == model and all(up.model != model for up in ranked[1:]):
            return ranked
        return ([up for up in ranked if up.model == model]
                + [up for up in ranked if up.model != model])


__all__ = ["WeightedSplit", "unit"]
