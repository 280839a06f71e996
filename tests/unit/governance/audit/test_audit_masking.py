from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from governance.audit import SECRET_MARKER, MaskingRules

json_leaf = st.one_of(st.none(), st.booleans(), st.integers(-10, 10), st.text(max_size=5))
json_value = st.recursive(
    json_leaf,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.sampled_from(["a", "Prompt", "API_KEY", "b"]), inner, max_size=3),
    ),
    max_leaves=12,
)


def test_marker_shapes() -> None:
    rules = MaskingRules(fields=("prompt", "messages"))
    out = rules.apply({"kind": "x", "prompt": "hello", "other": "hello"})
    assert out["prompt"].startswith("[masked sha256:") and len(out["prompt"]) == len(
        "[masked sha256:]"
    ) + 12
    assert out["other"] == "hello"
    # equal values give equal markers, so repeated prompts stay recognisable
    assert rules.apply({"prompt": "hello"}) == {"prompt": out["prompt"]}


def test_secrets_are_masked_even_when_not_configured() -> None:
    out = MaskingRules().apply({"headers": {"Authorization": "Bearer x", "x-api-key": "y"}})
    assert out == {"headers": {"Authorization": SECRET_MARKER, "x-api-key": SECRET_MARKER}}


def test_input_is_not_mutated() -> None:
    event = {"kind": "x", "inner": [{"prompt": "p"}]}
    MaskingRules(fields=("prompt",)).apply(event)
    assert event == {"kind": "x", "inner": [{"prompt": "p"}]}


def _contains_unmasked(value, names) -> bool:
    if isinstance(value, dict):
        for key, inner in value.items():
            if key.lower() in names and not (
                isinstance(inner, str) and inner.startswith("[masked")
            ):
                return True
            if _contains_unmasked(inner, names):
                return True
    if isinstance(value, list):
        return any(_contains_unmasked(v, names) for v in value)
    return False


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(["a", "prompt", "api_key", "b"]), json_value, max_size=4))
def test_no_configured_field_survives_at_any_depth(event) -> None:
    rules = MaskingRules(fields=("prompt",))
    assert not _contains_unmasked(rules.apply(event), {"prompt", "api_key"})
