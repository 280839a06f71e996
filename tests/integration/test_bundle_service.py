"""`govchaos policy serve` as an OPA bundle service: GET /bundles/<name>, ETag, 304, reloads."""

from __future__ import annotations

import json
from pathlib import Path

import aiohttp
import jwt
import pytest

from governance.attest import generate_keypair, load_private_key
from governance.engine import create_engine, load_bundle
from governance.engine.bundle_service import BundleService
from governance.engine.opa_bundle import policy_bundle_from_opa, read_opa_bundle
from governance.engine.protocol import canonical_input
from governance.engine.server import DecisionServer

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "policies"
INPUT = {"route": "chat", "tenant": "t", "data_classes": ["pii"],
         "candidates": [{"id": "private-a", "hosting": "private"}, {"id": "cloud-a"}]}


@pytest.fixture
async def served(tmp_path):
    pair = generate_keypair(tmp_path)
    bundles = BundleService("fleet", signing_key=load_private_key(pair.private_key), key_id="k1")
    srv = DecisionServer(load_bundle(FIXTURES / "basic"), bundles=bundles)
    host, port = await srv.start("127.0.0.1", 0)
    async with aiohttp.ClientSession() as session:
        yield session, f"http://{host}:{port}", pair.public_key.read_bytes()
    await srv.close()


async def test_bundle_download_etag_and_304(served) -> None:
    session, url, public = served
    async with session.get(f"{url}/bundles/fleet") as resp:
        assert resp.status == 200 and resp.content_type == "application/gzip"
        etag, body = resp.headers["ETag"], await resp.read()
    files = read_opa_bundle(body)
    token = json.loads(files[".signatures.json"])["signatures"][0]
    assert jwt.decode(token, public, algorithms=["ES256"])["files"]
    # The downloaded bundle decides like the policy it was built from (opa-go on both).
    here = create_engine("opa-go", load_bundle(FIXTURES / "basic"), cache=False, isolation="inline")
    there = create_engine("opa-go", policy_bundle_from_opa(files), cache=False, isolation="inline")
    assert there.decide_json(canonical_input(INPUT)) == here.decide_json(canonical_input(INPUT))
    async with session.get(f"{url}/bundles/fleet", headers={"If-None-Match": etag}) as resp:
        assert resp.status == 304 and resp.headers["ETag"] == etag and await resp.read() == b""
    async with session.get(f"{url}/bundles/fleet", headers={"If-None-Match": '"other", ' + etag}) as resp:
        assert resp.status == 304
    async with session.get(f"{url}/bundles/fleet", headers={"If-None-Match": '"stale"'}) as resp:
        assert resp.status == 200 and await resp.read() == body


async def test_policy_change_publishes_a_new_revision(served) -> None:
    session, url, _ = served
    async with session.get(f"{url}/bundles/fleet") as resp:
        etag = resp.headers["ETag"]
    closed = 'package govchaos.gateway\n\ndecision := {"allow": false, "reasons": ["closed"]}\n'
    async with session.get(f"{url}/v1/policies") as resp:
        pid = next(p["id"] for p in (await resp.json())["result"] if p["id"].endswith("gateway.rego"))
    async with session.put(f"{url}/v1/policies/{pid}", data=closed) as resp:
        assert resp.status == 200, await resp.text()
    async with session.get(f"{url}/bundles/fleet", headers={"If-None-Match": etag}) as resp:
        assert resp.status == 200 and resp.headers["ETag"] != etag
        files = read_opa_bundle(await resp.read())
    assert json.loads(files[".manifest"])["revision"] != ""
    assert any(content == closed.encode() for content in files.values())
    # A PUT that does not compile changes neither the policy nor the bundle.
    async with session.get(f"{url}/bundles/fleet") as resp:
        current = resp.headers["ETag"]
    async with session.put(f"{url}/v1/policies/{pid}", data="package x\np if {") as resp:
        assert resp.status == 400
    async with session.get(f"{url}/bundles/fleet", headers={"If-None-Match": current}) as resp:
        assert resp.status == 304


async def test_unknown_bundle_is_404(served) -> None:
    session, url, _ = served
    async with session.get(f"{url}/bundles/other") as resp:
        assert resp.status == 404 and (await resp.json())["code"] == "resource_not_found"


def test_bundle_name_must_be_relative() -> None:
    for bad in ("", "/abs", "a/../b"):
        with pytest.raises(ValueError):
            BundleService(bad)
