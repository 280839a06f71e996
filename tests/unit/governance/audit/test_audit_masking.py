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
    rules = MaskingRules(fields=("prompt", "messages"), key=b"deployment-secret")
    out = rules.apply({"kind": "x", "prompt": "hello", "other": "hello"})
    assert out["prompt"].startswith("[masked hmac-sha256:") and len(out["prompt"]) == len(
        "[masked hmac-sha256:]"
    ) + 16
    assert out["other"] == "hello"
    # equal values give equal markers, so repeated prompts stay recognisable
    assert rules.apply({"prompt": "hello"}) == {"prompt": out["prompt"]}


def test_a_guessed_prompt_cannot_be_confirmed_without_the_key() -> None:
    import hashlib
    import hmac

    import orjson

    marker = MaskingRules(fields=("prompt",), key=b"k1").apply({"prompt": "yes"})["prompt"]
    raw = orjson.dumps("yes")
    assert hashlib.sha256(raw).hexdigest()[:12] not in marker  # the old unkeyed digest
    assert hmac.new(b"k1", raw, hashlib.sha256).hexdigest()[:16] in marker
    other = MaskingRules(fields=("prompt",), key=b"k2").apply({"prompt": "yes"})["prompt"]
    assert other != marker  # another deployment's key: incomparable markers


def test_without_a_key_no_digest_is_written() -> None:
    out = MaskingRules(fields=("prompt",)).apply({"prompt": "hello"})
    assert out == {"prompt": SECRET_MARKER}


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


# -- the fast path (MaskingRules.view) masks exactly what the general walk masks -------------

# Names that are masked, in odd cases and with a KELVIN SIGN (lowercases to "k"), near misses,
# and plain keys; values include strings equal to masked names (a text-test false positive).
_KEYS = st.sampled_from([
    "a", "b", "kind", "messages", "Messages", "MESSAGES", "api_key", "API_KEY", "Api-Key",
    "cookie", "coo\u212aie", "COO\u212aIE", "x-api-key", "password ", "passwords", "secret",
    "authorization", "Authorization", "tok\u00e9n", "\u03a3", '"api_key"', "api\\_key",
])
_LEAF = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=True),
    st.text(max_size=6), st.sampled_from(["api_key", "MESSAGES", "secret", "\u00e9", '"']),
)
_VALUE = st.recursive(
    _LEAF,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.lists(inner, max_size=3).map(tuple),
        st.dictionaries(_KEYS, inner, max_size=4),
    ),
    max_leaves=16,
)


def _same(fast: object, walked: object) -> bool:
    import orjson

    try:
        a = orjson.dumps(fast, option=orjson.OPT_SORT_KEYS)
    except TypeError:
        b_fails = False
        try:
            orjson.dumps(walked, option=orjson.OPT_SORT_KEYS)
        except TypeError:
            b_fails = True
        return b_fails
    return a == orjson.dumps(walked, option=orjson.OPT_SORT_KEYS)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.dictionaries(_KEYS, _VALUE, max_size=5),
    st.sampled_from([(), ("messages",), ("prompt", "messages"), ("key",), ("\u00e9t\u00e9",)]),
)
def test_fast_view_masks_exactly_what_the_walk_masks(event, fields) -> None:
    rules = MaskingRules(fields=fields)
    assert _same(rules.view(event), rules.apply(event))


def test_fast_view_returns_a_shallow_copy_when_nothing_is_masked() -> None:
    rules = MaskingRules(fields=("messages",))
    inner = {"route": "r", "candidates": [{"id": "m"}]}
    event = {"kind": "decision", "input": inner}
    out = rules.view(event)
    assert out == event and out is not event and out["input"] is inner
    out["seq"] = 1  # the log adds top-level keys; the caller's event is untouched
    assert "seq" not in event


def test_fast_view_masks_nested_names_and_kelvin_sign() -> None:
    rules = MaskingRules(fields=("cookie-jar",), key=b"k")
    out = rules.view({"kind": "x", "h": [{"COO\u212aIE-JAR": "v"}], "api_key": "k"})
    assert out["api_key"] == SECRET_MARKER
    assert out["h"][0]["COO\u212aIE-JAR"].startswith("[masked hmac-sha256:")


def test_names_that_need_json_escaping_use_the_walk() -> None:
    rules = MaskingRules(fields=('we"ird',), key=b"k")
    assert rules.view({'We"ird': 1})['We"ird'].startswith("[masked hmac-sha256:")
