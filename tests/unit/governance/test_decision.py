"""The decision contract is exact: a policy output that does not fit it is a deny, never coerced."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from governance.decision import Decision
from governance.engine.protocol import REASON_INVALID, decision_from_value

OK = {"allow": True, "allowed": ["m"]}

INVALID = [
    ({"allow": "yes", "allowed": ["m"]}, "allow: Input should be a valid boolean"),
    ({"allow": 1, "allowed": ["m"]}, "allow: Input should be a valid boolean"),
    ({**OK, "obligations": {"log_prompts": "no"}}, "obligations.log_prompts"),
    ({**OK, "obligations": {"log_prompts": 0}}, "obligations.log_prompts"),
    ({**OK, "obligations": {"max_tokens": "512"}}, "obligations.max_tokens"),
    ({**OK, "obligations": {"max_tokens": 512.5}}, "obligations.max_tokens"),
    ({**OK, "obligations": {"max_tokens": 0}}, "obligations.max_tokens"),
    ({**OK, "obligations": {"max_tokens": True}}, "obligations.max_tokens"),
    ({**OK, "obligations": {"redact": "email"}}, "obligations.redact"),
    ({**OK, "obligations": {"retention_days": 1}}, "obligations.retention_days: Extra inputs"),
    ({**OK, "obligation": {"log_prompts": False}}, "obligation: Extra inputs"),
    ({"allow": True, "allowed": [1]}, "allowed.0"),
    ({**OK, "denied": {"x": "no"}}, "denied.x"),
    ({**OK, "reasons": [None]}, "reasons.0"),
    ({"allow": True, "allowed": []}, "allow is true but allowed is empty"),
    ({"allow": False, "allowed": ["m"]}, "allow is false but allowed is not empty"),
    ({**OK, "denied": {"m": ["x"]}}, "'m' is both allowed and denied"),
    ({"allowed": ["m"]}, "allow: Field required"),
    ([OK], "decision is list, not an object"),
]


@pytest.mark.parametrize(("value", "needle"), INVALID, ids=[n for _, n in INVALID])
def test_output_outside_the_contract_is_policy_output_invalid(value, needle) -> None:
    d = decision_from_value(value)
    assert not d.allow and d.allowed == () and len(d.reasons) == 1
    assert d.reasons[0].startswith(f"{REASON_INVALID}: ") and needle in d.reasons[0], d.reasons
    assert d.obligations.log_prompts is False  # fail closed on duties too


def test_whole_float_token_cap_is_accepted() -> None:
    # Rego has one number type; an engine may hand 1024 back as 1024.0.
    assert decision_from_value({**OK, "obligations": {"max_tokens": 1024.0}}).obligations.max_tokens == 1024


def test_the_shipped_shape_is_valid() -> None:
    d = decision_from_value({"allow": True, "allowed": ["a"], "denied": {"b": ["x"]}, "reasons": [],
                             "obligations": {"max_tokens": 1024, "log_prompts": False,
                                             "redact": ["email"]}})
    assert d.allow and d.obligations.redact == ("email",)


def test_fail_closed_denial_logs_no_prompt() -> None:
    assert Decision.deny("policy_timeout: x").obligations.log_prompts is False


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=12,
)
_decision_like = st.fixed_dictionaries({}, optional={
    "allow": _json, "allowed": _json, "denied": _json, "reasons": _json, "obligations": _json,
    "extra": _json,
})


@settings(max_examples=400, deadline=None)
@given(value=_decision_like | _json)
def test_any_value_is_a_valid_decision_or_a_fail_closed_deny(value) -> None:
    """Never an exception, never a coerced allow: an allow only from a real JSON true."""
    d = decision_from_value(value)
    if d.allow:
        assert isinstance(value, dict) and value["allow"] is True
        assert list(d.allowed) == value["allowed"] and d.allowed
        assert set(value) <= {"allow", "allowed", "denied", "reasons", "obligations"}
    else:
        assert d.allowed == ()
