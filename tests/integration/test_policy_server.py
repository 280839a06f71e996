"""The decision server on 127.0.0.1 driven through the opa engine and opa-python-client."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from aiohttp import web
from opa_client import create_opa_client

from governance.decision import Candidate, DecisionInput
from governance.engine import create_engine, load_bundle
from governance.engine.server import DecisionServer

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "policies"


def _input(*ids: str) -> DecisionInput:
    cands = tuple(
        Candidate(id=i, provider="p", hosting="private" if i.startswith("private") else "cloud", region="eu")
        for i in ids
    )
    return DecisionInput(route="chat", tenant="t", data_classes=("pii",), candidates=cands)


@pytest.fixture
async def server():
    srv = DecisionServer(load_bundle(FIXTURES / "basic"))
    host, port = await srv.start("127.0.0.1", 0)
    yield srv, f"http://{host}:{port}", port
    await srv.close()


async def test_opa_engine_matches_embedded(server) -> None:
    _, url, _ = server
    remote = create_engine("opa", url=url, timeout_s=2.0)
    local = create_engine("regorus", load_bundle(FIXTURES / "basic"))
    try:
        for ids in [("private-a", "cloud-a"), ("cloud-a",), ()]:
            assert await remote.decide(_input(*ids)) == await local.decide(_input(*ids))
    finally:
        await remote.close()


async def test_opa_python_client_round_trip(server) -> None:
    srv, _, port = server
    async with create_opa_client(async_mode=True, host="127.0.0.1", port=port, retries=0) as client:
        assert await client.check_health()
        assert await client.check_connection()
        body = await client.query_rule(_input("private-a").model_dump(mode="json"), "govchaos/gateway", "decision")
        assert body["result"]["allowed"] == ["private-a"]
        assert await client.query_rule({}, "govchaos/gateway", "no_such_rule") == {}
        ids = await client.get_policies_list()
        assert any(i.endswith("gateway.rego") for i in ids)
        # Replace the policy atomically: everything is now denied.
        closed = 'package govchaos.gateway\nimport rego.v1\ndecision := {"allow": false, "reasons": ["closed"]}\n'
        gw = next(i for i in ids if i.endswith("/gateway.rego"))
        assert await client.update_policy_from_string(closed, gw, rego_compat=False)
        body = await client.query_rule(_input("private-a").model_dump(mode="json"), "govchaos/gateway", "decision")
        assert body["result"]["reasons"] == ["closed"]
        assert await client.update_or_create_data({"x": 1}, "extra")
        assert (await client.get_data("extra/x"))["result"] == 1
        assert await client.delete_policy(gw)
        assert gw not in await client.get_policies_list()


async def test_bad_policy_put_is_400_and_keeps_old(server) -> None:
    import aiohttp

    srv, url, _ = server
    before = srv.bundle
    async with aiohttp.ClientSession() as s:
        async with s.put(f"{url}/v1/policies/bad.rego", data="package x\nallow if {\n input.y ==\n}\n") as r:
            body = await r.json()
            assert r.status == 400 and body["code"] == "invalid_parameter"
            assert body["errors"][0]["location"]["file"] == "bad.rego"
            assert body["errors"][0]["location"]["row"] == 4
        async with s.post(f"{url}/v1/data/govchaos/gateway/decision", data=b"{not json") as r:
            assert r.status == 400
        async with s.delete(f"{url}/v1/policies/nope") as r:
            assert r.status == 404
    assert srv.bundle is before


async def test_opa_engine_timeout_and_connection_error_deny() -> None:
    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(2)
        return web.json_response({"result": {"allow": True, "allowed": ["x"]}})

    app = web.Application()
    app.router.add_post("/v1/data/{path:.*}", slow)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    engine = create_engine("opa", url=f"http://127.0.0.1:{port}", timeout_s=0.2)
    try:
        d = await engine.decide(_input("private-a"))
        assert not d.allow and d.reasons[0].startswith("policy_timeout")
    finally:
        await engine.close()
        await runner.cleanup()

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        free = sock.getsockname()[1]
    engine = create_engine("opa", url=f"http://127.0.0.1:{free}", timeout_s=0.5)
    try:
        d = await engine.decide(_input("private-a"))
        assert not d.allow and d.reasons[0].startswith("policy_engine_unavailable")
    finally:
        await engine.close()


def test_cli_serve_prints_listening_line() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "govchaos", "policy", "serve", "--bundle", str(FIXTURES / "basic"), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline()
        assert line.startswith("govchaos policy server listening on http://127.0.0.1:")
        import urllib.request

        url = line.strip().rsplit(" ", 1)[-1]
        with urllib.request.urlopen(f"{url}/health", timeout=5) as r:
            assert r.status == 200
    finally:
        proc.terminate()  # our own child, by its handle
        proc.wait(timeout=10)
