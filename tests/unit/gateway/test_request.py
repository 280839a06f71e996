"""gateway.request: strict JSON bodies, the OpenAI chat shape, and declarations that are never
last-one-wins (data classes are a union; route, region and request id must agree)."""

from __future__ import annotations

import itertools

import orjson
import pytest

from gateway.config import LimitsConfig
from gateway.errors import BadRequest, InvalidBody, LimitExceeded
from gateway.json_body import parse_json_body
from gateway.request import ChatRequestParser, read_head

MSG = [{"role": "user", "content": "hi"}]
_ids = itertools.count()


def parser(**limits) -> ChatRequestParser:
    return ChatRequestParser(LimitsConfig(**limits), {"r", "other"}, "r", lambda: f"id{next(_ids)}")


def parse(body: object, headers: list[tuple[str, str]] = (), **limits):
    raw = body if isinstance(body, bytes) else orjson.dumps(body)
    head = read_head([(k.lower().encode(), v.encode("latin-1")) for k, v in headers])
    return parser(**limits).parse(head, raw, "acme")


def nested(depth: int) -> bytes:
    """A body whose total nesting is ``depth`` (the body object is level 1), as raw JSON (orjson
    itself cannot write more than 254 levels)."""
    lists = depth - 5  # body(1) → messages(2) → message(3) → content(4) → part(5)
    deep = b"[" * lists + b'"x"' + b"]" * lists
    return (b'{"messages": [{"role": "user", "content": [{"type": "text", "text": "x", "deep": '
            + deep + b"}]}]}")


# -- the JSON body ----------------------------------------------------------------------------
@pytest.mark.parametrize("raw,code", [
    (b'{"messages": [], "messages": [{"role": "user"}]}', "duplicate_key"),
    (b'{"messages": [{"role": "user", "role": "system"}]}', "duplicate_key"),
    (b'{"a": "x:y", "metadata": {"route": "r", "route": "other"}, "messages": []}', "duplicate_key"),
    (b'{"k\\u003a": 1, "k\\u003a": 2, "messages": []}', "duplicate_key"),  # escaped colon keys
    (b'{"a": 1, "a": 2, "b": "\\u003a"}', "duplicate_key"),  # an escape cannot hide a duplicate
    (b'{"messages": [{"role": "user", "content": "NaN"}], "t": NaN}', "invalid_request"),
    (b'{"x": 1e999}', "invalid_request"),
    (b'{"x": "\xff"}', "invalid_request"),
    (b'{"x": "\\ud800"}', "invalid_request"),
])
def test_strict_json(raw: bytes, code: str) -> None:
    with pytest.raises(BadRequest) as exc:
        parse_json_body(raw, 64)
    assert exc.value.code == code and exc.value.status == 400


def test_colons_in_strings_are_not_mistaken_for_duplicates() -> None:
    body = {"messages": [{"role": "user", "content": "a:b::c [govchaos-request-id:x]"}],
            "user": "u:1", "k:ey": {"nested:": ":"}}
    assert parse_json_body(orjson.dumps(body), 64) == body
    raw = b'{"messages": [{"role": "user", "content": "\\u003a"}], "b\\u003A": 1}'
    assert parse_json_body(raw, 64)["b:"] == 1


@pytest.mark.parametrize("depth", [65, 255, 600, 1024, 1030])
def test_one_depth_limit_for_the_whole_body(depth: int) -> None:
    with pytest.raises(LimitExceeded) as exc:
        parse(nested(depth))
    assert exc.value.status == 400 and exc.value.code == "limit_exceeded"
    assert "limits.max_json_depth (64)" in exc.value.message
    if depth <= 1024:
        assert exc.value.param.startswith("messages.0.content.0.deep.0.0")


def test_depth_at_the_limit_is_served_and_reencodes() -> None:
    req = parse(nested(64))
    orjson.dumps(req.body)  # what the router sends upstream
    with pytest.raises(LimitExceeded):
        parse(nested(33), max_json_depth=32)


# -- the OpenAI shape -------------------------------------------------------------------------
@pytest.mark.parametrize("body,param", [
    ({"model": ["x"], "messages": MSG}, "model"),
    ({"model": {"a": 1}, "messages": MSG}, "model"),
    ({"model": 3, "messages": MSG}, "model"),
    ({"model": "m" * 300, "messages": MSG}, "model"),
    ({"messages": "hi"}, "messages"),
    ({"messages": [3]}, "messages.0"),
    ({"messages": [{"role": ["user"]}]}, "messages.0.role"),
    ({"messages": [{"role": "wizard"}]}, "messages.0.role"),
    ({"messages": [{"role": "user", "content": 7}]}, "messages.0.content"),
    ({"messages": [{"role": "user", "content": [{"text": "x"}]}]}, "messages.0.content.0"),
    ({"messages": [{"role": "user", "name": 1}]}, "messages.0.name"),
    ({"messages": MSG, "user": ["u"]}, "user"),
    ({"messages": MSG, "max_tokens": True}, "max_tokens"),
    ({"messages": MSG, "max_tokens": 1.5}, "max_tokens"),
    ({"messages": MSG, "metadata": {"route": ["r"]}}, "metadata.route"),
    ({"messages": MSG, "metadata": {"region": 3}}, "metadata.region"),
    ({"messages": MSG, "metadata": {"data_classes": {"pii": 1}}}, "metadata.data_classes"),
    ({"messages": MSG, "metadata": {"data_classes": ["pii", 3]}}, "metadata.data_classes.1"),
    ({"messages": MSG, "metadata": {"data_classes": ["PII"]}}, "metadata.data_classes.0"),
])
def test_shape_errors_are_422_with_the_field(body: dict, param: str) -> None:
    with pytest.raises(InvalidBody) as exc:
        parse(body)
    assert exc.value.status == 422 and exc.value.param == param


def test_valid_openai_shapes_pass() -> None:
    req = parse({"model": "auto", "stream": True, "max_tokens": 5, "user": "u", "messages": [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": [{"type": "text", "text": "hi"}]},
        {"role": "assistant", "content": None, "tool_calls": []},
        {"role": "tool", "content": "42", "name": "calc"}],
        "metadata": {"route": "other", "data_classes": "pii, phi", "region": "eu"}})
    assert (req.route, req.data_classes, req.region, req.stream) == ("other", ("phi", "pii"), "eu", True)
    assert "metadata" not in req.body


def test_message_count_limit() -> None:
    with pytest.raises(LimitExceeded, match=r"limits.max_messages \(3\)"):
        parse({"messages": MSG * 4}, max_messages=3)


# -- declarations -------------------------------------------------------------------------------
def test_data_classes_are_the_union_of_every_header_and_the_body() -> None:
    req = parse({"messages": MSG, "metadata": {"data_classes": ["pii"]}},
                [("X-Govchaos-Data-Classes", "public"), ("X-Govchaos-Data-Classes", "internal, phi")])
    assert req.data_classes == ("internal", "phi", "pii", "public")


def test_an_empty_data_classes_header_adds_nothing_and_removes_nothing() -> None:
    req = parse({"messages": MSG, "metadata": {"data_classes": ["pii"]}},
                [("X-Govchaos-Data-Classes", ""), ("X-Govchaos-Data-Classes", " ")])
    assert req.data_classes == ("pii",)
    assert parse({"messages": MSG}, [("X-Govchaos-Data-Classes", "")]).data_classes == ()


@pytest.mark.parametrize("value", ["pii,", ",pii", "pii,,phi", " , ", "PII", "p i", "pïi", "a" * 65])
def test_malformed_data_class_headers_are_400(value: str) -> None:
    with pytest.raises(BadRequest) as exc:
        parse({"messages": MSG, "metadata": {"data_classes": ["pii"]}},
              [("X-Govchaos-Data-Classes", value)])
    assert exc.value.code == "invalid_header" and exc.value.param == "X-Govchaos-Data-Classes"


def test_too_many_data_classes_is_400_naming_the_limit() -> None:
    many = ",".join(f"c{i}" for i in range(500))
    with pytest.raises(LimitExceeded) as exc:
        parse({"messages": MSG}, [("X-Govchaos-Data-Classes", many)])
    assert "limits.max_data_classes (32)" in exc.value.message
    with pytest.raises(LimitExceeded):
        parse({"messages": MSG, "metadata": {"data_classes": [f"c{i}" for i in range(20)]}},
              [("X-Govchaos-Data-Classes", ",".join(f"d{i}" for i in range(20)))])
    assert len(parse({"messages": MSG}, [("X-Govchaos-Data-Classes", ",".join(
        f"c{i}" for i in range(32)))]).data_classes) == 32


@pytest.mark.parametrize("headers,meta,param", [
    ([("X-Govchaos-Route", "r"), ("X-Govchaos-Route", "other")], {}, "X-Govchaos-Route"),
    ([("X-Govchaos-Route", "r")], {"route": "other"}, "X-Govchaos-Route"),
    ([("X-Govchaos-Region", "eu"), ("X-Govchaos-Region", "us")], {}, "X-Govchaos-Region"),
    ([("X-Govchaos-Region", "eu")], {"region": "us"}, "X-Govchaos-Region"),
    ([("X-Govchaos-Request-Id", "a"), ("X-Govchaos-Request-Id", "b")], {}, "X-Govchaos-Request-Id"),
    ([("Authorization", "Bearer a"), ("Authorization", "Bearer b")], {}, "Authorization"),
])
def test_conflicting_single_valued_declarations_are_400(headers, meta, param) -> None:
    with pytest.raises(BadRequest) as exc:
        parse({"messages": MSG, "metadata": meta}, headers)
    assert exc.value.code == "conflicting_declaration" and exc.value.param == param


def test_agreeing_declarations_are_fine() -> None:
    req = parse({"messages": MSG, "metadata": {"route": "other", "region": "eu"}},
                [("X-Govchaos-Route", "other"), ("X-Govchaos-Route", " other "),
                 ("X-Govchaos-Region", "eu")])
    assert (req.route, req.region) == ("other", "eu")


@pytest.mark.parametrize("headers,code", [
    ([("X-Govchaos-Route", "")], "invalid_header"),
    ([("X-Govchaos-Region", "")], "invalid_header"),
    ([("X-Govchaos-Region", "eu west")], "invalid_header"),
    ([("X-Govchaos-Route", "nope")], "unknown_route"),
    ([("X-Govchaos-Request-Id", "ok\n")], "invalid_request"),
])
def test_malformed_single_valued_headers(headers, code) -> None:
    with pytest.raises(BadRequest) as exc:
        parse({"messages": MSG}, headers)
    assert exc.value.code == code


# -- agent workflow labels --------------------------------------------------------------------
def test_workflow_headers_are_carried_for_audit_and_metrics() -> None:
    req = parse({"messages": MSG}, [("X-Govchaos-Workflow-Id", "run1-w7"),
                                    ("X-Govchaos-Step", "claims/draft")])
    assert (req.workflow_id, req.step) == ("run1-w7", "claims/draft")
    plain = parse({"messages": MSG})
    assert (plain.workflow_id, plain.step) == (None, None)


@pytest.mark.parametrize("headers,code", [
    ([("X-Govchaos-Step", "claims draft")], "invalid_header"),
    ([("X-Govchaos-Workflow-Id", "")], "invalid_header"),
    ([("X-Govchaos-Step", "a"), ("X-Govchaos-Step", "b")], "conflicting_declaration"),
])
def test_malformed_or_conflicting_workflow_headers_are_400(headers, code) -> None:
    with pytest.raises(BadRequest) as exc:
        parse({"messages": MSG}, headers)
    assert exc.value.code == code


def test_workflow_step_metric_is_bounded() -> None:
    from gateway.metrics import MAX_STEP_LABELS, GatewayMetrics

    metrics = GatewayMetrics()
    for i in range(MAX_STEP_LABELS + 5):
        metrics.request("r", "m", "200", f"wf/s{i}")
    metrics.request("r", "m", "200", "wf/s0")
    text = metrics.render().decode()
    assert 'govchaos_gateway_workflow_step_requests_total{status="200",step="wf/s0"} 2.0' in text
    assert 'step="other"} 5.0' in text
