"""The decision server answers malformed JSON bodies with 400, not 500 and a logged traceback."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from governance.engine.bundle import load_bundle
from governance.engine.server import DecisionServer

POLICIES = Path(__file__).resolve().parents[4] / "policies"


@pytest.mark.parametrize(
    ("method", "path", "body", "needle"),
    [
        ("POST", "/v1/data/govchaos/gateway/decision", b'{"input": NaN}', "NaN is not valid JSON"),
        ("POST", "/v1/data/govchaos/gateway/decision", b"[" * 50000 + b"]" * 50000, "nested too deeply"),
        ("POST", "/v1/data/govchaos/gateway/decision", b'{"input": 1e999}', "out of range"),
        ("POST", "/v1/data/govchaos/gateway/decision", b'{"input": "\xff"}', "not UTF-8"),
        ("PUT", "/v1/data/x", b'{"a": Infinity}', "Infinity is not valid JSON"),
    ],
)
def test_bad_json_body_is_400(method, path, body, needle) -> None:
    async def go() -> tuple[int, dict]:
        server = DecisionServer(load_bundle(POLICIES))
        async with TestClient(TestServer(server.app, host="127.0.0.1", port=0)) as client:
            resp = await client.request(method, path, data=body)
            return resp.status, json.loads(await resp.text())

    status, doc = asyncio.run(asyncio.wait_for(go(), 30))
    assert status == 400 and doc["code"] == "invalid_parameter" and needle in doc["message"]
