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
