"""Token and cost accounting: what each served attempt consumed, in tokens and US dollars.

Tokens come from the upstream's own ``usage`` object — the body of a non-streaming answer, or
the usage chunk of a stream (the gateway asks for it with ``stream_options.include_usage``).
When an answer carries no usable ``usage`` (missing, not integers, negative), the gateway
**estimates**: one token per :data:`CHARS_PER_TOKEN` characters (rounded up) of the prompt's
text contents and of the answer's text, and marks the figure ``estimated``.

Cost is tokens × the model's price per 1,000 tokens (a blended price, as the catalog keeps it):
the policy bundle's catalog (``data.govchaos.catalog.models[id].cost_per_1k_tokens``) when the
engine exposes its bundle, else the upstream's configured ``cost_per_1k_tokens``.

Booked per served attempt (:meth:`Accountant.charge`): the Prometheus counters
``govchaos_tokens_total{route,tenant,model,kind}`` (``kind`` ``prompt`` / ``completion``, or
``prompt_estimated`` / ``completion_estimated`` for estimates) and
``govchaos_cost_usd_total{route,tenant,model}``, the spend budgets (:mod:`gateway.budget`), and
the attempt's audit record (``tokens: {prompt, completion, estimated}``, ``cost_usd``).

>>> measure({"prompt_tokens": 3, "completion_tokens": 5}, prompt_chars=0, completion_chars=0)
(3, 5, False)
>>> measure(None, prompt_chars=10, completion_chars=1)
(3, 1, True)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry, Counter

CHARS_PER_TOKEN = 4  # the usual rule of thumb for English text with BPE tokenizers
_ROUND = 9  # decimals of a cost in the audit log (nano-dollars)


@dataclass(frozen=True, slots=True)
class Usage:
    """What one attempt consumed."""

    prompt_tokens: int
    completion_tokens: int
    estimated: bool
    cost_usd: float

    def audit(self) -> dict[str, Any]:
        """The fields an attempt audit record carries."""
        return {"tokens": {"prompt": self.prompt_tokens, "completion": self.completion_tokens,
                           "estimated": self.estimated},
                "cost_usd": self.cost_usd}


def _count(value: Any) -> int | None:
    return value if type(value) is int and value >= 0 else None


def _estimate(chars: int) -> int:
    return -(-chars // CHARS_PER_TOKEN)


def reported(usage: Any) -> tuple[int, int] | None:
    """(prompt, completion) tokens of an upstream ``usage`` object; None when it is missing or
    unusable (then the attempt is estimated)."""
    if isinstance(usage, dict):
        prompt = _count(usage.get("prompt_tokens"))
        completion = _count(usage.get("completion_tokens"))
        if prompt is not None and completion is not None:
            return prompt, completion
    return None


def measure(usage: Any, *, prompt_chars: int, completion_chars: int) -> tuple[int, int, bool]:
    """(prompt, completion, estimated) from an upstream ``usage`` object, or estimated from
    character counts when it is missing or unusable."""
    tokens = reported(usage)
    if tokens is not None:
        return tokens[0], tokens[1], False
    return _estimate(prompt_chars), _estimate(completion_chars), True


def prompt_chars(body: Mapping[str, Any]) -> int:
    """Characters of text in the request's messages (string contents and text parts)."""
    total = 0
    for message in body.get("messages") or ():
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, str):
            total += len(content)
        elif isinstance(content, list):
            for part in content:
                if isinstance(part, dict) and isinstance(part.get("text"), str):
                    total += len(part["text"])
    return total


def answer_chars(doc: Any) -> int:
    """Characters of the first choice's message content of a non-streaming answer."""
    try:
        content = doc["choices"][0]["message"].get("content")
    except (KeyError, IndexError, TypeError, AttributeError):
        return 0
    return len(content) if isinstance(content, str) else 0


def catalog_prices(bundle: Any) -> dict[str, float]:
    """``model id → cost_per_1k_tokens`` from a policy bundle's catalog (empty when the engine
    exposes no bundle, e.g. a remote OPA, or the catalog has no numeric prices)."""
    data = getattr(bundle, "data", None)
    try:
        models = data["govchaos"]["catalog"]["models"]  # type: ignore[index]
    except (KeyError, TypeError):
        return {}
    if not isinstance(models, dict):
        return {}
    prices = {}
    for model, entry in models.items():
        price = entry.get("cost_per_1k_tokens") if isinstance(entry, dict) else None
        if isinstance(price, (int, float)) and not isinstance(price, bool) and price >= 0:
            prices[model] = float(price)
    return prices


class AccountingMetrics:
    """The two counters, registered once per gateway registry (kept across config reloads)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.tokens = Counter("govchaos_tokens", "Tokens consumed by served attempts",
                              ["route", "tenant", "model", "kind"], registry=registry)
        self.cost = Counter("govchaos_cost_usd", "US dollars spent on served attempts",
                            ["route", "tenant", "model"], registry=registry)
        self._children: dict[tuple[str, str, str, bool], tuple[Any, Any, Any]] = {}

    def add(self, route: str, tenant: str, model: str, usage: Usage) -> None:
        key = (route, tenant, model, usage.estimated)
        children = self._children.get(key)
        if children is None:
            suffix = "_estimated" if usage.estimated else ""
            children = self._children[key] = (
                self.tokens.labels(route, tenant, model, "prompt" + suffix),
                self.tokens.labels(route, tenant, model, "completion" + suffix),
                self.cost.labels(route, tenant, model))
        prompt, completion, cost = children
        prompt.inc(usage.prompt_tokens)
        completion.inc(usage.completion_tokens)
        cost.inc(usage.cost_usd)


class Accountant:
    """Prices attempts and books them: metrics, and ``on_spend(tenant, route, usd)`` (the
    budgets)."""

    def __init__(self, metrics: AccountingMetrics, prices: Mapping[str, float],
                 on_spend: Callable[[str, str, float], None] | None = None) -> None:
        self.metrics = metrics
        self.prices = dict(prices)
        self.on_spend = on_spend

    @classmethod
    def for_models(cls, metrics: AccountingMetrics, configured: Iterable[tuple[str, float]],
                   bundle: Any, on_spend: Callable[[str, str, float], None] | None = None
                   ) -> "Accountant":
        """Prices of the catalog in ``bundle``, falling back to the configured ones."""
        prices = dict(configured)
        prices.update(catalog_prices(bundle))
        return cls(metrics, prices, on_spend)

    def charge(self, route: str, tenant: str, model: str, usage: Any, *, prompt_chars: int,
               completion_chars: int) -> Usage:
        """Measure, price and book one served attempt; returns what it consumed."""
        prompt, completion, estimated = measure(
            usage, prompt_chars=prompt_chars, completion_chars=completion_chars)
        cost = round((prompt + completion) * self.prices.get(model, 0.0) / 1000.0, _ROUND)
        booked = Usage(prompt, completion, estimated, cost)
        self.metrics.add(route, tenant, model, booked)
        if self.on_spend is not None and cost > 0:
            self.on_spend(tenant, route, cost)
        return booked
