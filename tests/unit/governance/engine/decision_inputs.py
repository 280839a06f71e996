"""Hypothesis strategies for raw decision inputs, valid and malformed, over a bundle's data.

A raw input is what any OPA client may send (``POST /v1/data/...``), not only what the gateway's
typed :class:`~governance.decision.DecisionInput` can express: fields missing, of the wrong
type, candidates without ids or that are not objects, extra keys. Engines must agree on every
one of them (DESIGN.md §5, invariant 8), and the policy must deny the malformed ones.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hypothesis import strategies as st

MISSING = object()  # a field left out of the input

_ODD_SCALARS = st.sampled_from([None, 0, 1, -3, 2.5, True, False, "", " ", "ü", [], {}])


def _names(data: Mapping[str, Any], key: str) -> list[str]:
    value = data.get("govchaos", {}).get(key, {})
    return sorted(value) if isinstance(value, dict) else []


def _field(known: list[str], *, extra: tuple[str, ...] = ("unknown-x",)) -> st.SearchStrategy[Any]:
    """A field that names something: a known name (mostly), an unknown one, or anything odd."""
    choices: list[st.SearchStrategy[Any]] = [st.just(MISSING), _ODD_SCALARS, st.sampled_from(extra)]
    if known:
        choices.insert(0, st.sampled_from(known))
        choices.insert(0, st.sampled_from(known))
    choices.append(st.lists(st.sampled_from(known or list(extra)), max_size=2))
    return st.one_of(*choices)


def candidate(catalog: Mapping[str, Mapping[str, Any]]) -> st.SearchStrategy[Any]:
    """A candidate: a faithful catalog entry, a tampered one, one without an id, or junk."""
    ids = sorted(catalog) or ["m"]

    @st.composite
    def faithful(draw: Any) -> dict[str, Any]:
        cid = draw(st.sampled_from(ids))
        entry = catalog.get(cid, {})
        cand: dict[str, Any] = {"id": cid}
        for key in ("provider", "hosting", "region", "version", "cost_per_1k_tokens", "tags"):
            if key in entry:
                cand[key] = entry[key]
        cand.setdefault("provider", "p")
        cand.setdefault("hosting", "cloud")
        cand.setdefault("region", "eu")
        cand["healthy"] = draw(st.booleans())
        return cand

    @st.composite
    def tampered(draw: Any) -> dict[str, Any]:
        cand = draw(faithful())
        key = draw(st.sampled_from(["id", "provider", "hosting", "region", "version", "healthy",
                                    "cost_per_1k_tokens", "tags", "extra"]))
        how = draw(st.sampled_from(["drop", "odd", "other"]))
        if how == "drop":
            cand.pop(key, None)
        elif how == "odd":
            cand[key] = draw(_ODD_SCALARS)
        else:
            cand[key] = draw(st.sampled_from(["cloud", "private", "edge", "us-east-1", "eu",
                                              "x", *ids]))
        return cand

    junk = st.one_of(_ODD_SCALARS, st.sampled_from(ids))
    return st.one_of(faithful(), faithful(), tampered(), tampered(), junk)


_RATIOS = st.sampled_from([0.0, 0.01, 0.05, 0.19, 0.2, 0.5, 1.0])


@st.composite
def budget_state(draw: Any) -> Any:
    """A budget state as the gateway sends it, a damaged one, or junk."""
    ratio = draw(_RATIOS)
    state: dict[str, Any] = {"spent_usd": round(2.0 * (1 - ratio), 6), "limit_usd": 2.0,
                             "remaining_ratio": ratio}
    how = draw(st.sampled_from(["faithful", "faithful", "faithful", "drop", "odd", "junk"]))
    if how == "drop":
        state.pop(draw(st.sampled_from(sorted(state))))
    elif how == "odd":
        state[draw(st.sampled_from(sorted(state)))] = draw(_ODD_SCALARS)
    elif how == "junk":
        return draw(_ODD_SCALARS)
    return state


def budgets() -> st.SearchStrategy[Any]:
    """``input.budget``: absent (mostly), per scope, an unknown scope, or junk."""
    scopes = st.dictionaries(st.sampled_from(["tenant", "route", "tenant", "route", "team"]),
                             budget_state(), max_size=2)
    return st.one_of(st.just(MISSING), st.just(MISSING), scopes, scopes, _ODD_SCALARS)


@st.composite
def raw_inputs(draw: Any, data: Mapping[str, Any]) -> dict[str, Any]:
    """One raw decision input for a bundle whose data is ``data``."""
    gov = data.get("govchaos", {})
    models = gov.get("catalog", {}).get("models", {})
    catalog = models if isinstance(models, dict) else {}
    classes = _names(data, "data_classes") or ["public", "internal", "pii", "phi"]
    doc: dict[str, Any] = {
        "route": draw(_field(_names(data, "routes"))),
        "tenant": draw(_field(_names(data, "tenants"))),
        "data_classes": draw(st.one_of(
            st.lists(st.sampled_from([*classes, "biometric"]), max_size=3),
            st.lists(st.sampled_from(classes), max_size=2),
            st.just(MISSING), _ODD_SCALARS, st.lists(_ODD_SCALARS, max_size=2),
        )),
        "region": draw(st.one_of(st.just(MISSING), st.sampled_from(["eu", "us", "eu-central-1"]),
                                 _ODD_SCALARS)),
        "requested_model": draw(st.one_of(st.just(MISSING), st.just(MISSING),
                                          st.sampled_from(sorted(catalog) or ["m"]), _ODD_SCALARS)),
        "candidates": draw(st.one_of(
            st.lists(candidate(catalog), min_size=1, max_size=4),
            st.lists(candidate(catalog), min_size=1, max_size=4),
            st.just(MISSING), _ODD_SCALARS,
        )),
        "max_tokens": draw(st.one_of(st.just(MISSING), st.integers(-5, 5000), _ODD_SCALARS)),
        "stream": draw(st.one_of(st.just(MISSING), st.booleans(), _ODD_SCALARS)),
        "budget": draw(budgets()),
    }
    if draw(st.booleans()):
        doc["extra_field"] = draw(_ODD_SCALARS)
    return {k: v for k, v in doc.items() if v is not MISSING}
