"""Invalid, oversized and misrouted requests get specific OpenAI-style errors, no upstream call."""

from __future__ import annotations

import httpx
import pytest
from conftest import API_KEY, RulePolicy, make_config, run_gateway

M1 = "llama-3.1-70b-private-eu"
AUTH = {"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/json"}
MSG = [{"role": "user", "content": "hi"}]

CASES = [
    ("not json", b"{nope", {}, 400, "invalid_request"),
    ("array", b"[1, 2]", {}, 422, "invalid_request_body"),
    ("no messages", b'{"model": "x"}', {}, 422, "invalid_request_body"),
    ("empty messages", b'{"messages": []}', {}, 422, "invalid_request_body"),
    ("message without role", b'{"messages": [{"content": "x"}]}', {}, 422, "invalid_request_body"),
    ("stream not bool", b'{"messages": [{"role": "user"}], "stream": "yes"}', {}, 422, "invalid_request_body"),
    ("max_tokens string", b'{"messages": [{"role": "user"}], "max_tokens": "9"}', {}, 422, "invalid_request_body"),
    ("max_tokens zero", b'{"messages": [{"role": "user"}], "max_tokens": 0}', {}, 422, "invalid_request_body"),
    ("metadata not object", b'{"messages": [{"role": "user"}], "metadata": 3}', {}, 422, "invalid_request_body"),
    ("unknown route", b'{"messages": [{"role": "user"}]}', {"X-Govchaos-Route": "nope"}, 400, "unknown_route"),
    ("bad request id", b'{"messages": [{"role": "user"}]}', {"X-Govchaos-Request-Id": "a b"}, 400, "invalid_request"),
    ("oversized", b'{"messages": [{"role": "user", "content": "' + b"x" * 5000 + b'"}]}', {}, 413, "request_too_large"),
    # issue 10: each of these was a 500, a silent last-one-wins or a 503
    ("model not a string", b'{"model": ["x"], "messages": [{"role": "user"}]}', {}, 422, "invalid_request_body"),
    ("content nested 300 deep", b'{"messages": [{"role": "user", "content": [{"type": "t", "x": '
     + b"[" * 295 + b"]" * 295 + b"}]}]}", {}, 400, "limit_exceeded"),
    ("content nested 1024 deep", b'{"messages": [{"role": "user", "content": [{"type": "t", "x": '
     + b"[" * 1019 + b"]" * 1019 + b"}]}]}", {}, 400, "limit_exceeded"),
    ("duplicate key", b'{"messages": [{"role": "user"}], "metadata": {"route": "r", "route": "x"}}', {},
     400, "duplicate_key"),
    ("500 data classes", b'{"messages": [{"role": "user"}]}',
     {"X-Govchaos-Data-Classes": ",".join(f"c{i}" for i in range(500))}, 400, "limit_exceeded"),
    ("empty item in data classes header", b'{"messages": [{"role": "user"}], "metadata": {"data_classes": ["pii"]}}',
     {"X-Govchaos-Data-Classes": "public,,internal"}, 400, "invalid_header"),
    ("route header and body disagree", b'{"messages": [{"role": "user"}], "metadata": {"route": "x"}}',
     {"X-Govchaos-Route": "r"}, 400, "conflicting_declaration"),
]


@pytest.mark.parametrize("name,body,headers,status,code", CASES, ids=[c[0] for c in CASES])
async def test_bad_request(mocks, name, body, headers, status, code) -> None:
    a = await mocks("a")
    async with run_gateway(make_config([("a", a, M1)], max_body_bytes=4096), RulePolicy({M1})) as gw:
        async with httpx.AsyncClient(base_url=gw.url) as h:
            r = await h.post("/v1/chat/completions", content=body, headers={**AUTH, **headers})
        assert r.status_code == status, r.text
        err = r.json()["error"]
        assert err["code"] == code and set(err) >= {"message", "type", "code", "param"}
        assert a.log == []
        assert gw.audit.events == []  # rejected before the decision: no decision record


async def test_oversized_chunked_body_is_413(mocks) -> None:
    a = await mocks("a")
    async with run_gateway(make_config([("a", a, M1)], max_body_bytes=1024), RulePolicy({M1})) as gw:
        async def gen():
            for _ in range(10):
                yield b"x" * 512
        async with httpx.AsyncClient(base_url=gw.url) as h:
            r = await h.post("/v1/chat/completions", content=gen(), headers=AUTH)
        assert r.status_code == 413 and a.log == []


async def test_metadata_carries_route_and_data_classes(mocks) -> None:
    a = await mocks("a")
    policy = RulePolicy({M1})
    async with run_gateway(make_config([("a", a, M1)]), policy) as gw:
        async with httpx.AsyncClient(base_url=gw.url) as h:
            r = await h.post("/v1/chat/completions", headers=AUTH, json={
                "messages": MSG, "metadata": {"route": "r", "data_classes": ["phi", "pii"],
                                              "region": "eu"}})
        assert r.status_code == 200
        inp = policy.inputs[0]
        assert (inp.route, inp.data_classes, inp.region, inp.tenant) == (
            "r", ("phi", "pii"), "eu", "acme-health")


@pytest.mark.parametrize("method,path,status", [("GET", "/v1/chat/completions", 405),
                                                ("GET", "/nope", 404), ("POST", "/healthz", 405)])
async def test_unknown_paths_and_methods(mocks, method, path, status) -> None:
    a = await mocks("a")
    async with run_gateway(make_config([("a", a, M1)]), RulePolicy({M1})) as gw:
        async with httpx.AsyncClient(base_url=gw.url) as h:
            r = await h.request(method, path, headers=AUTH)
        assert r.status_code == status and "error" in r.json()


async def test_pii_in_the_body_is_not_overridden_by_headers(mocks) -> None:
    """Issue 10 item 8: an empty or repeated X-Govchaos-Data-Classes header used to replace
    ``metadata.data_classes: ["pii"]`` and a PII request was served by a cloud model."""
    private, cloud = await mocks("private"), await mocks("cloud")
    cloud_model = "gpt-4o-cloud-eu"
    policy = RulePolicy(lambda inp, c: c.id == M1 or "pii" not in inp.data_classes)
    cfg = make_config([("cloud", cloud, cloud_model), ("private", private, M1)])  # cloud first
    body = {"messages": MSG, "metadata": {"data_classes": ["pii"]}}
    async with run_gateway(cfg, policy) as gw:
        async with httpx.AsyncClient(base_url=gw.url) as h:
            r = await h.post("/v1/chat/completions", json=body, headers=[
                *AUTH.items(), ("X-Govchaos-Data-Classes", "public"),
                ("X-Govchaos-Data-Classes", "internal")])
            assert r.status_code == 200 and r.headers["x-govchaos-served-by"] == M1
            assert policy.inputs[-1].data_classes == ("internal", "pii", "public")
            r = await h.post("/v1/chat/completions", json=body, headers=[
                *AUTH.items(), ("X-Govchaos-Data-Classes", "")])  # the empty list: adds nothing
            assert r.status_code == 200 and r.headers["x-govchaos-served-by"] == M1
            assert policy.inputs[-1].data_classes == ("pii",)
            r = await h.post("/v1/chat/completions", json=body, headers=[
                *AUTH.items(), ("X-Govchaos-Data-Classes", "public,")])
            assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_header"
            r = await h.post("/v1/chat/completions", json={"messages": MSG}, headers=[
                *AUTH.items(), ("X-Govchaos-Data-Classes", "public"),
                ("X-Govchaos-Data-Classes", "pii")])
            assert r.status_code == 200 and r.headers["x-govchaos-served-by"] == M1
        assert cloud.log == [] and len(private.log) == 3


async def test_repeated_route_headers_that_disagree_are_400(mocks) -> None:
    a = await mocks("a")
    async with run_gateway(make_config([("a", a, M1)]), RulePolicy({M1})) as gw:
        async with httpx.AsyncClient(base_url=gw.url) as h:
            r = await h.post("/v1/chat/completions", json={"messages": MSG}, headers=[
                *AUTH.items(), ("X-Govchaos-Route", "r"), ("X-Govchaos-Route", "s")])
            assert r.status_code == 400 and r.json()["error"]["param"] == "X-Govchaos-Route"
            r = await h.post("/v1/chat/completions", json={"messages": MSG}, headers=[
                *AUTH.items(), ("X-Govchaos-Region", "eu"), ("X-Govchaos-Region", "us")])
            assert r.json()["error"]["code"] == "conflicting_declaration"
        assert a.log == [] and gw.audit.events == []
